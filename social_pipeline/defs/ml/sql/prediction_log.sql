-- ml.predictions rows from the parsed log lines (temp table log_lines) not stored yet.
-- The id is named once in a CTE and the stored ones left out by NOT EXISTS: DuckDB 1.5.5 drops
-- `id IS NOT NULL` when it stands beside `id NOT IN (subquery)` before a QUALIFY, and inserted a NULL id.
WITH valid_lines AS (
    SELECT *, doc->'response'->>'prediction_id' AS line_prediction_id FROM log_lines WHERE is_valid
)
SELECT
    line_prediction_id AS prediction_id,
    (doc->'response'->>'predicted_at')::TIMESTAMPTZ AT TIME ZONE 'UTC' AS predicted_at,
    doc->'request'->>'user_id' AS user_id,
    doc->'request'->>'post_id' AS post_id,
    doc->'request'->>'post_text' AS post_text,
    -- The request's time as the model read it: a time without a zone is UTC (see prediction_request.py).
    COALESCE(
        try_cast(doc->'request'->>'scheduled_time' AS TIMESTAMPTZ) AT TIME ZONE 'UTC',
        (doc->'response'->>'predicted_at')::TIMESTAMPTZ AT TIME ZONE 'UTC'
    ) AS scheduled_time,
    (doc->'response'->>'predicted_reach')::BIGINT AS predicted_reach,
    (doc->'response'->>'predicted_likes')::BIGINT AS predicted_likes,
    (doc->'response'->'prediction_intervals'->'reach'->>'p10')::BIGINT AS reach_p10,
    (doc->'response'->'prediction_intervals'->'reach'->>'p90')::BIGINT AS reach_p90,
    (doc->'response'->'prediction_intervals'->'likes'->>'p10')::BIGINT AS likes_p10,
    (doc->'response'->'prediction_intervals'->'likes'->>'p90')::BIGINT AS likes_p90,
    doc->'response'->'model_versions'->>'reach_model' AS reach_model_version,
    doc->'response'->'model_versions'->>'likes_model' AS likes_model_version,
    doc->'request' AS request,
    doc->'response' AS response,
    source_file,
    now()::TIMESTAMP AS loaded_at
FROM valid_lines
WHERE line_prediction_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ml.predictions AS stored WHERE stored.prediction_id = valid_lines.line_prediction_id)
QUALIFY row_number() OVER (PARTITION BY line_prediction_id ORDER BY source_file) = 1
