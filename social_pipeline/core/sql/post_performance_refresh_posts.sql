-- Posts whose analytics.post_performance row is out of date: those post_snapshots rewrote since the
-- last run (queued in ops.post_refresh_queue), and every post of an account whose zone in raw.accounts
-- differs from the one its rows were read in.
SELECT DISTINCT post_id FROM ops.post_refresh_queue WHERE table_name = 'analytics.post_performance'
UNION
SELECT p.post_id
FROM analytics.post_performance AS p
LEFT JOIN raw.accounts AS a USING (user_id)
WHERE p.timezone IS DISTINCT FROM COALESCE(a.timezone, 'UTC')
