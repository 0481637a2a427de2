-- ml.prediction_outcomes: each prediction whose post has settled, beside the actual outcome.
-- A prediction names its post (post_id), or is matched to the user's post with the same text
-- published within $match_window_hours of the scheduled time (the nearest one). A prediction
-- without a user_id is matched across all users, but only when exactly one post fits: a text
-- that two posts share in the window says nothing about which was predicted.
WITH by_id AS (
    SELECT p.prediction_id, t.post_id, 'post_id' AS match_method
    FROM ml.predictions AS p
    JOIN ml.training_dataset AS t ON t.post_id = p.post_id AND NOT t.is_synthetic
),
by_text AS (
    SELECT p.prediction_id, r.post_id,
           CASE WHEN p.user_id IS NULL THEN 'text_and_time_any_user' ELSE 'text_and_time' END AS match_method,
           p.user_id IS NULL AS any_user,
           count(*) OVER (PARTITION BY p.prediction_id) AS candidates
    FROM ml.predictions AS p
    JOIN raw.posts AS r
      ON (r.user_id = p.user_id OR p.user_id IS NULL) AND trim(r.text) = trim(p.post_text)
     AND abs(epoch(r.published_at) - epoch(p.scheduled_time)) <= $match_window_hours * 3600
    WHERE p.post_id IS NULL
    QUALIFY row_number() OVER (PARTITION BY p.prediction_id
                               ORDER BY abs(epoch(r.published_at) - epoch(p.scheduled_time)), r.post_id) = 1
),
matched AS (
    SELECT * FROM by_id
    UNION ALL
    SELECT prediction_id, post_id, match_method FROM by_text WHERE NOT any_user OR candidates = 1
)
SELECT
    p.prediction_id,
    m.post_id,
    m.match_method,
    p.predicted_at,
    t.published_at,
    p.reach_model_version,
    p.likes_model_version,
    p.predicted_reach,
    t.reach AS actual_reach,
    t.reach BETWEEN p.reach_p10 AND p.reach_p90 AS reach_inside_interval,
    p.predicted_likes,
    t.likes AS actual_likes,
    t.likes BETWEEN p.likes_p10 AND p.likes_p90 AS likes_inside_interval
FROM matched AS m
JOIN ml.predictions AS p USING (prediction_id)
-- Settled real posts only (a post not yet settled has no outcome).
JOIN ml.training_dataset AS t ON t.post_id = m.post_id AND NOT t.is_synthetic
ORDER BY p.predicted_at, p.prediction_id
