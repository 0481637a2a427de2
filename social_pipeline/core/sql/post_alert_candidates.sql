-- Lifecycle rows to compare with their expectation: ages up to $alert_max_age_hours whose snapshot is
-- at most $max_snapshot_lag_hours and half the age older than the age (after a gap the figures are of
-- an earlier age; the first minutes' figures are too few to read), of posts not yet alerted in both
-- directions. With $recent_only, only snapshots of the last
-- $send_within_hours before the newest collection: older crossings are past acting on.
SELECT l.post_id, l.user_id, l.age_hours, l.snapshot_time, l.snapshot_age_hours, l.impressions
FROM analytics.post_lifecycle AS l
WHERE l.age_hours <= $alert_max_age_hours
  AND l.age_hours - l.snapshot_age_hours <= least($max_snapshot_lag_hours, 0.5 * l.age_hours)
  AND l.impressions IS NOT NULL
  AND (NOT $recent_only OR l.snapshot_time >= $newest_snapshot_time
                                               - $send_within_hours * INTERVAL 1 HOUR)
  AND (SELECT count(*) FROM ops.post_alerts AS a WHERE a.post_id = l.post_id) < 2
