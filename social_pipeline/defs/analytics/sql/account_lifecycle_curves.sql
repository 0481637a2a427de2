-- analytics.account_lifecycle_curves of the accounts in lifecycle_accounts(user_id): per account
-- and age, the median (and 10th and 90th percentile) share of the 7-day impressions its posts had
-- reached, over the posts observed for the whole week with impressions whose snapshot lies close to
-- the age (within 15 minutes or a tenth of it: hourly collections read a 1 h row anywhere from 0 to
-- 1 h); and the account's half-life (the median of its posts').
WITH week AS (
    SELECT post_id, user_id, impressions AS week_impressions, half_life_hours
    FROM analytics.post_lifecycle
    WHERE age_hours = $week_age_hours AND impressions > 0
      AND user_id IN (SELECT user_id FROM lifecycle_accounts)
),
-- Their posts' rows, taken first: the filter below then reads these, not every stored row.
week_rows AS MATERIALIZED (
    SELECT * FROM analytics.post_lifecycle WHERE post_id IN (SELECT post_id FROM week)
),
shares AS (
    SELECT l.user_id, l.age_hours, l.impressions / w.week_impressions AS share
    FROM week_rows AS l
    JOIN week AS w USING (post_id)
    WHERE l.impressions IS NOT NULL
      AND (l.age_hours = $week_age_hours
           OR l.age_hours - l.snapshot_age_hours <= greatest(0.25, 0.1 * l.age_hours))
),
half_lives AS (
    -- Each post's half-life is stored on its week row (core/sql/lifecycle_half_lives.sql).
    SELECT user_id, median(half_life_hours) AS half_life_hours
    FROM week
    GROUP BY user_id
)
SELECT
    s.user_id,
    s.age_hours,
    median(s.share) AS median_share_of_week_impressions,
    quantile_cont(s.share, 0.1) AS p10_share_of_week_impressions,
    quantile_cont(s.share, 0.9) AS p90_share_of_week_impressions,
    count(*) AS posts,
    any_value(h.half_life_hours) AS half_life_hours
FROM shares AS s
LEFT JOIN half_lives AS h USING (user_id)
GROUP BY s.user_id, s.age_hours
