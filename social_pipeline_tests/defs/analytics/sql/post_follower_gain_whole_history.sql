-- analytics.post_follower_gain: the followers each post brought. Where an export of X gives the post's
-- own `New follows` (raw.tweet_metrics.new_follows, its newest figure) that count is used; otherwise the
-- account's follower figures: the change from the newest snapshot at or before publication to the
-- newest at or before 24 h later, less the account's usual growth over those hours (the median change
-- of its one-hour steps without a post). A post without both snapshots close to the window's ends has
-- no account_snapshots row.
WITH steps AS (
    SELECT user_id, collected_at,
           followers - lag(followers) OVER w AS gain,
           date_diff('second', lag(collected_at) OVER w, collected_at) / 3600.0 AS step_hours
    FROM raw.account_snapshots
    WHERE followers IS NOT NULL
    WINDOW w AS (PARTITION BY user_id ORDER BY collected_at)
),
baseline AS (
    SELECT s.user_id, median(s.gain) AS baseline_hourly_gain
    FROM steps AS s
    WHERE s.step_hours = 1
      AND NOT EXISTS (SELECT 1 FROM raw.posts AS p
                      WHERE p.user_id = s.user_id
                        AND p.published_at >= s.collected_at - INTERVAL 1 HOUR AND p.published_at < s.collected_at)
    GROUP BY s.user_id
),
follower_snapshots AS (
    SELECT user_id, collected_at, followers FROM raw.account_snapshots WHERE followers IS NOT NULL
),
from_snapshots AS (
    SELECT
        p.post_id, p.user_id, p.published_at,
        b.followers AS followers_before,
        a.followers AS followers_after,
        date_diff('second', b.collected_at, a.collected_at) / 3600.0 AS window_hours,
        l.baseline_hourly_gain
    FROM raw.posts AS p
    ASOF JOIN follower_snapshots AS b
        ON b.user_id = p.user_id AND p.published_at >= b.collected_at
    ASOF JOIN follower_snapshots AS a
        ON a.user_id = p.user_id AND p.published_at + INTERVAL 24 HOUR >= a.collected_at
    JOIN baseline AS l ON l.user_id = p.user_id
    -- Both ends observed: a snapshot within the hour before publication and one in the window's last hour.
    WHERE b.collected_at >= p.published_at - INTERVAL 1 HOUR
      AND a.collected_at > p.published_at + INTERVAL 23 HOUR
),
from_export AS (
    SELECT post_id, new_follows
    FROM raw.tweet_metrics
    WHERE new_follows IS NOT NULL AND COALESCE(status, 'ok') = 'ok'
    QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY collected_at DESC) = 1
)
SELECT
    p.post_id,
    p.user_id,
    p.published_at,
    CASE WHEN e.new_follows IS NOT NULL THEN e.new_follows
         ELSE s.followers_after - s.followers_before - s.baseline_hourly_gain * s.window_hours END AS followers_gained,
    CASE WHEN e.new_follows IS NOT NULL THEN 'x_export_new_follows' ELSE 'account_snapshots' END AS method,
    s.followers_before,
    s.followers_after,
    s.window_hours,
    s.baseline_hourly_gain
FROM raw.posts AS p
LEFT JOIN from_export AS e USING (post_id)
LEFT JOIN from_snapshots AS s USING (post_id)
WHERE e.new_follows IS NOT NULL OR s.post_id IS NOT NULL
