-- analytics.engagement_by_content_type: one row per (user, period, content type used).
SELECT
    user_id,
    network,
    period_start,
    period_end,
    COALESCE(content_type, 'unknown') AS content_type,
    count(*) AS posts,
    -- NULL, never 0, on a network that counts no impressions (Bluesky: engagement_basis followers).
    CASE WHEN any_value(network) <> 'bluesky' THEN COALESCE(sum(impressions), 0) END::BIGINT AS impressions,
    COALESCE(sum(engagements), 0)::BIGINT AS engagements,
    avg(engagement_rate_pct)::DOUBLE AS avg_engagement_rate_pct
FROM period_posts
WHERE post_id IS NOT NULL
GROUP BY ALL
