-- Collection partitions holding raw rows that post_snapshots has not read: new collections, re-run ones
-- (their rows carry another written_at), and rows whose post arrived later. Not a high-water mark on
-- written_at: with writers in several processes (a DuckLake), a row stamped earlier may commit after a
-- post_snapshots run that read a later one, and a mark would skip it for good.
SELECT DISTINCT m.partition_key
FROM raw.tweet_metrics AS m
WHERE $full_refresh
   OR (COALESCE(m.status, 'ok') = 'ok'
       AND m.post_id IN (SELECT post_id FROM raw.posts)
       AND NOT EXISTS (SELECT 1 FROM analytics.post_snapshots AS s
                       WHERE s.partition_key = m.partition_key AND s.source_written_at = m.written_at))
