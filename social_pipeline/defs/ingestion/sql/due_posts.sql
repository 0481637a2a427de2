-- (post_id, collected_at) pairs one collection run must fetch, for every collection
-- time in [$first_collection, $last_collection] (hourly steps).
-- Cadence: hourly up to $hourly_days of age (X_TRACK_HOURLY_DAYS, 7), daily at 00:00 up to $daily_days
-- (X_TRACK_DAILY_DAYS, 30), then Mondays 00:00 up to $max_days (X_TRACK_MAX_DAYS; NULL: no end).
-- Posts whose latest report is deleted / protected / not_found ($unavailable, unavailable_posts.sql) are
-- not asked for again: each request costs money and would return the same error.
WITH collections AS (
    SELECT unnest(generate_series($first_collection::TIMESTAMP, $last_collection::TIMESTAMP, INTERVAL 1 HOUR)) AS collected_at
)
SELECT p.post_id, p.user_id, c.collected_at
FROM raw.posts AS p
JOIN collections AS c
  ON p.published_at < c.collected_at
 AND (
        c.collected_at - p.published_at <= to_days($hourly_days::INTEGER)
     OR (c.collected_at - p.published_at <= to_days($daily_days::INTEGER) AND hour(c.collected_at) = 0)
     OR (hour(c.collected_at) = 0 AND isodow(c.collected_at) = 1)
 )
 AND ($max_days::INTEGER IS NULL OR c.collected_at - p.published_at <= to_days($max_days::INTEGER))
WHERE p.user_id IN (SELECT unnest($user_ids::VARCHAR[]))
  AND p.post_id NOT IN (SELECT unnest($unavailable::VARCHAR[]))
ORDER BY c.collected_at, p.post_id
