-- Each account's usual growth: the median gain of its one-hour steps without a post (ops.follower_steps'
-- steps less steps_with_post), read from the counts: the mean of the values at positions floor((n-1)/2)
-- and floor(n/2) of the n steps in gain order, as median() over the steps gives it.
WITH cumulative AS (
    SELECT user_id, gain,
           sum(steps - steps_with_post) OVER (PARTITION BY user_id ORDER BY gain) AS steps_up_to,
           sum(steps - steps_with_post) OVER (PARTITION BY user_id) AS steps_total
    FROM ops.follower_steps
    WHERE steps > steps_with_post
)
SELECT user_id,
       (min(gain) FILTER (WHERE steps_up_to > (steps_total - 1) // 2)
        + min(gain) FILTER (WHERE steps_up_to > steps_total // 2)) / 2.0 AS baseline_hourly_gain
FROM cumulative
GROUP BY user_id
