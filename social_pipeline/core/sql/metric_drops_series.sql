-- The snapshots of the posts in drop_chunk_posts(post_id, snapshot_time_from) whose drops are recomputed
-- (from snapshot_time_from on; NULL: all), and each post's newest one before them, which the first is
-- compared with. That one is looked for from $scan_from on, a stretch wider than the weekly cadence's gap
-- before the earliest snapshot_time_from, so an hour's refresh reads about a week of snapshots and sorts
-- only the new ones.
WITH scanned AS (
    SELECT s.post_id, s.snapshot_time, s.impressions, s.likes, s.retweets, s.replies, s.quotes, p.snapshot_time_from
    FROM analytics.post_snapshots AS s
    JOIN drop_chunk_posts AS p USING (post_id)
    WHERE s.snapshot_time >= $scan_from
),
-- The newest time first, then its row: a grouped max is far cheaper than an arg_max of the figures.
previous AS (
    SELECT post_id, max(snapshot_time) AS snapshot_time FROM scanned
    WHERE snapshot_time < snapshot_time_from
    GROUP BY post_id
)
SELECT * FROM scanned WHERE snapshot_time_from IS NULL OR snapshot_time >= snapshot_time_from
UNION ALL
SELECT * FROM scanned SEMI JOIN previous USING (post_id, snapshot_time)
