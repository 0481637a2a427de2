-- The half-life of each post in the temp table lifecycle_rows (post_lifecycle rows about to be stored),
-- written on its week row: the age of the post's first snapshot (in lifecycle_snapshots) at which half
-- of its 7-day impressions had been reached. NULL for a post without impressions at the week's age.
UPDATE lifecycle_rows AS l
SET half_life_hours = h.half_life_hours
FROM (
    SELECT w.post_id, min(s.hours_since_published) AS half_life_hours
    FROM lifecycle_rows AS w
    JOIN lifecycle_snapshots AS s USING (post_id)
    WHERE w.age_hours = $week_age_hours AND w.impressions > 0
      AND s.hours_since_published BETWEEN 0 AND $week_age_hours
      AND s.impressions >= 0.5 * w.impressions
    GROUP BY w.post_id
) AS h
WHERE l.post_id = h.post_id AND l.age_hours = $week_age_hours
