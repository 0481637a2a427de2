-- Every publication slot (day_of_week_local 0 = Monday, hour_local: in the account's time zone) of each window
-- in `period_posts`, with its post count and figures. Local slots: across a DST change a post at
-- 19:00 Berlin stays in the 19:00 slot although its UTC hour moved. Posts whose source gave only a date (hour_local NULL) are left out.
SELECT
    user_id,
    network,
    period_start AS window_start,
    period_end AS window_end,
    timezone,
    day_of_week_local,
    hour_local,
    count(*) AS posts_count,
    -- NULL, never 0, on a network that counts no impressions (Bluesky: engagement_basis followers).
    CASE WHEN any_value(network) <> 'bluesky' THEN COALESCE(sum(impressions), 0) END::BIGINT AS total_impressions,
    COALESCE(sum(engagements), 0)::BIGINT AS total_engagements,
    avg(engagement_rate_pct)::DOUBLE AS avg_engagement_rate_pct
FROM period_posts
WHERE post_id IS NOT NULL AND hour_local IS NOT NULL
GROUP BY ALL
