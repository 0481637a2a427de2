-- ml.training_dataset (before text features): one row per post whose outcome has settled,
-- with only what was known when it was published. Parameter: $settle_age_hours.
-- The user's averages are over the user's own posts, so they never mix networks (an account is on one)
-- nor engagement bases: on Bluesky the rate is per follower and reach is NULL.
WITH settled AS (
    -- The outcome: the first collection at or after the settle age, at most a day later
    -- (hourly collections hit it within the hour; daily export files within the day).
    SELECT
        post_id,
        user_id,
        snapshot_time AS settled_snapshot_time,
        hours_since_published AS settle_age_hours,
        impressions AS reach,
        likes,
        engagement_rate_pct / 100.0 AS engagement_rate,
        network,
        engagement_basis
    FROM analytics.post_snapshots
    WHERE hours_since_published >= $settle_age_hours
      AND hours_since_published < $settle_age_hours + 24
      -- The targets and the rate must be known (a count a source did not report stays unknown); a
      -- network that counts no impressions (engagement_basis followers) has likes and no reach.
      AND likes IS NOT NULL AND engagement_rate_pct IS NOT NULL
      AND (impressions IS NOT NULL OR engagement_basis = 'followers')
    QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY snapshot_time) = 1
),
known_by_time AS (
    -- Running totals of each user's settled outcomes, in the order they became known.
    SELECT
        user_id,
        known_at,
        sum(n) OVER w AS settled_posts,
        sum(sum_rate) OVER w AS sum_rate,
        sum(sum_reach) OVER w AS sum_reach,
        sum(sum_likes) OVER w AS sum_likes
    FROM (
        SELECT user_id, settled_snapshot_time AS known_at, count(*) AS n,
               sum(engagement_rate) AS sum_rate, sum(reach) AS sum_reach, sum(likes) AS sum_likes
        FROM settled
        GROUP BY ALL
    )
    WINDOW w AS (PARTITION BY user_id ORDER BY known_at ROWS UNBOUNDED PRECEDING)
),
posts AS (
    SELECT s.*, p.published_at, p.text, p.content_type, p.source,
           COALESCE(p.media_type, 'none') AS media_type,
           COALESCE(p.num_media_items, 0) AS num_media_items,
           -- An audience follows its own clock: hour and weekday in the account's zone (ICU, DST included).
           COALESCE(z.timezone, 'UTC') AS timezone,
           timezone(COALESCE(z.timezone, 'UTC'), timezone('UTC', p.published_at)) AS published_at_local
    FROM settled AS s
    JOIN raw.posts AS p USING (post_id)
    LEFT JOIN raw.accounts AS z ON z.user_id = s.user_id
    -- A post known only by its date has no publication hour, which the models need.
    WHERE COALESCE(p.published_time_known, TRUE)
)
SELECT
    p.post_id,
    p.user_id,
    p.network,
    p.engagement_basis,
    p.published_at,
    FALSE AS is_synthetic,
    p.content_type,
    p.source,
    p.text,
    p.timezone,
    hour(p.published_at_local) AS hour,
    isodow(p.published_at_local) - 1 AS day_of_week,
    p.media_type,
    p.num_media_items,
    a.followers AS user_followers,
    k.sum_rate / k.settled_posts AS user_avg_engagement_rate,
    COALESCE(k.settled_posts, 0) AS user_settled_posts,
    p.reach,
    p.likes,
    p.engagement_rate,
    k.sum_reach / k.settled_posts AS user_avg_reach,
    k.sum_likes / k.settled_posts AS user_avg_likes,
    p.settled_snapshot_time,
    p.settle_age_hours
FROM posts AS p
-- Followers as of publication: the newest account snapshot at or before it.
ASOF LEFT JOIN raw.account_snapshots AS a
    ON a.user_id = p.user_id AND p.published_at >= a.collected_at
-- Only outcomes that had settled by the time this post was published.
ASOF LEFT JOIN known_by_time AS k
    ON k.user_id = p.user_id AND p.published_at >= k.known_at
ORDER BY p.published_at, p.post_id
