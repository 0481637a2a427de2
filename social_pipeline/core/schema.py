"""The warehouse schema: the one module that names every table and column.

Tables are created with CREATE TABLE IF NOT EXISTS and later columns are added with
ALTER TABLE ... ADD COLUMN IF NOT EXISTS, so an older warehouse file migrates in place.
The file records the schema_version() it was last brought to (ops.schema_version), so the
statements run only when the schema in code has changed since.
All timestamps are naive UTC `TIMESTAMP`; ids are VARCHAR.
"""

from __future__ import annotations

import hashlib

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
        ("network", "VARCHAR NOT NULL DEFAULT 'x'"),
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
        ("network", "VARCHAR NOT NULL DEFAULT 'x'"),
        ("new_follows", "BIGINT"),
        # A total from a source that does not split likes, reposts and replies (LinkedIn's TOP POSTS).
        ("engagements", "BIGINT"),
    ],
    "raw.account_snapshots": [
        ("user_id", "VARCHAR NOT NULL"),
        ("collected_at", "TIMESTAMP NOT NULL"),
        ("followers", "BIGINT"),
        ("following", "BIGINT"),
        ("post_count", "BIGINT"),
        ("source", "VARCHAR"),
        ("network", "VARCHAR NOT NULL DEFAULT 'x'"),
    ],
    # One row per account: its IANA time zone (SOCIAL_PIPELINE_ACCOUNT_TIMEZONES, UTC by default), in which
    # best times, reports and model hours are read. An account without a row is read in UTC.
    "raw.accounts": [
        ("user_id", "VARCHAR NOT NULL"),
        ("timezone", "VARCHAR NOT NULL"),  # IANA name, e.g. Europe/Berlin; DuckDB's ICU applies its DST rules
        ("source", "VARCHAR"),
        ("updated_at", "TIMESTAMP NOT NULL"),
    ],
    # A raw_posts run whose fetch failed after some timeline pages were stored: until a run succeeds,
    # the next one fetches again from fetched_from, so posts older than the stored pages are not skipped.
    "ops.unfinished_post_fetches": [
        ("source", "VARCHAR NOT NULL"),
        ("fetched_from", "TIMESTAMP NOT NULL"),
        ("posts_kept", "BIGINT"),
        ("problem", "VARCHAR"),
        ("failed_at", "TIMESTAMP NOT NULL"),
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
    # LinkedIn's own downloads (core/linkedin_exports.py), for the account the file was ingested for.
    # Rows are only added: a row equal to a stored one on every column but source_file and ingested_at
    # is not written again, so re-ingesting an archive adds nothing and a newer one only its new rows.
    "raw.linkedin_connections": [
        ("user_id", "VARCHAR NOT NULL"),
        ("first_name", "VARCHAR"),
        ("last_name", "VARCHAR"),
        ("profile_url", "VARCHAR"),
        ("email_address", "VARCHAR"),
        ("company", "VARCHAR"),
        ("position", "VARCHAR"),
        ("connected_on", "DATE NOT NULL"),
        ("source_file", "VARCHAR"),
        ("ingested_at", "TIMESTAMP"),
    ],
    "raw.linkedin_messages": [
        ("user_id", "VARCHAR NOT NULL"),
        ("conversation_id", "VARCHAR NOT NULL"),
        ("conversation_title", "VARCHAR"),
        ("sender", "VARCHAR"),
        ("sender_profile_url", "VARCHAR"),
        ("recipients", "VARCHAR"),
        ("recipient_profile_urls", "VARCHAR"),
        ("sent_at", "TIMESTAMP NOT NULL"),
        ("subject", "VARCHAR"),
        ("content", "VARCHAR"),
        ("folder", "VARCHAR"),
        ("is_draft", "BOOLEAN"),
        ("direction", "VARCHAR"),  # received | sent
        ("source_file", "VARCHAR"),
        ("ingested_at", "TIMESTAMP"),
    ],
    "raw.linkedin_invitations": [
        ("user_id", "VARCHAR NOT NULL"),
        ("sender", "VARCHAR"),
        ("recipient", "VARCHAR"),
        ("sent_at", "TIMESTAMP NOT NULL"),
        ("message", "VARCHAR"),
        ("direction", "VARCHAR NOT NULL"),  # incoming | outgoing
        ("inviter_profile_url", "VARCHAR"),
        ("invitee_profile_url", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("ingested_at", "TIMESTAMP"),
    ],
    # A post's figures from each workbook that showed other figures than the latest stored (a time series).
    "raw.linkedin_post_metrics": [
        ("user_id", "VARCHAR NOT NULL"),
        ("post_url", "VARCHAR NOT NULL"),
        ("published_on", "DATE"),
        ("collected_at", "TIMESTAMP NOT NULL"),
        ("impressions", "BIGINT"),
        ("engagements", "BIGINT"),
        ("source_file", "VARCHAR"),
        ("ingested_at", "TIMESTAMP"),
    ],
    # One row per account and day; a newer workbook replaces the days it covers.
    "raw.linkedin_daily": [
        ("user_id", "VARCHAR NOT NULL"),
        ("day", "DATE NOT NULL"),
        ("impressions", "BIGINT"),
        ("engagements", "BIGINT"),
        ("new_followers", "BIGINT"),
        ("total_followers", "BIGINT"),
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
        ("network", "VARCHAR NOT NULL DEFAULT 'x'"),
        ("engagement_basis", "VARCHAR"),
    ],
    # Written with post_snapshots (core/metric_drops.py): the snapshots whose cumulative figures fell.
    "analytics.post_metric_drops": [
        ("post_id", "VARCHAR NOT NULL"),
        ("snapshot_time", "TIMESTAMP NOT NULL"),
        ("metrics_dropped", "VARCHAR NOT NULL"),
    ],
    # Written by post_lifecycle (defs/analytics/lifecycle.py): a post at the ages of core/lifecycle.py.
    "analytics.post_lifecycle": [
        ("post_id", "VARCHAR NOT NULL"),
        ("user_id", "VARCHAR NOT NULL"),
        ("age_hours", "INTEGER NOT NULL"),
        ("snapshot_time", "TIMESTAMP NOT NULL"),
        ("snapshot_age_hours", "DOUBLE NOT NULL"),
        ("impressions", "BIGINT"),
        ("engagements", "BIGINT"),
        # What the row was computed from: a post whose snapshots differ from these is recomputed.
        ("snapshots_used", "BIGINT NOT NULL"),
        ("source_written_at", "TIMESTAMP"),
        ("observed_through_hours", "DOUBLE NOT NULL"),
        ("half_life_hours", "DOUBLE"),
    ],
    "analytics.account_lifecycle_curves": [
        ("user_id", "VARCHAR NOT NULL"),
        ("age_hours", "INTEGER NOT NULL"),
        ("median_share_of_week_impressions", "DOUBLE NOT NULL"),
        ("posts", "BIGINT NOT NULL"),
        ("half_life_hours", "DOUBLE"),
        ("p10_share_of_week_impressions", "DOUBLE"),
        ("p90_share_of_week_impressions", "DOUBLE"),
    ],
    # Written by post_follower_gain (defs/analytics/follower_gain.py): rebuilt whole each run.
    "analytics.post_follower_gain": [
        ("post_id", "VARCHAR NOT NULL"),
        ("user_id", "VARCHAR NOT NULL"),
        ("published_at", "TIMESTAMP NOT NULL"),
        ("followers_gained", "DOUBLE"),
        ("method", "VARCHAR NOT NULL"),  # x_export_new_follows | account_snapshots
        ("followers_before", "BIGINT"),
        ("followers_after", "BIGINT"),
        ("window_hours", "DOUBLE"),
        ("baseline_hourly_gain", "DOUBLE"),
    ],
    # Written by the weekly `analytics` assets (defs/analytics/assets.py); one row per user and week.
    "analytics.user_summary": [
        ("user_id", "VARCHAR NOT NULL"),
        ("network", "VARCHAR NOT NULL DEFAULT 'x'"),
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
        ("network", "VARCHAR NOT NULL DEFAULT 'x'"),
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
        ("network", "VARCHAR NOT NULL DEFAULT 'x'"),
        ("rank", "INTEGER NOT NULL"),
        ("day_of_week_local", "INTEGER NOT NULL"),
        ("day_name", "VARCHAR"),
        ("hour_local", "INTEGER NOT NULL"),
        ("avg_engagement_rate_pct", "DOUBLE"),
        ("posts_count", "BIGINT"),
        ("total_impressions", "BIGINT"),
        ("total_engagements", "BIGINT"),
        ("window_start", "TIMESTAMP NOT NULL"),
        # The account's IANA zone, in which day_of_week_local and hour_local are read (UTC by default).
        ("timezone", "VARCHAR"),
        # The UTC hour in which the local slot starts under the offset in force at window_end.
        ("hour_utc", "INTEGER"),
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
        ("new_connections_7d", "BIGINT"),
        ("new_connections_30d", "BIGINT"),
        ("invitations_received_7d", "BIGINT"),
        ("invitations_received_30d", "BIGINT"),
        # Where each figure came from: linkedin_archive | profile_activity | NULL (no source for the account).
        ("profile_views_source", "VARCHAR"),
        ("connections_source", "VARCHAR"),
        ("invitations_source", "VARCHAR"),
        ("inmails_source", "VARCHAR"),
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
    # Written by the `ml` assets (defs/ml/assets.py): one row per post whose outcome has settled.
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
        # The account's IANA zone, in which hour, daypart and day_of_week are read (UTC by default).
        ("timezone", "VARCHAR"),
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
        # level the models predict relative to (core/models/training.py).
        ("user_avg_reach", "DOUBLE"),
        ("user_avg_likes", "DOUBLE"),
        ("settled_snapshot_time", "TIMESTAMP"),
        ("settle_age_hours", "DOUBLE"),
        ("built_at", "TIMESTAMP NOT NULL"),
        # x or bluesky; a Bluesky row has likes and no reach (reach NULL, engagement_basis followers).
        ("network", "VARCHAR NOT NULL DEFAULT 'x'"),
        ("engagement_basis", "VARCHAR"),
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
    # Early alerts (defs/ops/alerts.py): a young post that left its expected band, once per direction.
    "ops.post_alerts": [
        ("post_id", "VARCHAR NOT NULL"),
        ("user_id", "VARCHAR NOT NULL"),
        ("age_hours", "INTEGER NOT NULL"),
        ("direction", "VARCHAR NOT NULL"),  # ahead | behind
        ("actual_impressions", "BIGINT NOT NULL"),
        ("expected_impressions", "DOUBLE"),
        ("expected_low", "DOUBLE NOT NULL"),
        ("expected_high", "DOUBLE NOT NULL"),
        ("expectation_source", "VARCHAR NOT NULL"),
        ("snapshot_time", "TIMESTAMP NOT NULL"),
        ("detected_at", "TIMESTAMP NOT NULL"),
        # pending | sent | failed | no_channel | too_old_to_send
        ("delivery_status", "VARCHAR NOT NULL"),
        ("delivery_attempts", "INTEGER NOT NULL"),
        ("last_error", "VARCHAR"),
        ("webhook_sent_at", "TIMESTAMP"),
        ("email_sent_at", "TIMESTAMP"),
        ("sent_at", "TIMESTAMP"),
    ],
    # One row per dropped file whose content was ingested: the same content is never ingested twice.
    "ops.ingested_files": [
        ("content_sha256", "VARCHAR NOT NULL"),
        ("file_name", "VARCHAR NOT NULL"),
        ("path", "VARCHAR"),
        ("kind", "VARCHAR NOT NULL"),  # x_export_classic | x_export_content | profile_activity | linkedin_*
        ("rows", "BIGINT"),
        # The time the file's cumulative figures stand for (X exports only; see core/exports.py).
        ("snapshot_time", "TIMESTAMP"),
        ("partition_key", "VARCHAR"),
        ("ingested_at", "TIMESTAMP NOT NULL"),
        # Rows against what was stored: first seen, with other figures (written), the same (not written).
        ("rows_new", "BIGINT"),
        ("rows_updated", "BIGINT"),
        ("rows_unchanged", "BIGINT"),
        # The file's own time (its modification time, never after ingestion): which of two downloads is older.
        ("file_modified_at", "TIMESTAMP"),
    ],
    # What the X API read, per run: the key (day, endpoint, user_id, read_kind, run_id) makes a rewrite of
    # the same run replace its rows; the budget sums the day's and the month's rows of every run.
    "ops.x_api_usage": [
        ("day", "DATE NOT NULL"),
        ("endpoint", "VARCHAR NOT NULL"),
        ("user_id", "VARCHAR NOT NULL"),
        ("read_kind", "VARCHAR NOT NULL"),
        ("run_id", "VARCHAR NOT NULL"),
        ("request_count", "BIGINT NOT NULL"),
        ("resources", "BIGINT NOT NULL"),
        ("estimated_usd", "DOUBLE NOT NULL"),
        ("recorded_at", "TIMESTAMP NOT NULL"),
    ],
    # Written by post_snapshots, read and emptied by the tables built from it (post_performance, post_lifecycle):
    # the posts whose snapshots a run rewrote, so a table refreshes those alone without comparing whole histories.
    "ops.post_refresh_queue": [
        ("table_name", "VARCHAR NOT NULL"),
        ("post_id", "VARCHAR NOT NULL"),
        ("queued_at", "TIMESTAMP NOT NULL"),
        ("snapshot_time_from", "TIMESTAMP"),
        ("earliest_snapshot_time", "TIMESTAMP"),
    ],
    # Written by post_snapshots (core/snapshot_collections.py): one row per raw collection it has read.
    "ops.post_snapshot_collections": [
        ("partition_key", "VARCHAR NOT NULL"),
        ("raw_rows", "BIGINT NOT NULL"),
        ("snapshot_rows", "BIGINT NOT NULL"),
    ],
    # Written by post_follower_gain (core/follower_gain.py): what it has read of the follower figures, so an
    # hourly run reads only the new figures and the posts whose 24 h are still open.
    "ops.follower_gain_inputs": [
        ("snapshot_rows", "BIGINT NOT NULL"),
        ("snapshot_hash", "BIGINT NOT NULL"),
        ("newest_collected_at", "TIMESTAMP NOT NULL"),
    ],
    "ops.follower_last_snapshots": [
        ("user_id", "VARCHAR NOT NULL"),
        ("collected_at", "TIMESTAMP NOT NULL"),
        ("followers", "BIGINT NOT NULL"),
    ],
    "ops.follower_steps": [
        ("user_id", "VARCHAR NOT NULL"),
        ("gain", "BIGINT NOT NULL"),
        ("steps", "BIGINT NOT NULL"),
        ("steps_with_post", "BIGINT NOT NULL"),
    ],
    "ops.follower_post_windows": [
        ("post_id", "VARCHAR NOT NULL"),
        ("user_id", "VARCHAR NOT NULL"),
        ("published_at", "TIMESTAMP NOT NULL"),
        ("before_at", "TIMESTAMP"),
        ("followers_before", "BIGINT"),
        ("next_at", "TIMESTAMP"),
        ("followers_next", "BIGINT"),
        ("after_at", "TIMESTAMP"),
        ("followers_after", "BIGINT"),
    ],
    # One row: the schema_version() the file was last created or migrated to.
    "ops.schema_version": [
        ("version", "VARCHAR NOT NULL"),
        ("applied_at", "TIMESTAMP NOT NULL"),
    ],
}

SCHEMAS = ("raw", "analytics", "ml", "ops")

# Columns renamed in code: {table: {old name: new name}}. An older file's column is renamed with its
# rows before the statements above add what is missing, so no old NOT NULL column blocks new rows.
RENAMED_COLUMNS: dict[str, dict[str, str]] = {
    "analytics.best_posting_times": {"day_of_week": "day_of_week_local", "hour": "hour_local", "utc_hour": "hour_utc"},
}


def rename_old_columns(con) -> None:
    """Apply RENAMED_COLUMNS to the tables that still have an old name (a new file has none). Where both
    names exist the old column goes: the new one is the one the code writes."""
    existing: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database()"
    ).fetchall():
        existing.setdefault(table, set()).add(column)
    for table, renames in RENAMED_COLUMNS.items():
        for old, new in renames.items():
            if old not in existing.get(table, set()):
                continue
            if new in existing[table]:
                con.execute(f"ALTER TABLE {table} DROP COLUMN {old}")
            else:
                con.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")


def create_table_statement(table: str) -> str:
    body = ", ".join(f"{name} {sql_type}" for name, sql_type in TABLES[table])
    return f"CREATE TABLE IF NOT EXISTS {table} ({body})"


def add_column_statement(table: str, name: str, sql_type: str) -> str:
    # Migrates an older warehouse; DuckDB cannot add a NOT NULL column to existing rows.
    return f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {sql_type.replace(' NOT NULL', '')}"


def create_statements() -> list[str]:
    statements = [f"CREATE SCHEMA IF NOT EXISTS {schema}" for schema in SCHEMAS]
    for table, columns in TABLES.items():
        statements.append(create_table_statement(table))
        statements.extend(add_column_statement(table, name, sql_type) for name, sql_type in columns)
    statements.extend(s.strip() for s in MACROS_SQL.split(";") if s.strip())
    return statements


def schema_version() -> str:
    """A hash of every statement of create_statements(): any new table, column or macro changes it."""
    return hashlib.sha256("\n".join(create_statements()).encode()).hexdigest()[:16]


def column_names(table: str) -> list[str]:
    return [name for name, _ in TABLES[table]]


# Tables an asset rebuilds whole from a query (CREATE OR REPLACE TABLE ... AS): never created
# here, listed so their columns are documented like the others (a test holds the list to the
# table the asset builds).
DERIVED_TABLES: dict[str, list[tuple[str, str]]] = {
    "analytics.post_performance": [
        ("post_id", "VARCHAR"),
        ("user_id", "VARCHAR"),
        ("published_at", "TIMESTAMP"),
        ("day_of_week_utc", "BIGINT"),
        ("hour_utc", "BIGINT"),
        ("day_of_week_local", "BIGINT"),
        ("hour_local", "BIGINT"),
        ("timezone", "VARCHAR"),
        ("published_time_known", "BOOLEAN"),
        ("content_type", "VARCHAR"),
        ("media_type", "VARCHAR"),
        ("num_media_items", "INTEGER"),
        ("text", "VARCHAR"),
        ("latest_snapshot_time", "TIMESTAMP"),
        ("hours_since_published", "DOUBLE"),
        ("impressions", "BIGINT"),
        ("likes", "BIGINT"),
        ("retweets", "BIGINT"),
        ("replies", "BIGINT"),
        ("quotes", "BIGINT"),
        ("engagements", "BIGINT"),
        ("engagement_rate_pct", "DOUBLE"),
        ("weighted_engagement_score", "DOUBLE"),
        ("engagement_rate_flag", "VARCHAR"),
        ("source", "VARCHAR"),
        ("network", "VARCHAR"),
        ("engagement_basis", "VARCHAR"),
    ],
}

# What each column means, shown in the Dagster UI's Columns tab and in docs/warehouse.md, which
# core/schema_docs.py renders from this module (a test holds the page to it). A column used with one
# meaning in several tables is described once in SHARED_COLUMN_DESCRIPTIONS; a table's own entry wins.
# A new column needs a description in one of the two (a test names any column without one).
SHARED_COLUMN_DESCRIPTIONS: dict[str, str] = {
    "post_id": "The post's id at its source (the tweet id on X, the post's at:// URI on Bluesky).",
    "user_id": "The account's id at its source (the user id on X, the handle on Bluesky, the handle given "
    "with LinkedIn's files).",
    "source": "Which source supplied the row: simulated, x_api, bluesky (a comma-separated list when one "
    "deployment collects several), or the export file's kind (x_export_classic, x_export_content, "
    "linkedin_content_analytics).",
    "network": "The social network the row belongs to: x, bluesky or linkedin. Analytics never mix two networks.",
    "engagement_basis": "What engagement_rate_pct is divided by: impressions (X, LinkedIn), or followers at "
    "posting time where the network counts no impressions (Bluesky). Never average two bases together.",
    "content_type": "text, image, video, thread, link or poll, as the source classifies the post; on Bluesky "
    "also quote and reply (to another account) (`unknown` for export posts).",
    "media_type": "none, image or video: the media attached to the post.",
    "num_media_items": "How many media items are attached.",
    "published_at": "When the post was published (UTC).",
    "published_time_known": "FALSE when the source gives only the date (X's newer export): hour-based "
    "analytics leave the post out.",
    "impressions": "Times the post was seen (cumulative, as of the snapshot).",
    "likes": "Likes (cumulative, as of the snapshot).",
    "retweets": "Retweets, reposts (cumulative, as of the snapshot).",
    "replies": "Replies (cumulative, as of the snapshot).",
    "quotes": "Quote posts (cumulative, as of the snapshot); 0 when the source does not report them.",
    "hours_since_published": "The post's age at the snapshot in hours (NULL when only the date is known).",
    "engagements": "likes + retweets + replies + quotes; NULL when one of the first three is unknown; on "
    "LinkedIn, the total its export states (it does not split the counts).",
    "engagement_rate_pct": "engagements / impressions × 100 (engagement_basis impressions), or engagements / "
    "followers at posting time × 100 (followers); 0 when the divisor is 0; NULL when unknown.",
    "weighted_engagement_score": "likes × 1 + retweets × 2 + replies × 3 + quotes × 2; NULL on LinkedIn, "
    "whose export states engagements only as a total (likes, reposts and comments are not split), so the "
    "weights have nothing to weigh.",
    "partition_key": "The collection hour (`%Y-%m-%d-%H:%M`, the hour that closes at collected_at); a "
    "re-run of the partition holding that hour (an hour, day or ISO week) replaces exactly "
    "these rows.",
    "period_start": "The week's start (Monday 00:00 UTC), inclusive.",
    "period_end": "The week's end (the next Monday 00:00 UTC), exclusive.",
    "avg_engagement_rate_pct": "Mean of the posts' engagement_rate_pct (a post with 0 impressions counts as 0).",
    "profile_views": "Views of the profile.",
    "connection_requests": "Connection requests received.",
    "inmails_received": "InMails received.",
    "profile_saves": "Times recruiters saved the profile.",
    "conversations_started": "Conversations started with recruiters.",
    "interviews_scheduled": "Interviews scheduled.",
    "predicted_at": "When the prediction was served (UTC).",
    "reach_model_version": "The reach model version that served the prediction.",
    "likes_model_version": "The likes model version that served the prediction.",
    "predicted_reach": "Predicted impressions at the settle age.",
    "predicted_likes": "Predicted likes at the settle age.",
    "engagement_rate_flag": "NULL, or why real figures look implausible: engagements_exceed_impressions, "
    "engagements_without_impressions; see the data checks. The rate keeps the seed's formula "
    "value; filter engagement_rate_flag IS NULL to leave such posts out.",
}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "raw.accounts": {
        "timezone": "The account's time zone for best times, reports and model hours: IANA name, "
        "SOCIAL_PIPELINE_ACCOUNT_TIMEZONES; an account without a row is read in UTC.",
        "updated_at": "When the zone was last written (UTC), written by raw_account_snapshots for a source's "
        "accounts and with each ingested export file for the configured accounts; join on user_id to "
        "read any UTC timestamp locally: timezone(a.timezone, timezone('UTC', published_at)).",
    },
    "raw.posts": {
        "text": "The post's text as published.",
        "ingested_at": "When the row was written to the warehouse (UTC).",
    },
    "raw.tweet_metrics": {
        "collected_at": "When the source reported these figures (UTC): the snapshot's time.",
        "impressions": "Times the post was seen, cumulative at collected_at; NULL when the source gave none "
        "or an invalid figure.",
        "likes": "Likes, cumulative at collected_at.",
        "retweets": "Retweets, cumulative at collected_at.",
        "replies": "Replies, cumulative at collected_at.",
        "quotes": "Quote posts, cumulative at collected_at; NULL when the source does not report them.",
        "bookmarks": "Bookmarks, cumulative at collected_at.",
        "url_clicks": "Clicks on links in the post (non-public metric: user context only).",
        "profile_clicks": "Clicks through to the profile (non-public metric: user context only).",
        "media_views": "Views of the attached media.",
        "payload": "The raw JSON as received (the raw JSON: the post's slice of the API response, or the export row).",
        "status": "Whether the source returned the post (ok / deleted / protected / not_found).",
        "written_at": "When the row was written (UTC): post_snapshots refreshes what changed since its last run.",
        "new_follows": "Followers the post brought, as the source counts them (X's newer export's `New follows`, "
        "cumulative at collected_at); NULL when the source does not report it.",
        "engagements": "Engagements as one total, from a source that does not split them into likes, reposts "
        "and replies (LinkedIn's TOP POSTS, cumulative at collected_at); NULL when the split counts are given.",
    },
    "raw.account_snapshots": {
        "collected_at": "When the follower figures were taken (UTC).",
        "followers": "Followers of the account at collected_at.",
        "following": "Accounts it follows at collected_at.",
        "post_count": "Posts the account has published, at collected_at.",
    },
    "raw.profile_activity": {
        "platform": "The network the figures come from (e.g. linkedin).",
        "snapshot_date": "The UTC day the figures cover.",
        "connections_new": "New connections that day.",
        "search_appearances": "Appearances in searches that day.",
        "recruiter_messages": "Messages from recruiters that day (besides InMails).",
        "source_file": "The file (or simulated source) the row came from.",
        "ingested_at": "When the row was written (UTC).",
    },
    "raw.linkedin_connections": {
        "user_id": "The LinkedIn account the archive belongs to (the handle given at ingestion).",
        "first_name": "The connection's first name.",
        "last_name": "The connection's last name.",
        "profile_url": "The connection's profile URL (empty when the member hides it).",
        "email_address": "The connection's e-mail address, when the member shares it.",
        "company": "The connection's company at the time of the archive.",
        "position": "The connection's position at the time of the archive.",
        "connected_on": "The day the connection was made (`Connected On`).",
        "source_file": "The file the row came from.",
        "ingested_at": "When the row was written (UTC).",
    },
    "raw.linkedin_messages": {
        "user_id": "The LinkedIn account the archive belongs to (the handle given at ingestion).",
        "conversation_id": "LinkedIn's id of the conversation.",
        "conversation_title": "The conversation's title, mostly empty.",
        "sender": "Who sent the message (`FROM`).",
        "sender_profile_url": "The sender's profile URL (NULL in archives without that column).",
        "recipients": "Who received it (`TO`), comma-separated.",
        "recipient_profile_urls": "The recipients' profile URLs, when the archive has them.",
        "sent_at": "When the message was sent (UTC).",
        "subject": "The message's subject (InMails carry one).",
        "content": "The message's text.",
        "folder": "LinkedIn's folder (INBOX, ARCHIVE, SPAM, ...).",
        "is_draft": "TRUE for an unsent draft (archives without `IS MESSAGE DRAFT`: FALSE).",
        "direction": "received or sent. The archive does not name its owner: the owner is the participant of "
        "the most conversations, and a message from anyone else is received.",
        "source_file": "The file the row came from.",
        "ingested_at": "When the row was written (UTC).",
    },
    "raw.linkedin_invitations": {
        "user_id": "The LinkedIn account the archive belongs to (the handle given at ingestion).",
        "sender": "Who sent the invitation (`From`).",
        "recipient": "Who received it (`To`).",
        "sent_at": "When the invitation was sent (UTC).",
        "message": "The note sent with it, if any.",
        "direction": "incoming (someone invited the account) or outgoing.",
        "inviter_profile_url": "The inviter's profile URL.",
        "invitee_profile_url": "The invitee's profile URL.",
        "source_file": "The file the row came from.",
        "ingested_at": "When the row was written (UTC).",
    },
    "raw.linkedin_post_metrics": {
        "user_id": "The LinkedIn account the workbook belongs to (the handle given at ingestion).",
        "post_url": "The post's URL (`Post URL` of TOP POSTS): the post's identity.",
        "published_on": "The day the post was published (the export gives no time of day).",
        "collected_at": "The time the workbook's figures stand for: its modification time, at most the time of "
        "ingestion (UTC).",
        "impressions": "Impressions (cumulative); NULL when the post is only in the list ranked by engagements.",
        "engagements": "Engagements as LinkedIn counts them (reactions, comments, reposts and clicks together, "
        "not split); NULL when the post is only in the list ranked by impressions.",
        "source_file": "The workbook the row came from.",
        "ingested_at": "When the row was written (UTC).",
    },
    "raw.linkedin_daily": {
        "user_id": "The LinkedIn account the workbook belongs to (the handle given at ingestion).",
        "day": "The day the figures cover (LinkedIn's day).",
        "impressions": "Impressions of all the account's posts that day (sheet ENGAGEMENT).",
        "engagements": "Engagements with all the account's posts that day (sheet ENGAGEMENT).",
        "new_followers": "Followers gained that day (sheet FOLLOWERS).",
        "total_followers": "The follower total on the day LinkedIn states it (`Total followers on ...`), "
        "NULL on other days.",
        "source_file": "The workbook the row came from.",
        "ingested_at": "When the row was written (UTC).",
    },
    "analytics.post_snapshots": {
        "snapshot_time": "When the figures were collected (UTC): raw.tweet_metrics.collected_at.",
        "source_written_at": "raw.tweet_metrics.written_at of the collection row this snapshot was computed from.",
    },
    "analytics.post_metric_drops": {
        "snapshot_time": "The snapshot whose figures are below the post's previous snapshot (UTC).",
        "metrics_dropped": "The cumulative figures that fell, comma-separated in alphabetical order "
        "(impressions, likes, quotes, replies, retweets).",
    },
    "analytics.post_performance": {
        "day_of_week_utc": "Day of the week of publication (0 = Monday), UTC.",
        "hour_utc": "Hour of publication (UTC; NULL when only the date is known).",
        "day_of_week_local": "Day of the week of publication (0 = Monday) on the account's clock (in timezone); "
        "a post known only by its date keeps its date's weekday.",
        "hour_local": "Hour of publication on the account's clock (in timezone; NULL when only the date is known); "
        "the hour analytics.best_posting_times ranks.",
        "timezone": "In which day_of_week_local and hour_local are read: the account's IANA zone from raw.accounts, "
        "UTC by default.",
        "text": "The post's text.",
        "latest_snapshot_time": "When the figures in this row were collected (UTC): the post's newest snapshot.",
        "impressions": "Impressions at the newest snapshot.",
        "likes": "Likes at the newest snapshot.",
        "retweets": "Retweets at the newest snapshot.",
        "replies": "Replies at the newest snapshot.",
        "quotes": "Quote posts at the newest snapshot.",
    },
    "analytics.post_lifecycle": {
        "age_hours": "The age the row stands for, in hours after publication: 1, 3, 6, 24, 72 or 168. A row "
        "exists once the post has been observed at or past that age.",
        "snapshot_time": "When the snapshot the figures come from was collected (UTC).",
        "snapshot_age_hours": "The post's age at that snapshot: the newest at or before age_hours. Below "
        "age_hours when a collection was missed; figures are never interpolated.",
        "impressions": "Impressions at that snapshot (cumulative).",
        "engagements": "Engagements at that snapshot (cumulative).",
        "snapshots_used": "How many of the post's snapshots up to 168 h existed when the row was computed.",
        "source_written_at": "The newest written_at among those snapshots.",
        "observed_through_hours": "The age of the post's newest snapshot when the row was computed, at most 168.",
        "half_life_hours": "On the 168 h row: the age of the post's first snapshot at which half of its 7-day "
        "impressions had been reached (the account's curve takes the median). NULL on the other rows and "
        "for a post without impressions at 168 h.",
    },
    "analytics.account_lifecycle_curves": {
        "age_hours": "The age (hours after publication) of the curve's point.",
        "median_share_of_week_impressions": "The account's typical curve: the median, over its posts observed "
        "for 7 days with impressions, of impressions at age_hours divided "
        "by impressions at 168 h (0-1; 1 at 168 h). Only rows whose snapshot "
        "lies within 15 minutes or a tenth of age_hours count.",
        "posts": "How many posts the median is taken over.",
        "p10_share_of_week_impressions": "The 10th percentile of the same shares: an early post slower than most.",
        "p90_share_of_week_impressions": "The 90th percentile of the same shares: an early post faster than most.",
        "half_life_hours": "The account's half-life: the median, over the same posts, of the age of the "
        "first snapshot at which half of the post's 7-day impressions were reached.",
    },
    "analytics.post_follower_gain": {
        "followers_gained": "Followers the post brought: X's own per-post count where an export carries it, else "
        "followers_after - followers_before - baseline_hourly_gain × window_hours.",
        "method": "x_export_new_follows (the newest `New follows` of X's newer export) or account_snapshots "
        "(the account's follower figures around the post, less its usual growth).",
        "followers_before": "The account's followers at its newest snapshot at or before publication.",
        "followers_after": "The account's followers at its newest snapshot at or before 24 h after publication.",
        "window_hours": "Hours between those two snapshots (24 with hourly snapshots).",
        "baseline_hourly_gain": "The account's usual growth: the median follower change over the one-hour steps "
        "between its snapshots in which it published no post.",
    },
    "analytics.user_summary": {
        "total_posts": "Posts the user published in the week.",
        "total_impressions": "Impressions of those posts, at their newest snapshot; NULL on Bluesky (no impressions).",
        "total_engagements": "Engagements of those posts, at their newest snapshot.",
        "best_post_id": "The week's post with the highest engagement rate (ties: more engagements, then post id).",
        "worst_post_id": "The week's post with the lowest engagement rate (same tie rule).",
        "content_types_used": "How many content types the week's posts used.",
    },
    "analytics.engagement_by_content_type": {
        "posts": "Posts of this content type in the week.",
        "impressions": "Their impressions, at their newest snapshot; NULL on Bluesky (no impressions).",
        "engagements": "Their engagements, at their newest snapshot.",
    },
    "analytics.best_posting_times": {
        "rank": "The slot's rank by average engagement rate (1-10; ties: more posts, more engagements, earlier slot).",
        "day_of_week_local": "The slot's day (0 = Monday) in the account's time zone (column timezone).",
        "day_name": "The slot's day by name (Monday ... Sunday), local as day_of_week_local.",
        "hour_local": "The slot's hour (0-23); day_of_week_local and hour_local are both local, in timezone; join "
        "analytics.post_performance on the same columns.",
        "timezone": "In which day_of_week_local and hour_local are read: the account's IANA zone, UTC by default.",
        "hour_utc": "For BI in UTC: the UTC hour in which the local hour starts under the offset in force at "
        "window_end; Asia/Kolkata 19 -> 13, from 13:30.",
        "avg_engagement_rate_pct": "Mean engagement_rate_pct of the slot's posts.",
        "posts_count": "Posts published in the slot within the window (at least 2).",
        "total_impressions": "Impressions of the slot's posts; NULL on Bluesky (no impressions).",
        "total_engagements": "Engagements of the slot's posts.",
        "window_start": "The window's start: 90 days before window_end.",
        "window_end": "The window's end (the week's end).",
    },
    "analytics.recruiter_metrics": {
        "as_of": "The week's end: figures cover the closed days before it.",
        "profile_views_7d": "Profile views over the 7 days before as_of.",
        "profile_views_30d": "Profile views over the 30 days before as_of.",
        "connection_requests": "Connection requests over the 30 days before as_of.",
        "inmails_received": "InMails over the 30 days before as_of. From LinkedIn's data archive (which does not "
        "flag InMail): conversations whose opening message was received and carries a subject; "
        "else the profile-activity file's figure (see inmails_source).",
        "recruiter_engagements": "InMails plus recruiter messages over the 30 days before as_of.",
        "profile_saves": "Profile saves over the 30 days before as_of.",
        "conversations_started": "Conversations started over the 30 days before as_of.",
        "interviews_scheduled": "Interviews scheduled over the 30 days before as_of.",
        "estimated_recruiter_reach": "int(profile_views_30d × 0.10), the seed's formula.",
        "view_change_pct": "Change of profile_views_7d against the 7 days before, in percent (NULL when "
        "the previous week had no views).",
        "profile_views_prev_7d": "Profile views over the 7 days before those of profile_views_7d.",
        "new_connections_7d": "Connections made over the 7 days before as_of (Connections.csv's `Connected On`, "
        "else the profile-activity file's connections_new).",
        "new_connections_30d": "Connections made over the 30 days before as_of (same sources).",
        "invitations_received_7d": "Invitations received over the 7 days before as_of (Invitations.csv, direction "
        "incoming; else the profile-activity file's connection_requests).",
        "invitations_received_30d": "Invitations received over the 30 days before as_of (same sources).",
        "profile_views_source": "profile_activity when the account has a profile-activity file (LinkedIn exports "
        "profile views nowhere), else NULL: the view figures are 0 for want of a source.",
        "connections_source": "linkedin_archive once the account's Connections.csv is ingested, else "
        "profile_activity, else NULL.",
        "invitations_source": "linkedin_archive once the account's Invitations.csv is ingested, else "
        "profile_activity, else NULL.",
        "inmails_source": "linkedin_archive once the account's messages.csv is ingested, else profile_activity, "
        "else NULL.",
    },
    "analytics.weekly_reports": {
        "week_start": "The reported week's Monday (UTC).",
        "generated_at": "When the report's content was built (UTC); a rebuild that says the same keeps it.",
        "report_json": "The report in the seed's shape (report_period, summary, top_posts, engagement_breakdown, "
        "best_times, recruiter_metrics, trends, recommendations, generated_at) plus "
        "engagement_heatmap and weekly_history.",
        "report_markdown": "The report as Markdown.",
        "markdown_path": "Absolute path of the report's Markdown file.",
        "html_path": "Absolute path of the report's HTML file.",
    },
    "ml.training_dataset": {
        "published_at": "When the post was published (UTC); the time split orders by it.",
        "is_synthetic": "TRUE for rows from the notebook's generator for a cold-start user: used for "
        "training only, never evaluated.",
        "post_text_len": "Characters in the post's text.",
        "post_text_words": "Words in the post's text.",
        "hour": "Hour of publication in the account's time zone (column timezone).",
        "day_of_week": "Day of the week of publication (0 = Monday); hour, daypart and day_of_week: these three "
        "local, in timezone.",
        "timezone": "In which hour, daypart and day_of_week are read: the account's IANA zone; NULL on synthetic rows.",
        "daypart": "The notebook's bucket of the hour: late_night, morning, afternoon, evening, late_night2.",
        "num_hashtags": "Hashtags in the text.",
        "num_mentions": "@-mentions in the text.",
        "num_emojis": "Emojis in the text.",
        "has_link": "1 when the text contains a link, else 0.",
        "media_type": "The attached media (none when there is none).",
        "num_media_items": "How many media items are attached (0 when none).",
        "user_followers": "The account's followers at publication: the newest snapshot at or before it.",
        "user_avg_engagement_rate": "Mean engagement rate (ratio) of the user's posts whose outcome had "
        "settled before this one was published.",
        "user_settled_posts": "How many of the user's posts had settled before this one was published.",
        "reach": "Target: impressions at the settle age; NULL on Bluesky, which counts no impressions.",
        "likes": "Target: likes at the settle age.",
        "engagement_rate": "Engagement rate at the settle age (ratio), engagement_rate_pct / 100: per "
        "impression, or per follower where engagement_basis is followers.",
        "user_avg_reach": "The user's mean reach over the same settled posts: the baseline, and the "
        "level the models predict relative to (NULL on Bluesky).",
        "user_avg_likes": "The user's mean likes over the same settled posts.",
        "settled_snapshot_time": "The snapshot the targets come from: the first at or after the settle age.",
        "settle_age_hours": "The post's age at that snapshot, in hours.",
        "built_at": "When the dataset was built (UTC).",
    },
    "ml.model_registry": {
        "model_name": "reach_model or likes_model.",
        "version": "The version, the training time as `%Y%m%dT%H%M%SZ`.",
        "target": "The predicted column of ml.training_dataset (reach or likes).",
        "artifact_path": "The joblib file of this version.",
        "trained_at": "When the version was trained (UTC).",
        "n_train": "Training rows, synthetic ones included.",
        "n_synthetic_train": "Synthetic cold-start rows among them.",
        "n_test": "Held-out real posts (the newest by publication).",
        "test_published_from": "Publication time of the oldest held-out post.",
        "labelled_through": "The newest settled outcome in the training data: the retrain sensor counts "
        "labels after it.",
        "metrics": (
            "Held-out figures (JSON: r2, rmse, mae, baseline_r2/rmse/mae, previous_r2/rmse/mae, interval_coverage)."
        ),
        "previous_version": "The promoted version this one was compared with, if any.",
        "params": "The training settings (JSON).",
        "promoted": "Served or not (passed beats_baseline and not_worse_than_previous at training; only "
        "promoted versions are served; NULL on rows registered before a migration added the column, "
        "treated as promoted).",
    },
    "ml.predictions": {
        "prediction_id": "The prediction's id, unique; loading is idempotent by it.",
        "user_id": "The account the draft was predicted for, when the request named one.",
        "post_id": "The published post, when the request named one.",
        "post_text": "The draft's text.",
        "scheduled_time": "When the draft was to be published (UTC).",
        "reach_p10": "10th percentile of the reach interval.",
        "reach_p90": "90th percentile of the reach interval.",
        "likes_p10": "10th percentile of the likes interval.",
        "likes_p90": "90th percentile of the likes interval.",
        "request": "The request as received (JSON).",
        "response": "The response as served (JSON).",
        "source_file": "The prediction log file the row was loaded from.",
        "loaded_at": "When the row was loaded into the warehouse (UTC).",
    },
    "ml.prediction_outcomes": {
        "prediction_id": "The prediction (ml.predictions).",
        "post_id": "The settled post it was matched to.",
        "match_method": "How: post_id, text_and_time (the user's same text near the scheduled time) or "
        "text_and_time_any_user.",
        "published_at": "When the matched post was published (UTC).",
        "actual_reach": "The post's reach at the settle age.",
        "reach_inside_interval": "Whether actual_reach lies within the predicted p10-p90.",
        "actual_likes": "The post's likes at the settle age.",
        "likes_inside_interval": "Whether actual_likes lies within the predicted p10-p90.",
    },
    "ops.post_alerts": {
        "age_hours": "The age (1, 3, 6 or 24 h) at which the post first left its expected band this way.",
        "direction": "ahead (above expected_high) or behind (below expected_low); at most one row per post "
        "and direction.",
        "actual_impressions": "The post's impressions at that age (analytics.post_lifecycle).",
        "expected_impressions": "The expected reach scaled to the age: the prediction times the account's "
        "median share at age_hours over its median share at the prediction's 72 h.",
        "expected_low": "The alert band's lower end (97.5% band): expected_impressions times "
        "exp(-2.24 x the log-unit spreads of the prediction's p10 and the curve's 10th percentile share "
        "combined); 0: no lower end.",
        "expected_high": "The alert band's upper end: expected_impressions times exp(2.24 x the spreads "
        "of the prediction's p90 and the curve's 90th percentile share combined).",
        "expectation_source": "Where the prediction came from: `ml.predictions <prediction_id>` (a draft "
        "predicted before it was published) or `reach_model <version>` (the served "
        "model, from the post's features at publication).",
        "snapshot_time": "When the snapshot that crossed the band was collected (UTC).",
        "detected_at": "When the alert was recorded (UTC).",
        "delivery_status": "pending (not yet tried, or retried on the next run), sent, failed (a channel "
        "refused it; retried while the alert is recent), no_channel (no webhook or mail is "
        "configured) or too_old_to_send (found more than 24 h after its snapshot).",
        "delivery_attempts": "How many runs tried to deliver it.",
        "last_error": "Why the last attempt failed (the webhook's host, never its full URL).",
        "webhook_sent_at": "When the webhook accepted the message (UTC).",
        "email_sent_at": "When the SMTP server accepted the mail (UTC).",
        "sent_at": "When every configured channel had it (UTC).",
    },
    "ops.post_refresh_queue": {
        "table_name": "The table that still has to refresh the post (analytics.post_performance, "
        "analytics.post_lifecycle).",
        "queued_at": "When post_snapshots rewrote the post's snapshots (UTC).",
        "snapshot_time_from": "The post's newest snapshot is at or after this time (the newest one the run "
        "wrote), so only its snapshots from then on are read; NULL when the run removed some of its snapshots.",
        "earliest_snapshot_time": "The earliest snapshot of the post the run wrote: a post observed for its "
        "whole first week whose new snapshots are all later keeps its post_lifecycle rows. NULL when the "
        "run removed some of its snapshots.",
    },
    "ops.follower_gain_inputs": {
        "snapshot_rows": "raw.account_snapshots rows with followers up to `newest_collected_at` when "
        "post_follower_gain last read them.",
        "snapshot_hash": "A sum of those rows' hashes. While both still match, the rows read before are "
        "unchanged and a run reads only later figures; otherwise it reads every figure again.",
        "newest_collected_at": "The newest follower figure read (UTC).",
    },
    "ops.follower_last_snapshots": {
        "collected_at": "The account's newest follower figure read (UTC): the next one-hour step starts here.",
        "followers": "Its followers.",
    },
    "ops.follower_steps": {
        "gain": "Followers gained over one hour (from one figure to the next, exactly an hour later).",
        "steps": "How many of the account's one-hour steps gained that many, posts or not.",
        "steps_with_post": "How many of those a post falls in (a step with two posts counts once). The usual "
        "growth is the median gain of the steps without a post.",
    },
    "ops.follower_post_windows": {
        "published_at": "The post's publication time when its figures were read; a change reads them again.",
        "before_at": "The newest follower figure at or before publication, if within the hour before (UTC).",
        "followers_before": "Followers at `before_at`.",
        "next_at": "The first figure after publication, if within the hour after: with `before_at` an hour "
        "earlier, the one-hour step the post falls in.",
        "followers_next": "Followers at `next_at`.",
        "after_at": "The newest figure at or before 24 h after publication, if in that window's last hour.",
        "followers_after": "Followers at `after_at`.",
    },
    "ops.post_snapshot_collections": {
        "partition_key": "The collection (raw.tweet_metrics.partition_key).",
        "raw_rows": "Its rows in raw.tweet_metrics, of every status, when post_snapshots last read it.",
        "snapshot_rows": "The analytics.post_snapshots rows written from it. While the two columns' totals "
        "equal the two tables' row counts, an hourly refresh finds removed collections without scanning "
        "the history; otherwise the run compares every collection and rebuilds this table.",
    },
    "ops.unfinished_post_fetches": {
        "fetched_from": "Start of the failed fetch's window (where the next `raw_posts` run starts again).",
        "posts_kept": "Posts of the pages fetched before the failure, stored.",
        "problem": "The error that stopped the fetch.",
        "failed_at": "When the fetch failed (UTC).",
    },
    "ops.ingested_files": {
        "content_sha256": "SHA-256 of the file's bytes: the same content is never ingested twice.",
        "file_name": "The dropped file's name.",
        "path": "Where the file was when it was ingested.",
        "kind": "x_export_classic, x_export_content, profile_activity, or a LinkedIn download: linkedin_archive, "
        "linkedin_connections, linkedin_messages, linkedin_invitations, linkedin_content_analytics.",
        "rows": "Rows the file contributed (in the file).",
        "rows_new": "Posts (or profile days) the warehouse did not hold before this file.",
        "rows_updated": "Known posts with other figures (a known post with other figures: a further snapshot).",
        "rows_unchanged": "Rows as stored before (the same figures as stored: not written), and rows of an older "
        "download (other figures for a time that a file modified later stored: not written).",
        "file_modified_at": "The file's modification time (UTC; never after its ingestion): of two downloads "
        "of one range, the one modified earlier is the older.",
        "snapshot_time": "The time the file's cumulative figures stand for (X exports only).",
        "partition_key": "The collection partition its metrics were stored under (X exports only).",
        "ingested_at": "When the file was ingested (UTC).",
    },
    "ops.x_api_usage": {
        "day": "The UTC day the requests were made (X's billing day).",
        "endpoint": "The X API endpoint, e.g. GET /2/tweets (post lookup) or GET /2/users/:id/tweets (timeline).",
        "user_id": "The account whose posts or figures were read (empty for a request that returned nothing).",
        "read_kind": "How X bills the read: post_read, user_read or owned_read (the authenticated account's own data).",
        "run_id": "The Dagster run that made the requests.",
        "request_count": "Requests made.",
        "resources": "Resources returned (posts, users, expanded objects): what X bills a read for.",
        "estimated_usd": "Resources times the configured rate of the read_kind (X_PRICE_POST_READ_USD, "
        "X_PRICE_USER_READ_USD or X_PRICE_OWNED_READ_USD), before X's deduplication within a UTC "
        "day: an upper bound of the bill.",
        "recorded_at": "When the run wrote the row (UTC).",
    },
    "ops.schema_version": {
        "version": "The schema's version (a hash of its statements) the file was last created or migrated to; "
        "a connection that finds another one applies the statements.",
        "applied_at": "When the statements were applied (UTC).",
    },
}


