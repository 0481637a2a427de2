-- Keys (Monday 00:00 UTC, %Y-%m-%d) of the weeks holding a post, a profile day or a LinkedIn archive or
-- analytics day of any account,
-- from the week of $from_day on, that had ended by $now: the weekly partitions the data calls for.
SELECT DISTINCT strftime(date_trunc('week', day), '%Y-%m-%d') AS week_key
FROM (
    SELECT published_at AS day FROM raw.posts
    UNION ALL
    SELECT snapshot_date::TIMESTAMP AS day FROM raw.profile_activity
    UNION ALL
    SELECT connected_on::TIMESTAMP FROM raw.linkedin_connections
    UNION ALL
    SELECT sent_at FROM raw.linkedin_messages
    UNION ALL
    SELECT sent_at FROM raw.linkedin_invitations
    UNION ALL
    SELECT day::TIMESTAMP FROM raw.linkedin_daily
)
WHERE day >= date_trunc('week', $from_day::TIMESTAMP)
  AND date_trunc('week', day) + INTERVAL 7 DAY <= $now::TIMESTAMP
ORDER BY week_key
