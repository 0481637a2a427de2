-- The posts of each period in `periods(user_id, period_start, period_end)`: every post in
-- raw.posts published in [period_start, period_end), with its latest snapshot's figures
-- (analytics.post_performance, computed by the engagement macros). As the seed's
-- calculate_engagement_rate, a post with 0 impressions, or with no metrics collected yet,
-- has engagement_rate_pct 0; its counts stay NULL (unknown). day_of_week_local and hour_local are read
-- in the account's time zone (raw.accounts; UTC without a row).
-- LEFT JOIN: a period without posts keeps one row with NULL post columns.
-- The post tables are read between the earliest period start and the latest period end only (the
-- bounds reach the table scans), so a week costs the same however long the history before it.
SELECT
    per.user_id,
    per.period_start,
    per.period_end,
    -- A period without posts takes the account's network (one account's weeks never mix networks).
    COALESCE(p.network, (SELECT any_value(n.network) FROM raw.posts AS n WHERE n.user_id = per.user_id), 'x')
        AS network,
    p.post_id,
    p.published_at,
    COALESCE(a.timezone, 'UTC') AS timezone,
    p.published_at_local,
    p.day_of_week_local,
    p.hour_local,
    p.content_type,
    p.media_type,
    p.text,
    pp.impressions,
    pp.likes,
    pp.retweets,
    pp.replies,
    pp.quotes,
    pp.engagements,
    CASE WHEN p.post_id IS NOT NULL THEN COALESCE(pp.engagement_rate_pct, 0.0) END AS engagement_rate_pct,
    pp.weighted_engagement_score
FROM periods AS per
LEFT JOIN (
    -- The account's wall clock (ICU: DST included), once a post rather than once a period it falls in
    -- (the 90-day windows of consecutive weeks overlap 13 times). A date-only post keeps its date's weekday.
    SELECT
        rp.*,
        timezone(COALESCE(z.timezone, 'UTC'), timezone('UTC', rp.published_at)) AS published_at_local,
        CASE WHEN COALESCE(rp.published_time_known, TRUE) THEN isodow(published_at_local)
             ELSE isodow(rp.published_at) END - 1 AS day_of_week_local,
        CASE WHEN COALESCE(rp.published_time_known, TRUE) THEN hour(published_at_local) END AS hour_local
    FROM raw.posts AS rp
    LEFT JOIN raw.accounts AS z ON z.user_id = rp.user_id
    WHERE rp.published_at >= (SELECT min(period_start) FROM periods)
      AND rp.published_at < (SELECT max(period_end) FROM periods)
) AS p
    ON p.user_id = per.user_id
   AND p.published_at >= per.period_start
   AND p.published_at < per.period_end
LEFT JOIN (
    SELECT * FROM analytics.post_performance
    WHERE published_at >= (SELECT min(period_start) FROM periods)
      AND published_at < (SELECT max(period_end) FROM periods)
) AS pp
    ON pp.post_id = p.post_id
LEFT JOIN raw.accounts AS a
    ON a.user_id = per.user_id
