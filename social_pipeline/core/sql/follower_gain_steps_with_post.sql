-- For the accounts in follower_changed_accounts(user_id): their one-hour steps a post falls in, counted by
-- gain. A step holding two posts counts once.
SELECT user_id, gain, count(*) AS steps_with_post
FROM (
    SELECT DISTINCT user_id, next_at, followers_next - followers_before AS gain
    FROM ops.follower_post_windows
    WHERE date_diff('second', before_at, next_at) = 3600
      AND user_id IN (SELECT user_id FROM follower_changed_accounts)
)
GROUP BY ALL
