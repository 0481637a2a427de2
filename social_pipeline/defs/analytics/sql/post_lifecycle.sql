-- analytics.post_lifecycle rows of the posts in lifecycle_refresh(post_id): one row per post and
-- age the post has been observed at or past, from the newest snapshot at or before that age
-- (nothing interpolated: snapshot_age_hours shows how old that snapshot was).
WITH ages AS (
    SELECT unnest($ages_hours::INTEGER[]) AS age_hours
),
snapshots AS (
    SELECT post_id, user_id, snapshot_time, hours_since_published, impressions, engagements, source_written_at
    FROM lifecycle_snapshots  -- the candidates' snapshots whose age is known and not negative
    WHERE post_id IN (SELECT post_id FROM lifecycle_refresh)
),
observed AS (
    SELECT
        post_id,
        any_value(user_id) AS user_id,
        count(*) FILTER (WHERE hours_since_published <= $week_age_hours) AS snapshots_used,
        max(source_written_at) FILTER (WHERE hours_since_published <= $week_age_hours) AS source_written_at,
        max(hours_since_published) AS observed_hours
    FROM snapshots
    GROUP BY post_id
),
reached AS (
    SELECT o.*, a.age_hours::DOUBLE AS age
    FROM observed AS o
    JOIN ages AS a ON o.observed_hours >= a.age_hours
)
SELECT
    r.post_id,
    r.user_id,
    r.age::INTEGER AS age_hours,
    s.snapshot_time,
    s.hours_since_published AS snapshot_age_hours,
    s.impressions,
    s.engagements,
    r.snapshots_used,
    r.source_written_at,
    least(r.observed_hours, $week_age_hours) AS observed_through_hours
FROM reached AS r
ASOF JOIN snapshots AS s
    ON s.post_id = r.post_id AND r.age >= s.hours_since_published
