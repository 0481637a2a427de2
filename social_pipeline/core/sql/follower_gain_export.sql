-- Each post's newest `New follows` from an export of X (raw.tweet_metrics.new_follows).
SELECT post_id, new_follows
FROM raw.tweet_metrics
WHERE new_follows IS NOT NULL AND COALESCE(status, 'ok') = 'ok'
QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY collected_at DESC) = 1
