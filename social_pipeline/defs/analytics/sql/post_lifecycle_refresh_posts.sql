-- Posts whose analytics.post_lifecycle rows are out of date. A post's rows depend only on its
-- snapshots up to the week's age: their number, the newest written_at among them and how far the
-- post has been observed (capped at the week). A post whose figures differ from those stored on its
-- rows is recomputed; a post past the week with no new early snapshot is left alone. A count rather
-- than a high-water mark, so a row stamped earlier that commits later is not skipped. Only the posts
-- in lifecycle_candidates(post_id) are compared: those post_snapshots rewrote since the last run, whose
-- snapshots (a post's age known and not negative) lifecycle_snapshots holds and whose stored rows
-- lifecycle_stored holds.
WITH observed AS (
    SELECT
        post_id,
        count(*) FILTER (WHERE hours_since_published <= $week_age_hours) AS snapshots_used,
        max(source_written_at) FILTER (WHERE hours_since_published <= $week_age_hours) AS source_written_at,
        least(max(hours_since_published), $week_age_hours) AS observed_through_hours
    FROM lifecycle_snapshots
    WHERE post_id IN (SELECT post_id FROM lifecycle_candidates)
    GROUP BY post_id
),
stored AS (
    SELECT DISTINCT post_id, snapshots_used, source_written_at, observed_through_hours
    FROM lifecycle_stored  -- the candidates' stored rows lie in the same stretch as their snapshots
    WHERE post_id IN (SELECT post_id FROM lifecycle_candidates)
)
SELECT o.post_id
FROM observed AS o
WHERE $full_refresh
   OR NOT EXISTS (SELECT 1 FROM stored AS s
                  WHERE s.post_id = o.post_id
                    AND s.snapshots_used = o.snapshots_used
                    AND s.source_written_at IS NOT DISTINCT FROM o.source_written_at
                    AND s.observed_through_hours = o.observed_through_hours)
UNION
-- Posts whose snapshots are gone: their rows go too.
SELECT post_id FROM stored WHERE post_id NOT IN (SELECT post_id FROM observed)
