-- The snapshots in drop_series, from each post's snapshot_time_from on (NULL: all), whose cumulative
-- figures are below the post's previous snapshot, with the figures that fell (alphabetical order).
WITH steps AS (
    SELECT post_id, snapshot_time, snapshot_time_from,
           concat_ws(',',
               CASE WHEN impressions < lag(impressions) OVER w THEN 'impressions' END,
               CASE WHEN likes < lag(likes) OVER w THEN 'likes' END,
               CASE WHEN quotes < lag(quotes) OVER w THEN 'quotes' END,
               CASE WHEN replies < lag(replies) OVER w THEN 'replies' END,
               CASE WHEN retweets < lag(retweets) OVER w THEN 'retweets' END) AS metrics_dropped
    FROM drop_series
    WINDOW w AS (PARTITION BY post_id ORDER BY snapshot_time)
)
SELECT post_id, snapshot_time, metrics_dropped FROM steps
WHERE metrics_dropped <> ''
  AND (snapshot_time_from IS NULL OR snapshot_time >= snapshot_time_from)
