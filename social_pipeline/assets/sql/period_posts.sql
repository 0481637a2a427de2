-- The posts of each period in `periods(user_id, period_start, period_end)`: published in
-- [period_start, period_end), with their latest snapshot's figures (analytics.post_performance,
-- computed by the engagement macros: a post with 0 impressions has engagement_rate_pct 0).
-- LEFT JOIN: a period without posts keeps one row with NULL post columns.
SELECT
    per.user_id,
    per.period_start,
    per.period_end,
    pp.post_id,
    pp.published_at,
    pp.day_of_week,
    pp.hour,
    pp.content_type,
    pp.media_type,
    pp.text,
    pp.impressions,
    pp.likes,
    pp.retweets,
    pp.replies,
    pp.quotes,
    pp.engagements,
    pp.engagement_rate_pct,
    pp.weighted_engagement_score
FROM periods AS per
LEFT JOIN analytics.post_performance AS pp
    ON pp.user_id = per.user_id
   AND pp.published_at >= per.period_start
   AND pp.published_at < per.period_end
