-- Collection partitions whose raw rows changed since post_snapshots last read them
-- (new collections, and re-run ones, which carry a newer written_at).
SELECT DISTINCT partition_key
FROM raw.tweet_metrics
WHERE $full_refresh
   OR written_at > (SELECT COALESCE(max(source_written_at), TIMESTAMP '1970-01-01') FROM analytics.post_snapshots)
