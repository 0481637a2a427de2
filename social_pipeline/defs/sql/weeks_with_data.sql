-- Keys (Monday 00:00 UTC, %Y-%m-%d) of the weeks holding a post or a profile day of any account,
-- from the week of $from_day on, that had ended by $now: the weekly partitions the data calls for.
SELECT DISTINCT strftime(date_trunc('week', day), '%Y-%m-%d') AS week_key
FROM (
    SELECT published_at AS day FROM raw.posts
    UNION ALL
    SELECT snapshot_date::TIMESTAMP AS day FROM raw.profile_activity
)
WHERE day >= date_trunc('week', $from_day::TIMESTAMP)
  AND date_trunc('week', day) + INTERVAL 7 DAY <= $now::TIMESTAMP
ORDER BY week_key
