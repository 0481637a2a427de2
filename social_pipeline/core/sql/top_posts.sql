-- The best 5 posts of each period in `period_posts` by engagement rate (ties: more
-- engagements, then the post id).
SELECT *
FROM (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY user_id, network, period_start, period_end
            ORDER BY engagement_rate_pct DESC, engagements DESC, post_id
        ) AS rank
    FROM period_posts
    WHERE post_id IS NOT NULL
)
WHERE rank <= 5
