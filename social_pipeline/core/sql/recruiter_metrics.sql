-- analytics.recruiter_metrics as of each period_end in `periods`: sums over the closed days
-- before it (day < as_of's date). Views for 7 and 30 days; the other counters over 30 days.
-- recruiter_engagements = InMails + recruiter messages. view_change_pct compares the last 7 days
-- with the 7 before and is NULL when those had no views.
-- Each figure has one source per account, named in its *_source column: new connections, invitations
-- received and InMails come from LinkedIn's data archive (linkedin_recruiter_days) once the account
-- has that archive file, else from the profile-activity file (profile_days); profile views, which
-- LinkedIn exports nowhere, only from the profile-activity file. NULL source: neither has it.
SELECT
    p.user_id,
    p.as_of,
    p.profile_views_7d,
    p.profile_views_30d,
    p.connection_requests,
    CASE WHEN s.messages_from_archive THEN a.inmails_received ELSE p.inmails_received END AS inmails_received,
    (CASE WHEN s.messages_from_archive THEN a.inmails_received ELSE p.inmails_received END)
        + p.recruiter_messages AS recruiter_engagements,
    p.profile_saves,
    p.conversations_started,
    p.interviews_scheduled,
    estimated_recruiter_reach(p.profile_views_30d) AS estimated_recruiter_reach,
    CASE WHEN p.profile_views_prev_7d > 0
         THEN (p.profile_views_7d - p.profile_views_prev_7d) * 100.0 / p.profile_views_prev_7d END AS view_change_pct,
    p.profile_views_prev_7d,
    CASE WHEN s.connections_from_archive THEN a.new_connections_7d ELSE p.connections_new_7d END AS new_connections_7d,
    CASE WHEN s.connections_from_archive THEN a.new_connections_30d ELSE p.connections_new_30d END AS new_connections_30d,
    CASE WHEN s.invitations_from_archive THEN a.invitations_received_7d
         ELSE p.connection_requests_7d END AS invitations_received_7d,
    CASE WHEN s.invitations_from_archive THEN a.invitations_received_30d
         ELSE p.connection_requests END AS invitations_received_30d,
    CASE WHEN s.has_profile_file THEN 'profile_activity' END AS profile_views_source,
    CASE WHEN s.connections_from_archive THEN 'linkedin_archive'
         WHEN s.has_profile_file THEN 'profile_activity' END AS connections_source,
    CASE WHEN s.invitations_from_archive THEN 'linkedin_archive'
         WHEN s.has_profile_file THEN 'profile_activity' END AS invitations_source,
    CASE WHEN s.messages_from_archive THEN 'linkedin_archive'
         WHEN s.has_profile_file THEN 'profile_activity' END AS inmails_source
FROM (
    SELECT
        per.user_id,
        per.period_end AS as_of,
        COALESCE(sum(d.profile_views) FILTER (WHERE d.snapshot_date >= per.period_end::DATE - 7), 0)::BIGINT AS profile_views_7d,
        COALESCE(sum(d.profile_views) FILTER (WHERE d.snapshot_date < per.period_end::DATE - 7
                                               AND d.snapshot_date >= per.period_end::DATE - 14), 0)::BIGINT AS profile_views_prev_7d,
        COALESCE(sum(d.profile_views), 0)::BIGINT AS profile_views_30d,
        COALESCE(sum(d.connection_requests), 0)::BIGINT AS connection_requests,
        COALESCE(sum(d.connection_requests) FILTER (WHERE d.snapshot_date >= per.period_end::DATE - 7), 0)::BIGINT
            AS connection_requests_7d,
        COALESCE(sum(d.connections_new) FILTER (WHERE d.snapshot_date >= per.period_end::DATE - 7), 0)::BIGINT
            AS connections_new_7d,
        COALESCE(sum(d.connections_new), 0)::BIGINT AS connections_new_30d,
        COALESCE(sum(d.inmails_received), 0)::BIGINT AS inmails_received,
        COALESCE(sum(d.recruiter_messages), 0)::BIGINT AS recruiter_messages,
        COALESCE(sum(d.profile_saves), 0)::BIGINT AS profile_saves,
        COALESCE(sum(d.conversations_started), 0)::BIGINT AS conversations_started,
        COALESCE(sum(d.interviews_scheduled), 0)::BIGINT AS interviews_scheduled
    FROM periods AS per
    LEFT JOIN profile_days AS d
        ON d.user_id = per.user_id
       AND d.snapshot_date < per.period_end::DATE
       AND d.snapshot_date >= per.period_end::DATE - 30
    GROUP BY per.user_id, per.period_end
) AS p
JOIN (
    SELECT
        per.user_id,
        per.period_end AS as_of,
        COALESCE(sum(l.new_connections) FILTER (WHERE l.day >= per.period_end::DATE - 7), 0)::BIGINT AS new_connections_7d,
        COALESCE(sum(l.new_connections), 0)::BIGINT AS new_connections_30d,
        COALESCE(sum(l.invitations_received) FILTER (WHERE l.day >= per.period_end::DATE - 7), 0)::BIGINT
            AS invitations_received_7d,
        COALESCE(sum(l.invitations_received), 0)::BIGINT AS invitations_received_30d,
        COALESCE(sum(l.inmails_received), 0)::BIGINT AS inmails_received
    FROM periods AS per
    LEFT JOIN linkedin_recruiter_days AS l
        ON l.user_id = per.user_id
       AND l.day < per.period_end::DATE
       AND l.day >= per.period_end::DATE - 30
    GROUP BY per.user_id, per.period_end
) AS a USING (user_id, as_of)
JOIN (
    SELECT DISTINCT
        per.user_id,
        EXISTS (SELECT 1 FROM raw.linkedin_connections AS c WHERE c.user_id = per.user_id) AS connections_from_archive,
        EXISTS (SELECT 1 FROM raw.linkedin_invitations AS i WHERE i.user_id = per.user_id) AS invitations_from_archive,
        EXISTS (SELECT 1 FROM raw.linkedin_messages AS m WHERE m.user_id = per.user_id) AS messages_from_archive,
        EXISTS (SELECT 1 FROM profile_days AS f WHERE f.user_id = per.user_id) AS has_profile_file
    FROM periods AS per
) AS s USING (user_id)
