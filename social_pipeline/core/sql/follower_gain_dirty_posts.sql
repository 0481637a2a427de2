-- The posts whose figures (ops.follower_post_windows) are read again: new posts, posts whose account or
-- publication time changed, and posts whose 24 h window had not closed by the newest figure already read
-- ($newest_collected_at, NULL when the state is rebuilt: then every post, the windows being emptied).
SELECT p.post_id, p.user_id, p.published_at
FROM raw.posts AS p
LEFT JOIN ops.follower_post_windows AS w USING (post_id)
WHERE w.post_id IS NULL
   OR w.user_id <> p.user_id
   OR w.published_at <> p.published_at
   OR p.published_at + INTERVAL 24 HOUR > $newest_collected_at
