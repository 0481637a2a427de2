-- ml.prediction_outcomes: each prediction whose post has settled, beside the actual outcome.
-- A prediction names its post (post_id), or is matched to the user's post with the same text
-- published within $match_window_hours of the scheduled time (the nearest one).
WITH by_id AS (
    SELECT p.prediction_id, t.post_id, 'post_id' AS match_method
    FROM ml.predictions AS p
    JOIN ml.training_dataset AS t ON t.post_id = p.post_id AND NOT t.is_synthetic
),
by_text AS (
    SELECT p.prediction_id, t.post_id, 'text_and_time' AS match_method
    FROM ml.predictions AS p
    JOIN raw.posts AS r
      ON r.user_id = p.user_id AND trim(r.text) = trim(p.post_text)
     AND abs(epoch(r.published_at) - epoch(p.scheduled_time)) <= $match_window_hours * 3600
    JOIN ml.training_dataset AS t ON t.post_id = r.post_id AND NOT t.is_synthetic
    WHERE p.post_id IS NULL
    QUALIFY row_number() OVER (PARTITION BY p.prediction_id
                               ORDER BY abs(epoch(r.published_at) - epoch(p.scheduled_time)), r.post_id) = 1
),
matched AS (SELECT * FROM by_id UNION ALL SELECT * FROM by_text)
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
JOIN ml.training_dataset AS t ON t.post_id = m.post_id
ORDER BY p.predicted_at, p.prediction_id
