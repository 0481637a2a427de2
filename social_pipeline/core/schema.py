"""The warehouse schema: the one module that names every table and column.

Tables are created with CREATE TABLE IF NOT EXISTS and later columns are added with
ALTER TABLE ... ADD COLUMN IF NOT EXISTS, so an older warehouse file migrates in place.
All timestamps are naive UTC `TIMESTAMP`; ids are VARCHAR.
"""

from __future__ import annotations

from .metrics import MACROS_SQL

TABLES: dict[str, list[tuple[str, str]]] = {
    "raw.posts": [
        ("post_id", "VARCHAR NOT NULL"),
        ("user_id", "VARCHAR NOT NULL"),
        ("text", "VARCHAR"),
        ("content_type", "VARCHAR"),
        ("media_type", "VARCHAR"),
        ("num_media_items", "INTEGER"),
        ("published_at", "TIMESTAMP NOT NULL"),
        # False when a source gives only the date (X's newer export): hour-based analytics skip it.
        ("published_time_known", "BOOLEAN DEFAULT TRUE"),
        ("source", "VARCHAR NOT NULL"),
        ("ingested_at", "TIMESTAMP NOT NULL"),
    ],
    "raw.tweet_metrics": [
        ("post_id", "VARCHAR NOT NULL"),
        ("collected_at", "TIMESTAMP NOT NULL"),
        ("impressions", "BIGINT"),
        ("likes", "BIGINT"),
        ("retweets", "BIGINT"),
        ("replies", "BIGINT"),
        ("quotes", "BIGINT"),
        ("bookmarks", "BIGINT"),
        ("url_clicks", "BIGINT"),
        ("profile_clicks", "BIGINT"),
        ("media_views", "BIGINT"),
        ("source", "VARCHAR NOT NULL"),
        ("payload", "JSON"),
        # ok | deleted | protected | not_found: a post the source reported as unavailable.
        ("status", "VARCHAR DEFAULT 'ok'"),
        # The hourly collection partition that wrote the row; a re-run replaces exactly these.
        ("partition_key", "VARCHAR"),
        # When the row was written: post_snapshots refreshes what changed since its last run.
        ("written_at", "TIMESTAMP"),
    ],
    "raw.account_snapshots": [
        ("user_id", "VARCHAR NOT NULL"),
        ("collected_at", "TIMESTAMP NOT NULL"),
        ("followers", "BIGINT"),
        ("following", "BIGINT"),
        ("post_count", "BIGINT"),
        ("source", "VARCHAR"),
    ],
    "raw.profile_activity": [
        ("user_id", "VARCHAR NOT NULL"),
        ("platform", "VARCHAR NOT NULL"),
        ("snapshot_date", "DATE NOT NULL"),
        ("profile_views", "BIGINT"),
        ("connections_new", "BIGINT"),
        ("connection_requests", "BIGINT"),
        ("search_appearances", "BIGINT"),
        ("inmails_received", "BIGINT"),
        ("recruiter_messages", "BIGINT"),
        ("profile_saves", "BIGINT"),
        ("conversations_started", "BIGINT"),
        ("interviews_scheduled", "BIGINT"),
        ("source_file", "VARCHAR"),
        ("ingested_at", "TIMESTAMP"),
    ],
    "analytics.post_snapshots": [
        ("post_id", "VARCHAR NOT NULL"),
        ("user_id", "VARCHAR NOT NULL"),
        ("snapshot_time", "TIMESTAMP NOT NULL"),
        ("hours_since_published", "DOUBLE"),
        ("impressions", "BIGINT"),
        ("likes", "BIGINT"),
        ("retweets", "BIGINT"),
        ("replies", "BIGINT"),
        ("quotes", "BIGINT"),
        ("engagements", "BIGINT"),
        ("engagement_rate_pct", "DOUBLE"),
        ("weighted_engagement_score", "DOUBLE"),
        ("source", "VARCHAR"),
        ("partition_key", "VARCHAR"),
        ("source_written_at", "TIMESTAMP"),
        # NULL for plausible figures; else why the rate, kept as the formula gives it, is implausible:
        # engagements_exceed_impressions (rate above 100%: a repost's counts, a miscounted old post) |
        # engagements_without_impressions (engagements on 0 impressions: X did not count views then).
        # The check engagement_rates_plausible names these posts; filter on `IS NULL` to leave them out.
        ("engagement_rate_flag", "VARCHAR"),
    ],
    # Written by the weekly `analytics` assets (assets/reporting.py); one row per user and week.
    "analytics.user_summary": [
        ("user_id", "VARCHAR NOT NULL"),
        ("period_start", "TIMESTAMP NOT NULL"),
        ("period_end", "TIMESTAMP NOT NULL"),
        ("total_posts", "BIGINT"),
        ("total_impressions", "BIGINT"),
        ("total_engagements", "BIGINT"),
        ("avg_engagement_rate_pct", "DOUBLE"),
        ("best_post_id", "VARCHAR"),
        ("worst_post_id", "VARCHAR"),
        ("content_types_used", "BIGINT"),
    ],
    "analytics.engagement_by_content_type": [
        ("user_id", "VARCHAR NOT NULL"),
        ("period_start", "TIMESTAMP NOT NULL"),
        ("period_end", "TIMESTAMP NOT NULL"),
        ("content_type", "VARCHAR NOT NULL"),
        ("posts", "BIGINT"),
        ("impressions", "BIGINT"),
        ("engagements", "BIGINT"),
        ("avg_engagement_rate_pct", "DOUBLE"),
    ],
    "analytics.best_posting_times": [
        ("user_id", "VARCHAR NOT NULL"),
        ("rank", "INTEGER NOT NULL"),
        ("day_of_week", "INTEGER NOT NULL"),
        ("day_name", "VARCHAR"),
        ("hour", "INTEGER NOT NULL"),
        ("avg_engagement_rate_pct", "DOUBLE"),
        ("posts_count", "BIGINT"),
        ("total_impressions", "BIGINT"),
        ("total_engagements", "BIGINT"),
        ("window_start", "TIMESTAMP NOT NULL"),
        ("window_end", "TIMESTAMP NOT NULL"),
    ],
    "analytics.recruiter_metrics": [
        ("user_id", "VARCHAR NOT NULL"),
        ("as_of", "TIMESTAMP NOT NULL"),
        ("profile_views_7d", "BIGINT"),
        ("profile_views_30d", "BIGINT"),
        ("connection_requests", "BIGINT"),
        ("inmails_received", "BIGINT"),
        ("recruiter_engagements", "BIGINT"),
        ("profile_saves", "BIGINT"),
        ("conversations_started", "BIGINT"),
        ("interviews_scheduled", "BIGINT"),
        ("estimated_recruiter_reach", "BIGINT"),
        ("view_change_pct", "DOUBLE"),
        ("profile_views_prev_7d", "BIGINT"),
    ],
    "analytics.weekly_reports": [
        ("user_id", "VARCHAR NOT NULL"),
        ("week_start", "DATE NOT NULL"),
        ("generated_at", "TIMESTAMP NOT NULL"),
        ("report_json", "JSON"),
        ("report_markdown", "VARCHAR"),
        ("markdown_path", "VARCHAR"),
        ("html_path", "VARCHAR"),
    ],
    # Written by the `ml` assets (assets/ml.py): one row per post whose outcome has settled.
    # Every feature is known at publish time; targets are the figures at the settle age.
    "ml.training_dataset": [
        ("post_id", "VARCHAR NOT NULL"),
        ("user_id", "VARCHAR NOT NULL"),
        ("published_at", "TIMESTAMP"),
        # Rows from the notebook's generator for a cold-start user; never evaluated, never shown as real.
        ("is_synthetic", "BOOLEAN NOT NULL"),
        ("content_type", "VARCHAR"),
        ("source", "VARCHAR"),
        ("post_text_len", "BIGINT"),
        ("post_text_words", "BIGINT"),
        ("hour", "INTEGER"),
        ("daypart", "VARCHAR"),
        ("day_of_week", "INTEGER"),
        ("num_hashtags", "BIGINT"),
        ("num_mentions", "BIGINT"),
        ("num_emojis", "BIGINT"),
        ("has_link", "BIGINT"),
        ("media_type", "VARCHAR"),
        ("num_media_items", "BIGINT"),
        ("user_followers", "BIGINT"),
        # Mean engagement rate (ratio) of the user's posts whose outcome had settled by publish time.
        ("user_avg_engagement_rate", "DOUBLE"),
        ("user_settled_posts", "BIGINT"),
        ("reach", "BIGINT"),
        ("likes", "BIGINT"),
        ("engagement_rate", "DOUBLE"),
        # The user's trailing mean of each target over the same settled posts: the baseline, and the
        # level the models predict relative to (core/models.py).
        ("user_avg_reach", "DOUBLE"),
        ("user_avg_likes", "DOUBLE"),
        ("settled_snapshot_time", "TIMESTAMP"),
        ("settle_age_hours", "DOUBLE"),
        ("built_at", "TIMESTAMP NOT NULL"),
    ],
    # One row per trained model version; the newest promoted row per model_name is the one served.
    "ml.model_registry": [
        ("model_name", "VARCHAR NOT NULL"),
        ("version", "VARCHAR NOT NULL"),
        ("target", "VARCHAR NOT NULL"),
        ("artifact_path", "VARCHAR NOT NULL"),
        ("trained_at", "TIMESTAMP NOT NULL"),
        ("n_train", "BIGINT"),
        ("n_synthetic_train", "BIGINT"),
        ("n_test", "BIGINT"),
        ("test_published_from", "TIMESTAMP"),
        # The newest settled outcome in the training data: the retrain sensor counts labels after it.
        ("labelled_through", "TIMESTAMP"),
        # Held-out figures: r2, rmse, mae, the baseline's (baseline_r2, ...), p10-p90 interval_coverage,
        # and previous_version with its figures on the same held-out posts (previous_rmse, ...).
        ("metrics", "JSON"),
        ("previous_version", "VARCHAR"),
        ("params", "JSON"),
        # Passed the model checks' criteria at training (beats the baseline, not worse than the
        # previous model): only promoted versions are served. NULL: registered before this column.
        ("promoted", "BOOLEAN"),
    ],
    # Every served prediction (from the prediction log files), with its request, response and models.
    "ml.predictions": [
        ("prediction_id", "VARCHAR NOT NULL"),
        ("predicted_at", "TIMESTAMP NOT NULL"),
        ("user_id", "VARCHAR"),
        ("post_id", "VARCHAR"),
        ("post_text", "VARCHAR"),
        ("scheduled_time", "TIMESTAMP"),
        ("predicted_reach", "BIGINT"),
        ("predicted_likes", "BIGINT"),
        ("reach_p10", "BIGINT"),
        ("reach_p90", "BIGINT"),
        ("likes_p10", "BIGINT"),
        ("likes_p90", "BIGINT"),
        ("reach_model_version", "VARCHAR"),
        ("likes_model_version", "VARCHAR"),
        ("request", "JSON"),
        ("response", "JSON"),
        ("source_file", "VARCHAR"),
        ("loaded_at", "TIMESTAMP"),
    ],
    # Predictions whose post has been published and settled, beside the actual outcome.
    "ml.prediction_outcomes": [
        ("prediction_id", "VARCHAR NOT NULL"),
        ("post_id", "VARCHAR NOT NULL"),
        ("match_method", "VARCHAR NOT NULL"),  # post_id | text_and_time | text_and_time_any_user
        ("predicted_at", "TIMESTAMP"),
        ("published_at", "TIMESTAMP"),
        ("reach_model_version", "VARCHAR"),
        ("likes_model_version", "VARCHAR"),
        ("predicted_reach", "BIGINT"),
        ("actual_reach", "BIGINT"),
        ("reach_inside_interval", "BOOLEAN"),
        ("predicted_likes", "BIGINT"),
        ("actual_likes", "BIGINT"),
        ("likes_inside_interval", "BOOLEAN"),
    ],
    # One row per dropped file whose content was ingested: the same content is never ingested twice.
    "ops.ingested_files": [
        ("content_sha256", "VARCHAR NOT NULL"),
        ("file_name", "VARCHAR NOT NULL"),
        ("path", "VARCHAR"),
        ("kind", "VARCHAR NOT NULL"),  # x_export_classic | x_export_content | profile_activity
        ("rows", "BIGINT"),
        # The time the file's cumulative figures stand for (X exports only; see core/exports.py).
        ("snapshot_time", "TIMESTAMP"),
        ("partition_key", "VARCHAR"),
        ("ingested_at", "TIMESTAMP NOT NULL"),
        # Rows against what was stored: first seen, with other figures (written), the same (not written).
        ("rows_new", "BIGINT"),
        ("rows_updated", "BIGINT"),
        ("rows_unchanged", "BIGINT"),
    ],
}

SCHEMAS = ("raw", "analytics", "ml", "ops")


def create_statements() -> list[str]:
    statements = [f"CREATE SCHEMA IF NOT EXISTS {schema}" for schema in SCHEMAS]
    for table, columns in TABLES.items():
        body = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
        # Migrates an older file; DuckDB cannot add a NOT NULL column to existing rows.
        for name, sql_type in columns:
            loose_type = sql_type.replace(" NOT NULL", "")
            statements.append(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {loose_type}")
    statements.extend(s.strip() for s in MACROS_SQL.split(";") if s.strip())
    return statements


def column_names(table: str) -> list[str]:
    return [name for name, _ in TABLES[table]]
