-- analytics.user_summary: totals, average engagement rate (the mean of the posts' rates, as
-- the seed averages them) and the best and worst post of each period in `period_posts`.
-- Ties on the rate go to more engagements, then to the post id, so reruns agree.
SELECT
    user_id,
    network,
    period_start,
    period_end,
    count(post_id) AS total_posts,
    -- NULL, never 0, on a network that counts no impressions (Bluesky: engagement_basis followers).
    CASE WHEN any_value(network) <> 'bluesky' THEN COALESCE(sum(impressions), 0) END::BIGINT AS total_impressions,
    COALESCE(sum(engagements), 0)::BIGINT AS total_engagements,
    COALESCE(avg(engagement_rate_pct), 0.0)::DOUBLE AS avg_engagement_rate_pct,
    arg_max(post_id, (engagement_rate_pct, engagements, post_id)) AS best_post_id,
    arg_min(post_id, (engagement_rate_pct, engagements, post_id)) AS worst_post_id,
    count(DISTINCT content_type) AS content_types_used
FROM period_posts
GROUP BY user_id, network, period_start, period_end
