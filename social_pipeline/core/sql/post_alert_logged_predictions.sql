-- Expectations from predictions served for a draft that names its published post: the newest one.
SELECT
    post_id,
    predicted_reach::DOUBLE AS predicted_reach,
    reach_p10::DOUBLE AS reach_p10,
    reach_p90::DOUBLE AS reach_p90,
    'ml.predictions ' || prediction_id AS expectation_source,
    reach_model_version AS model_version
FROM ml.predictions
WHERE post_id IN (SELECT post_id FROM alert_candidates)
  AND predicted_reach IS NOT NULL AND reach_p10 IS NOT NULL AND reach_p90 IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY predicted_at DESC, prediction_id DESC) = 1
