-- For the posts with no snapshot in drop_series before their snapshot_time_from: their newest snapshot
-- before $scan_from (collection gaps, posts not in raw.posts). A post published a day or more after
-- $scan_from has none (a day: a date-only post's midnight can follow its real publication by the zone's
-- offset).
WITH far_posts AS (
    SELECT p.post_id, p.snapshot_time_from FROM drop_chunk_posts AS p
    WHERE p.snapshot_time_from IS NOT NULL
      AND p.post_id NOT IN (SELECT post_id FROM drop_series WHERE snapshot_time < snapshot_time_from)
      AND p.post_id NOT IN (SELECT post_id FROM raw.posts WHERE published_at >= $scan_from + INTERVAL 1 DAY)
)
SELECT s.post_id, s.snapshot_time, s.impressions, s.likes, s.retweets, s.replies, s.quotes, f.snapshot_time_from
FROM analytics.post_snapshots AS s
JOIN far_posts AS f USING (post_id)
WHERE s.snapshot_time < $scan_from
QUALIFY row_number() OVER (PARTITION BY s.post_id ORDER BY s.snapshot_time DESC) = 1
