-- New rows of ops.post_alerts: each candidate (alert_candidates) against its expectation
-- (post_expectations: the reach predicted at $settle_age_hours with its p10-p90), scaled by the
-- account's typical curve from the settle age to the snapshot's own age: the median share for the
-- expectation, the curve's 10th and 90th percentile share for the band's ends (a post may be early or
-- late as well as bigger or smaller). Between the curve's ages (and from 0 at publication) the shares
-- are read on the straight line. The first age at which a post left the band in a direction it has
-- not been alerted in yet; an account without a curve (no post observed for a week) is not alerted.
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
checked AS (
    SELECT
        c.post_id, c.user_id, c.age_hours, c.snapshot_time, c.impressions,
        e.expectation_source,
        e.predicted_reach * (c.lo_share + c.w * (c.hi_share - c.lo_share)) / s.share AS expected_impressions,
        e.reach_p10 * (c.lo_p10 + c.w * (c.hi_p10 - c.lo_p10)) / s.share AS expected_low,
        e.reach_p90 * (c.lo_p90 + c.w * (c.hi_p90 - c.lo_p90)) / s.share AS expected_high
    FROM scaled AS c
    JOIN post_expectations AS e USING (post_id)
    JOIN points AS s ON s.user_id = c.user_id AND s.age = $settle_age_hours AND s.share > 0
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
    CASE WHEN snapshot_time >= (SELECT max(snapshot_time) FROM analytics.post_snapshots)
                               - $send_within_hours * INTERVAL 1 HOUR
         THEN 'pending' ELSE 'too_old_to_send' END AS delivery_status,
    0 AS delivery_attempts
FROM crossed
WHERE direction IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ops.post_alerts AS a
                  WHERE a.post_id = crossed.post_id AND a.direction = crossed.direction)
QUALIFY row_number() OVER (PARTITION BY post_id, direction ORDER BY age_hours) = 1
