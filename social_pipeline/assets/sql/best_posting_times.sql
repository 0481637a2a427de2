-- analytics.best_posting_times: the seed's rule. Slots of `posting_slots` with at least 2 posts,
-- ranked by average engagement rate, top 10 per (user, window). Ties: more posts, more
-- engagements, then the earlier day and hour.
SELECT
    user_id,
    rank,
    day_of_week,
    ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][day_of_week + 1] AS day_name,
    hour,
    avg_engagement_rate_pct,
    posts_count,
    total_impressions,
    total_engagements,
    window_start,
    window_end
FROM (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY user_id, window_end
            ORDER BY avg_engagement_rate_pct DESC, posts_count DESC, total_engagements DESC, day_of_week, hour
        ) AS rank
    FROM posting_slots
    WHERE posts_count >= 2
)
WHERE rank <= 10
