-- Posts whose cumulative figures dropped from one snapshot to the next at a snapshot from $lookback_start
-- on: the first such snapshot and the metrics that dropped. A drop at a post's first snapshot in the
-- lookback is found against the post's newest snapshot before it. That one is looked for in the
-- $near_from .. $lookback_start stretch first (wider than the weekly cadence's gap), so an hour's check
-- reads the snapshots of about two weeks, not each post's whole series; further back only for the posts
-- with none there that may have older ones (collection gaps, posts not in raw.posts).
WITH recent AS (
    SELECT post_id, snapshot_time, impressions, likes, retweets, replies, quotes
    FROM analytics.post_snapshots
    WHERE snapshot_time >= $lookback_start
),
recent_posts AS (
    SELECT DISTINCT post_id FROM recent
),
near AS (
    SELECT post_id,
           arg_max({'snapshot_time': snapshot_time, 'impressions': impressions, 'likes': likes,
                    'retweets': retweets, 'replies': replies, 'quotes': quotes}, snapshot_time) AS last
    FROM analytics.post_snapshots
    WHERE snapshot_time >= $near_from AND snapshot_time < $lookback_start
      AND post_id IN (SELECT post_id FROM recent_posts)
    GROUP BY post_id
),
-- A post published a day or more after $near_from has no snapshot before it (a day: a date-only post's
-- midnight can follow its real publication by the zone's offset).
far_posts AS (
    SELECT post_id FROM recent_posts
    WHERE post_id NOT IN (SELECT post_id FROM near)
      AND post_id NOT IN (SELECT post_id FROM raw.posts WHERE published_at >= $near_from + INTERVAL 1 DAY)
),
far AS (
    SELECT post_id,
           arg_max({'snapshot_time': snapshot_time, 'impressions': impressions, 'likes': likes,
                    'retweets': retweets, 'replies': replies, 'quotes': quotes}, snapshot_time) AS last
    FROM analytics.post_snapshots
    WHERE snapshot_time < $near_from AND post_id IN (SELECT post_id FROM far_posts)
    GROUP BY post_id
),
series AS (
    SELECT * FROM recent
    UNION ALL BY NAME
    SELECT post_id, unnest(last) FROM (SELECT * FROM near UNION ALL SELECT * FROM far)
),
steps AS (
    SELECT post_id, snapshot_time,
           impressions < lag(impressions) OVER w AS impressions_dropped,
           likes < lag(likes) OVER w AS likes_dropped,
           retweets < lag(retweets) OVER w AS retweets_dropped,
           replies < lag(replies) OVER w AS replies_dropped,
           quotes < lag(quotes) OVER w AS quotes_dropped
    FROM series
    WINDOW w AS (PARTITION BY post_id ORDER BY snapshot_time)
)
SELECT post_id, min(snapshot_time) AS first_drop,
       list_sort(list_distinct(flatten(list(list_value(
           CASE WHEN impressions_dropped THEN 'impressions' END,
           CASE WHEN likes_dropped THEN 'likes' END,
           CASE WHEN retweets_dropped THEN 'retweets' END,
           CASE WHEN replies_dropped THEN 'replies' END,
           CASE WHEN quotes_dropped THEN 'quotes' END))))) AS metrics
FROM steps
WHERE snapshot_time >= $lookback_start
  AND (impressions_dropped OR likes_dropped OR retweets_dropped OR replies_dropped OR quotes_dropped)
GROUP BY post_id
ORDER BY post_id
