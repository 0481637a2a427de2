-- Posts whose latest report before $first_collection is deleted / protected / not_found (at one instant an
-- 'ok' report wins). Only reports from before this run: a re-run of the same partitions asks for the same
-- posts. Reads the posts that ever had such a report, and their 'ok' reports from the earliest of those on
-- ($reports_from, given by the caller so that the scan can skip older row groups), not the whole history.
WITH unavailable_reports AS (
    SELECT post_id, max(collected_at) AS reported_at
    FROM raw.tweet_metrics
    WHERE status <> 'ok' AND collected_at < $first_collection::TIMESTAMP
    GROUP BY post_id
),
later_ok AS (
    SELECT post_id, max(collected_at) AS ok_at
    FROM raw.tweet_metrics
    WHERE collected_at >= $reports_from::TIMESTAMP AND collected_at < $first_collection::TIMESTAMP
      AND COALESCE(status, 'ok') = 'ok'
      AND post_id IN (SELECT post_id FROM unavailable_reports)
    GROUP BY post_id
)
SELECT u.post_id
FROM unavailable_reports AS u
LEFT JOIN later_ok AS o USING (post_id)
WHERE o.ok_at IS NULL OR o.ok_at < u.reported_at
ORDER BY 1
