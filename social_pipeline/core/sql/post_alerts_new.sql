-- New rows of ops.post_alerts: each candidate (alert_candidates) against its expectation
-- (post_expectations: the reach predicted at $settle_age_hours with its p10-p90), scaled to the age by
-- the account's typical curve; the first age at which a post left the band in a direction it has
-- not been alerted in yet. An account without a curve (no post observed for a week) is not alerted.
WITH curve AS (
    SELECT user_id, age_hours, median_share_of_week_impressions AS share
    FROM analytics.account_lifecycle_curves
),
checked AS (
    SELECT
        c.post_id, c.user_id, c.age_hours, c.snapshot_time, c.impressions,
        e.expectation_source,
        e.predicted_reach * k.share / s.share AS expected_impressions,
        e.reach_p10 * k.share / s.share AS expected_low,
        e.reach_p90 * k.share / s.share AS expected_high
    FROM alert_candidates AS c
    JOIN post_expectations AS e USING (post_id)
    JOIN curve AS k ON k.user_id = c.user_id AND k.age_hours = c.age_hours
    JOIN curve AS s ON s.user_id = c.user_id AND s.age_hours = $settle_age_hours AND s.share > 0
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
