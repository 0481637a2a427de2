-- analytics.post_follower_gain rows for the posts in follower_gain_posts(post_id): the followers each post
-- brought. Where an export of X gives the post's own `New follows` (raw.tweet_metrics.new_follows, its
-- newest figure) that count is used; otherwise the account's follower figures: the change from the newest
-- figure at or before publication to the newest at or before 24 h later (ops.follower_post_windows), less
-- the account's usual growth over those hours (follower_baselines). A post without both figures close to
-- the window's ends has no account_snapshots row.
WITH from_snapshots AS (
    SELECT w.post_id, w.followers_before, w.followers_after,
           date_diff('second', w.before_at, w.after_at) / 3600.0 AS window_hours,
           l.baseline_hourly_gain
    FROM ops.follower_post_windows AS w
    JOIN follower_baselines AS l USING (user_id)
    WHERE w.before_at IS NOT NULL AND w.after_at IS NOT NULL
      AND w.post_id IN (SELECT post_id FROM follower_gain_posts)
)
SELECT
    p.post_id,
    p.user_id,
    p.published_at,
    CASE WHEN e.new_follows IS NOT NULL THEN e.new_follows
         ELSE s.followers_after - s.followers_before - s.baseline_hourly_gain * s.window_hours END AS followers_gained,
    CASE WHEN e.new_follows IS NOT NULL THEN 'x_export_new_follows' ELSE 'account_snapshots' END AS method,
    s.followers_before,
    s.followers_after,
    s.window_hours,
    s.baseline_hourly_gain
FROM raw.posts AS p
LEFT JOIN follower_export AS e USING (post_id)
LEFT JOIN from_snapshots AS s USING (post_id)
WHERE p.post_id IN (SELECT post_id FROM follower_gain_posts)
  AND (e.new_follows IS NOT NULL OR s.post_id IS NOT NULL)
