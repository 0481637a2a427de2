-- Collection partitions holding raw rows that post_snapshots has not read: new collections, re-run ones
-- (their rows carry another written_at), and rows whose post arrived later. Only raw rows written from
-- $read_since on are compared (the newest written_at already read, less a lookback), so an hour's run
-- reads the new rows, not the whole history. Not a bare high-water mark on written_at: with writers in
-- several processes (a DuckLake), a row stamped earlier may commit after a post_snapshots run that read a
-- later one; the lookback still finds it.
WITH unread AS (
    SELECT m.partition_key, m.post_id
    FROM raw.tweet_metrics AS m
    WHERE m.written_at >= $read_since
      AND COALESCE(m.status, 'ok') = 'ok'
      AND NOT EXISTS (SELECT 1 FROM analytics.post_snapshots AS s
                      WHERE s.source_written_at >= $read_since
                        AND s.partition_key = m.partition_key AND s.source_written_at = m.written_at)
),
-- Posts stored since then ($arrived_from: the earliest publication among them, NULL for none): their raw
-- rows (collected after publication) that have no snapshot yet.
arrived_rows AS (
    SELECT m.partition_key
    FROM raw.tweet_metrics AS m
    WHERE m.collected_at >= $arrived_from
      AND m.post_id IN (SELECT post_id FROM raw.posts WHERE ingested_at >= $read_since)
      AND COALESCE(m.status, 'ok') = 'ok'
      AND NOT EXISTS (SELECT 1 FROM analytics.post_snapshots AS s
                      WHERE s.snapshot_time >= $arrived_from
                        AND s.post_id = m.post_id AND s.snapshot_time = m.collected_at)
)
SELECT DISTINCT partition_key FROM unread WHERE post_id IN (SELECT post_id FROM raw.posts)
UNION
SELECT DISTINCT partition_key FROM arrived_rows
