-- For each report (report_keys: user_id, period_start, period_end): the account's typical path (the
-- median 7-day impressions of its posts times its curve's median share at each age) and the
-- impressions of the posts it published in the week at each age they have reached.
WITH week_impressions AS (
    SELECT user_id, median(impressions) AS typical_week_impressions
    FROM analytics.post_lifecycle
    WHERE age_hours = 168 AND impressions > 0
    GROUP BY user_id
)
SELECT k.user_id, k.period_start, 'typical' AS series, NULL AS text, c.age_hours,
       c.median_share_of_week_impressions * w.typical_week_impressions AS impressions
FROM report_keys AS k
JOIN analytics.account_lifecycle_curves AS c USING (user_id)
JOIN week_impressions AS w USING (user_id)
UNION ALL
SELECT k.user_id, k.period_start, l.post_id AS series, p.text, l.age_hours, l.impressions
FROM report_keys AS k
JOIN raw.posts AS p ON p.user_id = k.user_id AND p.published_at >= k.period_start AND p.published_at < k.period_end
JOIN analytics.post_lifecycle AS l USING (post_id)
WHERE l.impressions IS NOT NULL
ORDER BY 1, 2, 3, 5
