-- The queued posts (lifecycle_queue) whose post_lifecycle rows may have changed, with their publication
-- time. A post observed for its whole first week (it has a row at the week's age) whose new snapshots
-- are all later than the week is left out: its rows read only its snapshots up to the week's age, and
-- none of those changed (a run that removed snapshots queues the post with no earliest time). An hour
-- of daily and weekly collections then reads the young posts' snapshots, not the whole history's.
WITH queued AS (
    SELECT
        q.post_id,
        any_value(p.published_at) AS published_at,
        COALESCE(bool_and(q.earliest_snapshot_time IS NOT NULL)
                 AND min(q.earliest_snapshot_time) > any_value(p.published_at) + to_hours($week_age_hours),
                 FALSE) AS only_later_than_week
    FROM lifecycle_queue AS q
    LEFT JOIN raw.posts AS p USING (post_id)
    GROUP BY q.post_id
)
SELECT post_id, published_at
FROM queued
WHERE post_id NOT IN (
    SELECT post_id FROM analytics.post_lifecycle
    WHERE age_hours = $week_age_hours
      AND post_id IN (SELECT post_id FROM queued WHERE only_later_than_week)
)
