-- The weekly_report check: users active in a reported week (a post published, or a profile
-- day recorded, in it) that have no report row for that week. Empty when all is well.
-- Reported weeks: those Dagster has materialised ($materialized_week_starts), and any in the table.
WITH weeks AS (
    SELECT unnest($materialized_week_starts::DATE[]) AS week_start
    UNION
    SELECT week_start FROM analytics.weekly_reports
),
active AS (
    SELECT p.user_id, w.week_start
    FROM weeks AS w
    JOIN raw.posts AS p
      ON p.published_at >= w.week_start AND p.published_at < w.week_start + INTERVAL 7 DAY
    UNION
    SELECT a.user_id, w.week_start
    FROM weeks AS w
    JOIN raw.profile_activity AS a
      ON a.snapshot_date >= w.week_start AND a.snapshot_date < w.week_start + 7
)
SELECT a.user_id, a.week_start
FROM active AS a
ANTI JOIN analytics.weekly_reports AS r USING (user_id, week_start)
ORDER BY a.week_start, a.user_id
