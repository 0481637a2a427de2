-- The one-hour steps of follower_rows, counted by gain: followers now less the figure before, where the
-- figure before is exactly one hour older. The first figure of each account continues from its newest
-- figure already read, so each step is counted once over all runs.
SELECT user_id, gain, count(*) AS steps
FROM (
    SELECT user_id,
           followers - lag(followers) OVER w AS gain,
           date_diff('second', lag(collected_at) OVER w, collected_at) AS step_seconds
    FROM follower_rows
    WINDOW w AS (PARTITION BY user_id ORDER BY collected_at)
)
WHERE step_seconds = 3600
GROUP BY ALL
