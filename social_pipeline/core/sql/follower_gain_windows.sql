-- For each post of follower_dirty_posts(post_id, user_id, published_at): the figures its gain is read
-- from. `before`: the newest figure at or before publication, kept when within the hour before it.
-- `next`: the first figure after publication, kept when within the hour after it (with `before` one
-- hour earlier, the post falls in that one-hour step). `after`: the newest figure at or before 24 h
-- later, kept when in the window's last hour. Figures older than $read_from (the earliest publication
-- less an hour) can be none of these.
WITH figures AS (
    SELECT user_id, collected_at, followers
    FROM raw.account_snapshots
    WHERE followers IS NOT NULL AND collected_at >= $read_from
      AND user_id IN (SELECT DISTINCT user_id FROM follower_dirty_posts)
)
SELECT
    d.post_id, d.user_id, d.published_at,
    CASE WHEN b.collected_at >= d.published_at - INTERVAL 1 HOUR THEN b.collected_at END AS before_at,
    CASE WHEN b.collected_at >= d.published_at - INTERVAL 1 HOUR THEN b.followers END AS followers_before,
    CASE WHEN n.collected_at <= d.published_at + INTERVAL 1 HOUR THEN n.collected_at END AS next_at,
    CASE WHEN n.collected_at <= d.published_at + INTERVAL 1 HOUR THEN n.followers END AS followers_next,
    CASE WHEN a.collected_at > d.published_at + INTERVAL 23 HOUR THEN a.collected_at END AS after_at,
    CASE WHEN a.collected_at > d.published_at + INTERVAL 23 HOUR THEN a.followers END AS followers_after
FROM follower_dirty_posts AS d
ASOF LEFT JOIN figures AS b ON b.user_id = d.user_id AND d.published_at >= b.collected_at
ASOF LEFT JOIN figures AS n ON n.user_id = d.user_id AND d.published_at < n.collected_at
ASOF LEFT JOIN figures AS a ON a.user_id = d.user_id AND d.published_at + INTERVAL 24 HOUR >= a.collected_at
