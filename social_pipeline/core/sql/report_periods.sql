-- periods(user_id, period_start, period_end): one row per (user, week) for the weeks that
-- start in [$first_week_start, $weeks_end): every user the warehouse knew by the week's end
-- (a post published, or a profile day or a LinkedIn archive or analytics day recorded, before it).
-- Weeks start Monday 00:00 UTC.
SELECT DISTINCT
    u.user_id,
    w.week_start AS period_start,
    w.week_start + INTERVAL 7 DAY AS period_end
FROM (SELECT unnest(range($first_week_start::TIMESTAMP, $weeks_end::TIMESTAMP, INTERVAL 7 DAY)) AS week_start) AS w
JOIN (
    SELECT user_id, min(published_at) AS first_seen FROM raw.posts GROUP BY user_id
    UNION ALL
    SELECT user_id, min(snapshot_date)::TIMESTAMP AS first_seen FROM raw.profile_activity GROUP BY user_id
    UNION ALL
    SELECT user_id, min(day)::TIMESTAMP AS first_seen
    FROM (SELECT user_id, connected_on AS day FROM raw.linkedin_connections
          UNION ALL SELECT user_id, sent_at::DATE FROM raw.linkedin_messages
          UNION ALL SELECT user_id, sent_at::DATE FROM raw.linkedin_invitations
          UNION ALL SELECT user_id, day FROM raw.linkedin_daily)
    GROUP BY user_id
) AS u ON u.first_seen < w.week_start + INTERVAL 7 DAY
