-- The new rows of ops.post_snapshot_collections for the touched collections: their raw rows now, and
-- their snapshots as written by this run (refreshed_collections) or as recorded before (the others: a
-- collection whose new raw rows post_snapshots does not read, such as a post's unavailable status).
SELECT
    t.partition_key,
    t.raw_rows,
    CASE WHEN r.partition_key IS NOT NULL THEN COALESCE(w.snapshot_rows, 0)
         ELSE COALESCE(o.snapshot_rows, 0) END AS snapshot_rows
FROM touched_collections AS t
LEFT JOIN (SELECT DISTINCT partition_key FROM refreshed_collections) AS r USING (partition_key)
LEFT JOIN (SELECT partition_key, sum(snapshot_rows) AS snapshot_rows FROM written_collections GROUP BY ALL) AS w
    USING (partition_key)
LEFT JOIN ops.post_snapshot_collections AS o USING (partition_key)
