-- The posts whose analytics.post_follower_gain rows are recomputed: those whose figures were read or
-- removed (follower_dirty_posts, follower_removed_posts), those of accounts whose usual growth moved
-- (follower_baselines against follower_baselines_before), and those whose export figure appeared,
-- changed or went (follower_export against the stored x_export_new_follows rows).
SELECT post_id FROM follower_dirty_posts
UNION SELECT post_id FROM follower_removed_posts
UNION SELECT post_id FROM raw.posts WHERE user_id IN (
    SELECT user_id FROM follower_baselines AS n
    FULL JOIN follower_baselines_before AS b USING (user_id)
    WHERE n.baseline_hourly_gain IS DISTINCT FROM b.baseline_hourly_gain)
UNION SELECT post_id FROM (
    SELECT post_id, new_follows FROM follower_export
    EXCEPT SELECT post_id, followers_gained FROM analytics.post_follower_gain
    WHERE method = 'x_export_new_follows')
UNION SELECT post_id FROM analytics.post_follower_gain
WHERE method = 'x_export_new_follows' AND post_id NOT IN (SELECT post_id FROM follower_export)
