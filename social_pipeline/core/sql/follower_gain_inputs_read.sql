-- The follower figures (raw.account_snapshots with followers) at or before $newest_collected_at: their
-- count and a sum of their row hashes. Equal to what ops.follower_gain_inputs recorded, they are the rows
-- post_follower_gain last read, so only later rows are new.
SELECT count(*) AS snapshot_rows,
       (COALESCE(sum(hash(user_id, collected_at, followers)), 0) % 9223372036854775783)::BIGINT AS snapshot_hash
FROM raw.account_snapshots
WHERE followers IS NOT NULL AND collected_at <= $newest_collected_at
