-- Every row of ops.post_snapshot_collections, counted from both tables (a scan of each).
SELECT r.partition_key, r.raw_rows, COALESCE(s.snapshot_rows, 0) AS snapshot_rows
FROM (SELECT partition_key, count(*) AS raw_rows FROM raw.tweet_metrics
      WHERE partition_key IS NOT NULL GROUP BY ALL) AS r
LEFT JOIN (SELECT partition_key, count(*) AS snapshot_rows FROM analytics.post_snapshots GROUP BY ALL) AS s
    USING (partition_key)
