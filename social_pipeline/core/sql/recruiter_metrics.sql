-- analytics.recruiter_metrics as of each period_end in `periods`: sums over the closed days
-- before it (snapshot_date < as_of's date). Views for 7 and 30 days; the other counters over
-- 30 days. recruiter_engagements = InMails + recruiter messages. view_change_pct compares the
-- last 7 days with the 7 before and is NULL when those had no views.
SELECT
    user_id,
    as_of,
    profile_views_7d,
    profile_views_30d,
    connection_requests,
    inmails_received,
    recruiter_engagements,
    profile_saves,
    conversations_started,
    interviews_scheduled,
    estimated_recruiter_reach(profile_views_30d) AS estimated_recruiter_reach,
    CASE WHEN profile_views_prev_7d > 0
         THEN (profile_views_7d - profile_views_prev_7d) * 100.0 / profile_views_prev_7d END AS view_change_pct,
    profile_views_prev_7d
FROM (
    SELECT
        per.user_id,
        per.period_end AS as_of,
        COALESCE(sum(d.profile_views) FILTER (WHERE d.snapshot_date >= per.period_end::DATE - 7), 0)::BIGINT AS profile_views_7d,
        COALESCE(sum(d.profile_views) FILTER (WHERE d.snapshot_date < per.period_end::DATE - 7
                                               AND d.snapshot_date >= per.period_end::DATE - 14), 0)::BIGINT AS profile_views_prev_7d,
        COALESCE(sum(d.profile_views), 0)::BIGINT AS profile_views_30d,
        COALESCE(sum(d.connection_requests), 0)::BIGINT AS connection_requests,
        COALESCE(sum(d.inmails_received), 0)::BIGINT AS inmails_received,
        COALESCE(sum(COALESCE(d.inmails_received, 0) + COALESCE(d.recruiter_messages, 0)), 0)::BIGINT AS recruiter_engagements,
        COALESCE(sum(d.profile_saves), 0)::BIGINT AS profile_saves,
        COALESCE(sum(d.conversations_started), 0)::BIGINT AS conversations_started,
        COALESCE(sum(d.interviews_scheduled), 0)::BIGINT AS interviews_scheduled
    FROM periods AS per
    LEFT JOIN profile_days AS d
        ON d.user_id = per.user_id
       AND d.snapshot_date < per.period_end::DATE
       AND d.snapshot_date >= per.period_end::DATE - 30
    GROUP BY per.user_id, per.period_end
)
