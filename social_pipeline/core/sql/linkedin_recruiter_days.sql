-- One row per (LinkedIn account, day) of the recruiter figures LinkedIn's data archive gives:
-- new connections (Connections.csv's `Connected On`), invitations received (Invitations.csv,
-- direction incoming) and InMails received. The archive does not flag InMail, so the rule is: the
-- message that opens a conversation (its earliest, drafts left out) was received and carries a
-- subject. Ordinary messages have no subject; InMails (and recruiters' messages) do.
SELECT user_id, day,
       sum(new_connections)::BIGINT AS new_connections,
       sum(invitations_received)::BIGINT AS invitations_received,
       sum(inmails_received)::BIGINT AS inmails_received
FROM (
    SELECT user_id, connected_on AS day, 1 AS new_connections, 0 AS invitations_received, 0 AS inmails_received
    FROM raw.linkedin_connections
    UNION ALL
    SELECT user_id, sent_at::DATE, 0, 1, 0 FROM raw.linkedin_invitations WHERE direction = 'incoming'
    UNION ALL
    SELECT user_id, sent_at::DATE, 0, 0, 1
    FROM (
        SELECT user_id, sent_at, direction, subject
        FROM raw.linkedin_messages
        WHERE NOT COALESCE(is_draft, FALSE)
        QUALIFY row_number() OVER (PARTITION BY user_id, conversation_id ORDER BY sent_at, sender) = 1
    )
    WHERE direction = 'received' AND trim(COALESCE(subject, '')) <> ''
)
GROUP BY user_id, day
