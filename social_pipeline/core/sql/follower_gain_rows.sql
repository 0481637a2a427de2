-- The follower figures to read this run, as follower_rows(user_id, collected_at, followers): each account's
-- newest figure already read (ops.follower_last_snapshots), then the figures after $newest_collected_at
-- (all of them when it is NULL: the state is rebuilt).
SELECT user_id, collected_at, followers FROM ops.follower_last_snapshots
UNION ALL
SELECT user_id, collected_at, followers
FROM raw.account_snapshots
WHERE followers IS NOT NULL AND ($newest_collected_at IS NULL OR collected_at > $newest_collected_at)
