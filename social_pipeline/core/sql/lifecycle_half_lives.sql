-- The half-life of the posts in lifecycle_refresh(post_id), written on their week row of
-- analytics.post_lifecycle: the age of the post's first snapshot (in lifecycle_snapshots) at which half
-- of its 7-day impressions had been reached. NULL for a post without impressions at the week's age.
UPDATE analytics.post_lifecycle AS l
SET half_life_hours = h.half_life_hours
FROM (
    SELECT w.post_id, min(s.hours_since_published) AS half_life_hours
    FROM analytics.post_lifecycle AS w
    JOIN lifecycle_snapshots AS s USING (post_id)
    WHERE w.age_hours = $week_age_hours AND w.impressions > 0
      AND w.post_id IN (SELECT post_id FROM lifecycle_refresh)
      AND s.hours_since_published BETWEEN 0 AND $week_age_hours
      AND s.impressions >= 0.5 * w.impressions
    GROUP BY w.post_id
) AS h
WHERE l.post_id = h.post_id AND l.age_hours = $week_age_hours
