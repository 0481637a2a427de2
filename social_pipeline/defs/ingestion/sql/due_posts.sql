-- (post_id, collected_at) pairs one collection run must fetch, for every collection
-- time in [$first_collection, $last_collection] (hourly steps).
-- Cadence: hourly below 7 days of age, daily at 00:00 below 30 days, then Mondays 00:00.
-- Posts whose latest report is deleted / protected / not_found are not asked for again:
-- each request costs money and would return the same error.
WITH collections AS (
    SELECT unnest(generate_series($first_collection::TIMESTAMP, $last_collection::TIMESTAMP, INTERVAL 1 HOUR)) AS collected_at
),
unavailable AS (
    -- Only reports from before this run: a re-run of the same partitions must ask for the same posts.
    SELECT post_id
    FROM (
        SELECT post_id, status,
               row_number() OVER (PARTITION BY post_id
                                  ORDER BY collected_at DESC, COALESCE(status, 'ok') = 'ok' DESC) AS newest
        FROM raw.tweet_metrics
        WHERE collected_at < $first_collection::TIMESTAMP
    )
    WHERE newest = 1 AND COALESCE(status, 'ok') <> 'ok'
)
SELECT p.post_id, p.user_id, c.collected_at
FROM raw.posts AS p
JOIN collections AS c
  ON p.published_at < c.collected_at
 AND (
        c.collected_at - p.published_at <= INTERVAL 7 DAY
     OR (c.collected_at - p.published_at <= INTERVAL 30 DAY AND hour(c.collected_at) = 0)
     OR (hour(c.collected_at) = 0 AND isodow(c.collected_at) = 1)
 )
WHERE p.user_id IN (SELECT unnest($user_ids::VARCHAR[]))
  AND p.post_id NOT IN (SELECT post_id FROM unavailable)
ORDER BY c.collected_at, p.post_id
