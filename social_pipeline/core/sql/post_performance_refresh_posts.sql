-- Posts whose analytics.post_performance row is out of date, each with the time its newest snapshot is
-- at or after (snapshot_time_from; NULL: anywhere): those post_snapshots rewrote since the last run
-- (queued in ops.post_refresh_queue), and every post of an account whose zone in raw.accounts differs
-- from the one its row was read in (its newest snapshot is still the one its row holds).
WITH candidates AS (
    SELECT post_id, snapshot_time_from
    FROM ops.post_refresh_queue
    WHERE table_name = 'analytics.post_performance'
    UNION ALL
    SELECT p.post_id, p.latest_snapshot_time AS snapshot_time_from
    FROM analytics.post_performance AS p
    LEFT JOIN raw.accounts AS a USING (user_id)
    WHERE p.timezone IS DISTINCT FROM COALESCE(a.timezone, 'UTC')
)
SELECT post_id,
       CASE WHEN bool_or(snapshot_time_from IS NULL) THEN NULL ELSE min(snapshot_time_from) END AS snapshot_time_from
FROM candidates
GROUP BY post_id
