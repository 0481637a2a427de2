-- The follower figures (raw.account_snapshots with followers) after $after and up to $up_to (either
-- NULL: unbounded): their count and a sum of their row hashes modulo a prime. Digests
-- of adjoining stretches add up (the sums modulo the prime), so the figures read so far are recorded
-- run by run, and compared with what the table holds now up to the newest one read.
SELECT count(*) AS snapshot_rows,
       (COALESCE(sum(hash(user_id, collected_at, followers)), 0) % 9223372036854775783)::BIGINT AS snapshot_hash
FROM raw.account_snapshots
WHERE followers IS NOT NULL
  AND ($after IS NULL OR collected_at > $after)
  AND ($up_to IS NULL OR collected_at <= $up_to)
