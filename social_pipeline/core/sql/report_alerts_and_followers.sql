-- For each report (report_keys): the alerts about the week's posts, and the week's posts that brought
-- followers (analytics.post_follower_gain), most first.
SELECT k.user_id, k.period_start, 'alert' AS kind, a.post_id, p.text, a.direction, a.age_hours,
       a.actual_impressions, a.expected_low, a.expected_high, NULL::DOUBLE AS followers_gained, NULL AS method
FROM report_keys AS k
JOIN raw.posts AS p ON p.user_id = k.user_id AND p.published_at >= k.period_start AND p.published_at < k.period_end
JOIN ops.post_alerts AS a USING (post_id)
UNION ALL
SELECT k.user_id, k.period_start, 'followers', g.post_id, p.text, NULL, NULL, NULL, NULL, NULL,
       g.followers_gained, g.method
FROM report_keys AS k
JOIN analytics.post_follower_gain AS g ON g.user_id = k.user_id
    AND g.published_at >= k.period_start AND g.published_at < k.period_end
JOIN raw.posts AS p USING (post_id)
WHERE g.followers_gained > 0
ORDER BY 1, 2, 3, followers_gained DESC NULLS LAST, age_hours, 4
