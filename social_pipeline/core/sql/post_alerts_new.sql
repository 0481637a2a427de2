-- New rows of ops.post_alerts: each candidate (alert_candidates) against its expectation
-- (post_expectations: the reach predicted at $settle_age_hours with its p10-p90), scaled by the
-- account's typical curve from the settle age to the snapshot's own age. Between the curve's ages (and
-- from 0 at publication) the shares are read on the straight line.
-- The band for the impressions at that age combines two independent uncertainties, each read off an
-- 80 % interval as a spread in log units (one per side, as both intervals may be lopsided): the
-- prediction's p10-p90 and the spread of the account's posts' shares at that age (the curve's 10th and
-- 90th percentile shares). A product of the two has, in log units, the root of the sum of their squares;
-- the band's ends lie $band_z such spreads below and above the expected impressions. A p10 of 0 (or a
-- 10th percentile share of 0) leaves the band without a lower end: such a post is never `behind`.
-- The first age at which a post left the band in a direction it has not been alerted in yet; an account
-- without a curve (no post observed for a week) is not alerted.
WITH points AS (
    SELECT user_id, age_hours::DOUBLE AS age, median_share_of_week_impressions AS share,
           p10_share_of_week_impressions AS share_p10, p90_share_of_week_impressions AS share_p90
    FROM analytics.account_lifecycle_curves
    UNION ALL
    SELECT DISTINCT user_id, 0.0, 0.0, 0.0, 0.0 FROM analytics.account_lifecycle_curves
),
located AS (
    SELECT c.*, lo.age AS lo_age, lo.share AS lo_share, lo.share_p10 AS lo_p10, lo.share_p90 AS lo_p90
    FROM alert_candidates AS c
    ASOF JOIN points AS lo ON lo.user_id = c.user_id AND c.snapshot_age_hours >= lo.age
),
scaled AS (
    SELECT l.*,
           hi.age AS hi_age, hi.share AS hi_share, hi.share_p10 AS hi_p10, hi.share_p90 AS hi_p90,
           -- The straight line's weight of the next point (0 when the snapshot sits on a curve age).
           CASE WHEN hi.age > l.lo_age THEN (l.snapshot_age_hours - l.lo_age) / (hi.age - l.lo_age) ELSE 0 END AS w
    FROM located AS l
    ASOF JOIN points AS hi ON hi.user_id = l.user_id AND hi.age >= l.snapshot_age_hours
),
shares AS (
    SELECT c.*, e.expectation_source, e.predicted_reach, e.reach_p10, e.reach_p90, e.interval_z,
           c.lo_share + c.w * (c.hi_share - c.lo_share) AS share,
           c.lo_p10 + c.w * (c.hi_p10 - c.lo_p10) AS share_p10,
           c.lo_p90 + c.w * (c.hi_p90 - c.lo_p90) AS share_p90,
           s.share AS settle_share
    FROM scaled AS c
    JOIN post_expectations AS e USING (post_id)
    JOIN points AS s ON s.user_id = c.user_id AND s.age = $settle_age_hours AND s.share > 0
    WHERE e.predicted_reach > 0
),
spreads AS (
    -- Log-unit spreads of each side of each 80 % interval (NULL: that side is unbounded).
    SELECT *,
           predicted_reach * share / settle_share AS expected_impressions,
           CASE WHEN reach_p10 > 0 AND share_p10 > 0 THEN sqrt(
               (ln(predicted_reach / least(reach_p10, predicted_reach)) / interval_z) ^ 2
               + (ln(share / least(share_p10, share)) / $share_interval_z) ^ 2) END AS low_spread,
           sqrt((ln(greatest(reach_p90, predicted_reach) / predicted_reach) / interval_z) ^ 2
               + (ln(greatest(share_p90, share) / share) / $share_interval_z) ^ 2) AS high_spread
    FROM shares
    WHERE share > 0
),
checked AS (
    SELECT
        post_id, user_id, age_hours, snapshot_time, impressions, expectation_source, expected_impressions,
        COALESCE(expected_impressions * exp(-$band_z * low_spread), 0) AS expected_low,
        expected_impressions * exp($band_z * high_spread) AS expected_high
    FROM spreads
),
crossed AS (
    SELECT *,
           CASE WHEN impressions > expected_high THEN 'ahead'
                WHEN impressions < expected_low THEN 'behind' END AS direction
    FROM checked
)
SELECT
    post_id, user_id, age_hours, direction,
    impressions AS actual_impressions,
    expected_impressions, expected_low, expected_high, expectation_source, snapshot_time,
    $detected_at AS detected_at,
    CASE WHEN snapshot_time >= $newest_snapshot_time
                               - $send_within_hours * INTERVAL 1 HOUR
         THEN 'pending' ELSE 'too_old_to_send' END AS delivery_status,
    0 AS delivery_attempts
FROM crossed
WHERE direction IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ops.post_alerts AS a
                  WHERE a.post_id = crossed.post_id AND a.direction = crossed.direction)
QUALIFY row_number() OVER (PARTITION BY post_id, direction ORDER BY age_hours) = 1
