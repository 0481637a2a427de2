-- The model features (before text features) of the posts in expectation_posts(post_id), as they were
-- known when each was published, as in ml.training_dataset: hour and weekday in the account's zone,
-- followers as of publication, and the account's means over its posts in ml.training_dataset whose
-- outcome had settled by then.
WITH posts AS (
    SELECT p.post_id, p.user_id, p.published_at, p.text, p.content_type,
           COALESCE(p.media_type, 'none') AS media_type,
           COALESCE(p.num_media_items, 0) AS num_media_items,
           timezone(COALESCE(z.timezone, 'UTC'), timezone('UTC', p.published_at)) AS published_at_local
    FROM raw.posts AS p
    LEFT JOIN raw.accounts AS z USING (user_id)
    WHERE p.post_id IN (SELECT post_id FROM expectation_posts)
      AND COALESCE(p.published_time_known, TRUE)
),
levels AS (
    SELECT p.post_id,
           avg(t.engagement_rate) AS user_avg_engagement_rate,
           count(t.post_id) AS user_settled_posts,
           avg(t.reach) AS user_avg_reach,
           avg(t.likes) AS user_avg_likes
    FROM posts AS p
    LEFT JOIN ml.training_dataset AS t
      ON t.user_id = p.user_id AND NOT t.is_synthetic AND t.settled_snapshot_time <= p.published_at
    GROUP BY p.post_id
)
SELECT
    p.post_id,
    p.user_id,
    p.text,
    p.content_type,
    hour(p.published_at_local) AS hour,
    isodow(p.published_at_local) - 1 AS day_of_week,
    p.media_type,
    p.num_media_items,
    a.followers AS user_followers,
    l.user_avg_engagement_rate,
    l.user_settled_posts,
    l.user_avg_reach,
    l.user_avg_likes
FROM posts AS p
JOIN levels AS l USING (post_id)
ASOF LEFT JOIN raw.account_snapshots AS a
    ON a.user_id = p.user_id AND p.published_at >= a.collected_at
