-- Collection partitions holding raw rows that post_snapshots has not read: new collections, re-run ones
-- (their rows carry another written_at), and rows whose post arrived later. Only raw rows written from
-- $read_since on are compared (the newest written_at already read, less a lookback), so an hour's run
-- reads the new rows, not the whole history. Not a bare high-water mark on written_at: with writers in
-- several processes (a DuckLake), a row stamped earlier may commit after a post_snapshots run that read a
-- later one; the lookback still finds it. $read_since NULL (nothing read yet) compares every row.
WITH unread AS (
    SELECT m.partition_key, m.written_at, m.post_id
    FROM raw.tweet_metrics AS m
    WHERE COALESCE(m.status, 'ok') = 'ok'
      AND ($read_since IS NULL OR m.written_at >= $read_since)
      AND NOT EXISTS (SELECT 1 FROM analytics.post_snapshots AS s
                      WHERE ($read_since IS NULL OR s.source_written_at >= $read_since)
                        AND s.partition_key = m.partition_key AND s.source_written_at = m.written_at)
),
-- Posts stored since then: their earlier raw rows (collected after publication) now have a post.
arrived AS (
    SELECT post_id, published_at FROM raw.posts WHERE $read_since IS NOT NULL AND ingested_at >= $read_since
),
arrived_rows AS (
    SELECT m.partition_key
    FROM raw.tweet_metrics AS m
    JOIN arrived AS a USING (post_id)
    WHERE m.collected_at >= (SELECT min(published_at) FROM arrived)
      AND COALESCE(m.status, 'ok') = 'ok'
      AND NOT EXISTS (SELECT 1 FROM analytics.post_snapshots AS s
                      WHERE s.snapshot_time >= (SELECT min(published_at) FROM arrived)
                        AND s.post_id = m.post_id AND s.snapshot_time = m.collected_at)
)
SELECT DISTINCT partition_key FROM raw.tweet_metrics WHERE $full_refresh
UNION
SELECT DISTINCT partition_key FROM unread WHERE NOT $full_refresh AND post_id IN (SELECT post_id FROM raw.posts)
UNION
SELECT DISTINCT partition_key FROM arrived_rows WHERE NOT $full_refresh
