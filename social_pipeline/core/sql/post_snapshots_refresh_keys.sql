-- Collection partitions holding raw rows that post_snapshots has not read: new collections, re-run ones
-- (their rows carry another written_at), and rows whose post arrived later. Only raw rows written from
-- $read_since on are compared (the newest written_at already read, less a lookback), so an hour's run
-- reads the new rows, not the whole history. Not a bare high-water mark on written_at: with writers in
-- several processes (a DuckLake), a row stamped earlier may commit after a post_snapshots run that read a
-- later one; the lookback still finds it.
WITH written AS (
    SELECT DISTINCT partition_key, written_at
    FROM raw.tweet_metrics
    WHERE written_at >= $read_since AND COALESCE(status, 'ok') = 'ok'
),
-- A write of a collection is read whole: compared as (collection, written_at) pairs, not row by row.
unread_writes AS (
    SELECT * FROM written
    EXCEPT
    SELECT DISTINCT partition_key, source_written_at FROM analytics.post_snapshots
    WHERE source_written_at >= $read_since
),
unread AS (
    SELECT m.partition_key, m.post_id
    FROM raw.tweet_metrics AS m
    SEMI JOIN unread_writes AS u ON u.partition_key = m.partition_key AND u.written_at = m.written_at
    WHERE m.written_at >= $read_since AND COALESCE(m.status, 'ok') = 'ok'
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
