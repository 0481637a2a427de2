-- analytics.post_snapshots rows for the raw rows in refresh_raw: the rows of the collections to refresh
-- (a temp table for an hour's few collections, so the joins below know how few rows they are).
-- One row per (post_id, snapshot_time); formulas are the macros from core/metrics.py.
-- A network that counts no impressions (bluesky) rates engagements per follower at posting time:
-- the account's newest follower figure at or before publication, else its earliest one after.
WITH follower_posts AS (
    SELECT post_id, user_id, network, published_at FROM raw.posts WHERE network = 'bluesky'
),
followers_at_post AS (
    SELECT fp.post_id,
           COALESCE(before.followers,
                    (SELECT min_by(a.followers, a.collected_at) FROM raw.account_snapshots AS a
                     WHERE a.user_id = fp.user_id AND a.network = fp.network AND a.followers IS NOT NULL))
               AS followers
    FROM follower_posts AS fp
    ASOF LEFT JOIN (SELECT * FROM raw.account_snapshots WHERE followers IS NOT NULL) AS before
      ON before.user_id = fp.user_id AND before.network = fp.network AND fp.published_at >= before.collected_at
),
-- LinkedIn states engagements only as a total (m.engagements): it is carried when likes etc. are NULL,
-- and with nothing to weigh the weighted score stays NULL.
metrics AS (
    SELECT * REPLACE (COALESCE(engagements(likes, retweets, replies, quotes), engagements) AS engagements)
    FROM refresh_raw
)
SELECT
    m.post_id,
    p.user_id,
    m.collected_at AS snapshot_time,
    -- A date-only post (published_time_known FALSE) has no known age: midnight would overstate it.
    CASE WHEN COALESCE(p.published_time_known, TRUE)
         THEN date_diff('second', p.published_at, m.collected_at) / 3600.0 END AS hours_since_published,
    m.impressions,
    m.likes,
    m.retweets,
    m.replies,
    m.quotes,
    m.engagements,
    p.network,
    CASE WHEN p.network = 'bluesky' THEN 'followers' ELSE 'impressions' END AS engagement_basis,
    -- The macro's rate, from the total: (engagements, 0, 0, 0) sums to it.
    CASE WHEN p.network = 'bluesky'
         THEN engagement_rate_pct(m.engagements, 0, 0, 0, f.followers)
         ELSE engagement_rate_pct(m.engagements, 0, 0, 0, m.impressions) END
        AS engagement_rate_pct,
    weighted_engagement_score(m.likes, m.retweets, m.replies, m.quotes) AS weighted_engagement_score,
    -- Real but implausible figures keep the formula's value and are flagged (core/schema.py).
    CASE WHEN m.impressions > 0 AND m.engagements > m.impressions
         THEN 'engagements_exceed_impressions'
         WHEN m.impressions = 0 AND m.engagements > 0
         THEN 'engagements_without_impressions' END AS engagement_rate_flag,
    m.source,
    m.partition_key,
    m.written_at AS source_written_at
FROM metrics AS m
JOIN raw.posts AS p USING (post_id)
LEFT JOIN followers_at_post AS f USING (post_id)
WHERE COALESCE(m.status, 'ok') = 'ok'
-- Two sources may report the same post at the same instant: keep the richer row.
QUALIFY row_number() OVER (
    PARTITION BY m.post_id, m.collected_at
    ORDER BY (m.impressions IS NOT NULL) DESC, m.source
) = 1
