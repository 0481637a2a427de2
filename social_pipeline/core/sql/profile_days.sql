-- One row per (user, platform, day) of raw.profile_activity: when two sources reported the
-- same day (the simulated source and a CSV export, say), the latest ingested row wins.
SELECT *
FROM raw.profile_activity
QUALIFY row_number() OVER (
    PARTITION BY user_id, platform, snapshot_date
    ORDER BY ingested_at DESC NULLS LAST, source_file
) = 1
