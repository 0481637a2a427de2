-- analytics.best_posting_times: the seed's rule. Slots of `posting_slots` with at least 2 posts,
-- ranked by average engagement rate, top 10 per (user, window). Ties: more posts, more
-- engagements, then the earlier day and hour. day_of_week_local and hour_local are local (`timezone`);
-- hour_utc is the UTC hour in which that local hour starts under the offset in force at the
-- window's end (Europe/Berlin 19 -> 17 in summer, 18 in winter; Asia/Kolkata 19 -> 13, from 13:30).
SELECT
    user_id,
    network,
    rank,
    day_of_week_local,
    ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][day_of_week_local + 1] AS day_name,
    hour_local,
    timezone,
    ((hour_local * 60 - utc_offset_minutes) % 1440 + 1440) % 1440 // 60 AS hour_utc,
    avg_engagement_rate_pct,
    posts_count,
    total_impressions,
    total_engagements,
    window_start,
    window_end
FROM (
    SELECT
        *,
        (epoch(timezone(timezone, timezone('UTC', window_end))) - epoch(window_end))::BIGINT // 60
            AS utc_offset_minutes,
        row_number() OVER (
            PARTITION BY user_id, network, window_end
            ORDER BY avg_engagement_rate_pct DESC, posts_count DESC, total_engagements DESC, day_of_week_local, hour_local
        ) AS rank
    FROM posting_slots
    WHERE posts_count >= 2
)
WHERE rank <= 10
