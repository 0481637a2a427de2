-- Posts whose cumulative figures dropped from one snapshot to the next at a snapshot from $lookback_start
-- on: the first such snapshot and the metrics that dropped (post_snapshots records each drop as it writes
-- the snapshots, in analytics.post_metric_drops).
SELECT post_id, min(snapshot_time) AS first_drop,
       list_sort(list_distinct(flatten(list(string_split(metrics_dropped, ','))))) AS metrics
FROM analytics.post_metric_drops
WHERE snapshot_time >= $lookback_start
GROUP BY post_id
ORDER BY post_id
