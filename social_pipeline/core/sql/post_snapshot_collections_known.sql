-- Whether ops.post_snapshot_collections, with the counts of touched_collections in place of its own,
-- adds up to the row counts of raw.tweet_metrics and analytics.post_snapshots (both kept by DuckDB
-- without a scan). Rows with no partition key never add up: such a warehouse compares every key.
SELECT
    (SELECT count(*) FROM raw.tweet_metrics)
        = (SELECT COALESCE(sum(raw_rows), 0) FROM ops.post_snapshot_collections
           WHERE partition_key NOT IN (SELECT partition_key FROM touched_collections))
          + (SELECT COALESCE(sum(raw_rows), 0) FROM touched_collections)
    AND (SELECT count(*) FROM analytics.post_snapshots)
        = (SELECT COALESCE(sum(snapshot_rows), 0) FROM ops.post_snapshot_collections)