# What one row of each table stands for (its grain), shown in docs/warehouse.md.
TABLE_ROWS: dict[str, str] = {
    "raw.posts": "post",
    "raw.tweet_metrics": "post and collection",
    "raw.account_snapshots": "account and collection",
    "raw.accounts": "account",
    "raw.profile_activity": "account, platform and day",
    "raw.linkedin_connections": "connection of a LinkedIn account",
    "raw.linkedin_messages": "message of a LinkedIn account's conversations",
    "raw.linkedin_invitations": "invitation sent or received by a LinkedIn account",
    "raw.linkedin_post_metrics": "LinkedIn post and workbook with new figures",
    "raw.linkedin_daily": "LinkedIn account and day",
    "analytics.post_snapshots": "post and collection",
    "analytics.post_metric_drops": "snapshot whose cumulative figures fell from the post's previous one "
    "(rewritten with the post's snapshots)",
    "analytics.post_performance": "post",
    "analytics.post_lifecycle": "post and age (1, 3, 6, 24, 72, 168 h)",
    "analytics.account_lifecycle_curves": "account and age",
    "analytics.post_follower_gain": "post whose 24 h after publication have been observed (or that X's "
    "export gives new follows for)",
    "ml.training_dataset": "settled post (plus flagged synthetic cold-start rows)",
    "ml.model_registry": "model version",
    "ml.predictions": "served prediction",
    "ml.prediction_outcomes": "prediction with a settled post",
    "ops.unfinished_post_fetches": "X timeline fetch that failed after storing some pages "
    "(deleted by the next complete one)",
    "ops.ingested_files": "file the inbox ingested (the ledger)",
    "ops.x_api_usage": "day, X API endpoint, account, kind of read and run",
    "ops.post_alerts": "post and direction it left its expected band in",
    "ops.post_refresh_queue": "post and table still to refresh it (emptied by that table's next run)",
    "ops.post_snapshot_collections": "raw collection post_snapshots has read",
    "ops.follower_gain_inputs": "warehouse (one row, once post_follower_gain has run)",
    "ops.follower_last_snapshots": "account with follower figures",
    "ops.follower_steps": "account and one-hour follower gain",
    "ops.follower_post_windows": "post",
    "ops.schema_version": "warehouse file (one row)",
    "analytics.user_summary": "user, network and week",
    "analytics.engagement_by_content_type": "user, network, week and content type",
    "analytics.best_posting_times": "user, network, week and ranked slot",
    "analytics.recruiter_metrics": "user and week's end",
    "analytics.weekly_reports": "user and week",
}


def table_columns(table: str) -> list[tuple[str, str, str | None]]:
    """(name, SQL type, description) of a table of TABLES or DERIVED_TABLES, in table order."""
    columns = TABLES.get(table) or DERIVED_TABLES[table]
    own = COLUMN_DESCRIPTIONS.get(table, {})
    return [(name, sql_type, own.get(name, SHARED_COLUMN_DESCRIPTIONS.get(name))) for name, sql_type in columns]
