-- The snapshots of the posts in drop_chunk_posts(post_id, snapshot_time_from) from $scan_from on: those
-- whose drops are recomputed (from snapshot_time_from on) and the ones before them, which the first of
-- those is compared with. $scan_from lies a stretch wider than the weekly cadence's gap before the
-- earliest snapshot_time_from, so an hour's refresh reads about a week of snapshots, not whole series.
SELECT s.post_id, s.snapshot_time, s.impressions, s.likes, s.retweets, s.replies, s.quotes, p.snapshot_time_from
FROM analytics.post_snapshots AS s
JOIN drop_chunk_posts AS p USING (post_id)
WHERE s.snapshot_time >= $scan_from
