"""Group `analytics`: post snapshots and per-post performance, set-based SQL in DuckDB."""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from social_pipeline.core import analytics_queries as q
from social_pipeline.core.analytics_queries import used_params
from social_pipeline.core.clock import utc_now
from social_pipeline.core.metric_drops import METRIC_DROPS_SQL, refresh_metric_drops
from social_pipeline.core.snapshot_collections import (
    COLLECTIONS_SQL,
    COLLECTIONS_TABLE,
    collections_known,
    count_touched_collections,
    record_collections,
)
from social_pipeline.core.sql_files import scalar
from social_pipeline.defs.common import (
    SINGLE_RUN,
    WAREHOUSE_POOL,
    WEEKLY_PARTITIONS,
    AssetOptions,
    asset_labels,
    code_version,
    column_schema,
    partition_materializations,
    preview_table,
    table_definition_metadata,
    table_metadata,
    time_windows,
)
from social_pipeline.defs.ingestion.assets import (
    inbox_files,
    raw_account_snapshots,
    raw_posts,
    raw_profile_activity,
    raw_tweet_metrics,
)
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import table_exists
from social_pipeline.warehouse.write_conflicts import retry_conflicts, write_transaction

# The post tables' SQL is shared with AnalyticsCollector, so it lives in core/sql/.
sql = q.sql_text


# About this many raw rows per batch of a refresh: a few hundred MB to dedupe at once, within the memory limit.
REFRESH_BATCH_ROWS = 4_000_000
# Up to this many collections (a week of hours) a refresh is one batch.
ONE_BATCH_KEYS = 168


class PostSnapshotsConfig(dg.Config):
    full_refresh: bool = False
    # Lower it with a low SOCIAL_PIPELINE_DUCKDB_MEMORY_LIMIT: each batch's rows are sorted in memory.
    refresh_batch_rows: int = REFRESH_BATCH_ROWS


# How far before the newest raw row post_snapshots has read it looks again for unread ones: a writer stamps
# its rows before its transaction commits, so a row may commit after a later-stamped one was read.
REFRESH_LOOKBACK = pd.Timedelta(hours=24)
# The tables that refresh only the posts post_snapshots rewrote (ops.post_refresh_queue).
QUEUED_TABLES = ("analytics.post_performance", "analytics.post_lifecycle")


def queue_posts(con, posts_query: str) -> None:
    """Queue the posts `posts_query` selects (post_id, snapshot_time_from, earliest_snapshot_time) for every
    table built from post_snapshots."""
    for table in QUEUED_TABLES:
        con.execute(
            "INSERT INTO ops.post_refresh_queue "
            "(table_name, post_id, queued_at, snapshot_time_from, earliest_snapshot_time) "
            f"SELECT $table, post_id, $now, snapshot_time_from, earliest_snapshot_time FROM ({posts_query})",
            {"table": table, "now": utc_now()},
        )


@dg.asset(
    deps=[raw_tweet_metrics, raw_posts, inbox_files],
    group_name="analytics",
    kinds={"duckdb", "sql"},
    pool=WAREHOUSE_POOL,
    description="One row per (post, collection): cumulative figures, engagements, "
    "`engagement_rate_pct` (0 when impressions is 0) and `weighted_engagement_score`. "
    "Incremental: a run recomputes only the collections written since the last run "
    "(set `full_refresh` to rebuild everything), in batches of about `refresh_batch_rows` raw rows.",
    metadata=table_definition_metadata("analytics.post_snapshots"),
    code_version=code_version(
        "2",
        sql("post_snapshots_refresh_keys"),
        sql("post_snapshots"),
        *(sql(name) for name in METRIC_DROPS_SQL),
        *(sql(name) for name in COLLECTIONS_SQL),
    ),
    **asset_labels("data_platform", "analytics", "hourly"),
)
def post_snapshots(context: dg.AssetExecutionContext, config: PostSnapshotsConfig, warehouse: WarehouseResource):
    if config.refresh_batch_rows < 1:
        raise dg.Failure(f"refresh_batch_rows must be 1 or more, got {config.refresh_batch_rows}")

    def write_post_snapshots(con):
        # The table's statistics give the newest row read without a scan; an empty table reads everything.
        newest_read = scalar(con, "SELECT max(source_written_at) FROM analytics.post_snapshots")
        full = config.full_refresh or newest_read is None
        read_since = None if full or newest_read is None else pd.Timestamp(newest_read) - REFRESH_LOOKBACK
        if full:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE refresh_keys AS SELECT DISTINCT partition_key FROM raw.tweet_metrics"
            )
        else:
            arrived_from = scalar(
                con, "SELECT min(published_at) FROM raw.posts WHERE ingested_at >= $s", {"s": read_since}
            )
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE refresh_keys AS {sql('post_snapshots_refresh_keys')}",
                {"read_since": read_since, "arrived_from": arrived_from},
            )
        count_touched_collections(con, read_since)
        known = not full and collections_known(con)
        if known:
            # No collection lost rows outside those just counted: the recorded keys are the stored ones.
            con.execute(
                "CREATE OR REPLACE TEMP TABLE stored_keys AS "
                f"SELECT partition_key FROM {COLLECTIONS_TABLE} WHERE snapshot_rows > 0"
            )
        else:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE stored_keys AS "
                "SELECT DISTINCT partition_key FROM analytics.post_snapshots"
            )
            # Collections whose raw rows are gone (a re-run that found nothing) go too.
            con.execute(
                "INSERT INTO refresh_keys SELECT partition_key FROM stored_keys "
                "EXCEPT SELECT DISTINCT partition_key FROM raw.tweet_metrics"
            )
        con.execute("CREATE OR REPLACE TEMP TABLE refreshed_collections AS SELECT partition_key FROM refresh_keys")
        refreshed = scalar(con, "SELECT count(*) FROM refresh_keys")
        # The posts whose drops (analytics.post_metric_drops) are recomputed, from their earliest removed or
        # written snapshot on.
        con.execute("CREATE OR REPLACE TEMP TABLE metric_drop_posts (post_id VARCHAR, snapshot_time_from TIMESTAMP)")
        # Rows are replaced only where a refreshed collection has some (not for a new hour): their posts are
        # queued for the tables built from them.
        if scalar(con, "SELECT count(*) FROM refresh_keys SEMI JOIN stored_keys USING (partition_key)"):
            replaced = "partition_key IN (SELECT partition_key FROM refresh_keys)"
            queue_posts(
                con,
                "SELECT DISTINCT post_id, NULL::TIMESTAMP AS snapshot_time_from, "
                "NULL::TIMESTAMP AS earliest_snapshot_time "
                f"FROM analytics.post_snapshots WHERE {replaced}",
            )
            con.execute(
                "INSERT INTO metric_drop_posts SELECT post_id, min(snapshot_time) "
                f"FROM analytics.post_snapshots WHERE {replaced} GROUP BY post_id"
            )
            con.execute(f"DELETE FROM analytics.post_snapshots WHERE {replaced}")
        # Collections are read in batches of about refresh_batch_rows raw rows, in partition-key order, so the
        # query's dedupe sorts one batch at a time and a full refresh fits DuckDB's memory limit at any size.
        # An hour's run (a few keys) is one batch without counting rows: the count scans the raw table.
        if refreshed <= ONE_BATCH_KEYS:
            batches_sql = "SELECT partition_key, 0 AS batch FROM refresh_keys"
        else:
            batches_sql = (
                "SELECT partition_key, (sum(raw_rows) OVER (ORDER BY partition_key) - 1) // $batch_rows AS batch "
                "FROM touched_collections SEMI JOIN refresh_keys USING (partition_key)"
            )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE refresh_batches AS {batches_sql}",
            used_params(batches_sql, {"batch_rows": config.refresh_batch_rows}),
        )
        con.execute("CREATE OR REPLACE TEMP TABLE written_collections (partition_key VARCHAR, snapshot_rows BIGINT)")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE written_posts "
            "(post_id VARCHAR, snapshot_time_from TIMESTAMP, earliest_written TIMESTAMP)"
        )
        batches = [
            row[0] for row in con.execute("SELECT DISTINCT batch FROM refresh_batches ORDER BY batch").fetchall()
        ]
        # Rows go in in collection order, as hourly runs append them: DuckDB then skips the row groups an
        # hourly query's time bounds rule out. An hour's few collections are staged in a temp table that the
        # queue and the metadata read. Many go straight into the table and are read back by their keys:
        # copying them would cost more than reading them back, and a temp table replaced inside the
        # transaction keeps its old rows until the commit (a copy of the whole history).
        staged = refreshed <= ONE_BATCH_KEYS
        written = "new_snapshots" if staged else "batch_snapshots"
        con.execute("CREATE OR REPLACE TEMP TABLE new_snapshots AS SELECT * FROM analytics.post_snapshots LIMIT 0")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW batch_snapshots AS SELECT * FROM analytics.post_snapshots "
            "WHERE partition_key IN (SELECT partition_key FROM refresh_keys)"
        )
        # Batches of many collections read their raw rows through a view (not copied); one batch (an hour's
        # few collections) stages them below.
        if not staged:
            con.execute(
                "CREATE OR REPLACE TEMP VIEW refresh_raw AS SELECT * FROM raw.tweet_metrics "
                "WHERE partition_key IN (SELECT partition_key FROM refresh_keys)"
            )
        rows_written = 0
        for batch in batches:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE refresh_keys AS "
                "SELECT partition_key FROM refresh_batches WHERE batch = $batch",
                {"batch": batch},
            )
            if staged:
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE refresh_raw AS SELECT * FROM raw.tweet_metrics "
                    "WHERE partition_key IN (SELECT partition_key FROM refresh_keys)"
                )
                con.execute(f"CREATE OR REPLACE TEMP TABLE new_snapshots AS {sql('post_snapshots')}")
                con.execute(
                    "INSERT INTO analytics.post_snapshots BY NAME SELECT * FROM new_snapshots ORDER BY snapshot_time"
                )
                rows_written += scalar(con, "SELECT count(*) FROM new_snapshots")
            else:
                rows_written += scalar(
                    con,
                    "INSERT INTO analytics.post_snapshots BY NAME "
                    f"SELECT * FROM ({sql('post_snapshots')}) ORDER BY snapshot_time",
                )
            con.execute(
                "INSERT INTO written_posts "
                f"SELECT post_id, max(snapshot_time), min(snapshot_time) FROM {written} GROUP BY post_id"
            )
            con.execute(f"INSERT INTO written_collections SELECT partition_key, count(*) FROM {written} GROUP BY ALL")
        queue_posts(
            con,
            "SELECT post_id, max(snapshot_time_from) AS snapshot_time_from, "
            "min(earliest_written) AS earliest_snapshot_time FROM written_posts GROUP BY post_id",
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE metric_drop_posts AS "
            "SELECT post_id, min(snapshot_time_from) AS snapshot_time_from "
            "FROM (SELECT * FROM metric_drop_posts UNION ALL SELECT post_id, earliest_written FROM written_posts) "
            "GROUP BY post_id"
        )
        record_collections(con, known)
        # A refresh of many batches recomputes its posts' drops in as many statements (bounded sorts).
        drops_written = refresh_metric_drops(con, chunks=max(1, len(batches)))
        # The preview reads the last batch's rows (the newest collections), not the whole table.
        meta = table_metadata(
            con, "analytics.post_snapshots", order_by="snapshot_time DESC, post_id", written_rows=written
        )
        meta["rows_written_this_run"] = dg.MetadataValue.int(int(rows_written))
        meta["refresh_batches"] = dg.MetadataValue.int(len(batches))
        meta["history_scanned"] = dg.MetadataValue.bool(not known)
        meta["metric_drops_written"] = dg.MetadataValue.int(drops_written)
        con.execute("DROP VIEW batch_snapshots")
        con.execute(f"DROP {'TABLE' if staged else 'VIEW'} IF EXISTS refresh_raw")
        for table in (
            "refresh_keys",
            "stored_keys",
            "refresh_batches",
            "written_posts",
            "new_snapshots",
            "metric_drop_posts",
            "touched_collections",
            "refreshed_collections",
            "written_collections",
        ):
            con.execute(f"DROP TABLE {table}")
        return meta, refreshed

    with warehouse.get_connection() as con:
        meta, refreshed = write_transaction(con, write_post_snapshots, "analytics.post_snapshots")
    meta["collections_refreshed"] = dg.MetadataValue.int(int(refreshed))
    return dg.MaterializeResult(metadata=meta)


class PostPerformanceConfig(dg.Config):
    full_refresh: bool = False


def _post_performance_of(posts_table: str, snapshots_from) -> str:
    """post_performance.sql for the posts in `posts_table` (a post_id column) alone: only their snapshots
    (from `snapshots_from` on when given) and their rows of raw.posts are read (a filter on the finished
    query would compute every post's latest snapshot first)."""
    query = sql("post_performance")
    every_snapshot = "FROM analytics.post_snapshots AS s"
    every_post = "JOIN raw.posts AS p USING (post_id)"
    for relation in (every_snapshot, every_post):
        if query.count(relation) != 1:
            raise ValueError(f"post_performance.sql no longer reads {relation!r} once")
    since = "" if snapshots_from is None else f"snapshot_time >= TIMESTAMP '{pd.Timestamp(snapshots_from)}' AND "
    # The posts too: joined whole, every stored post (with its text) would go into the join's hash table.
    return query.replace(
        every_snapshot,
        f"FROM (SELECT * FROM analytics.post_snapshots WHERE {since}"
        f"post_id IN (SELECT post_id FROM {posts_table})) AS s",
    ).replace(
        every_post,
        f"JOIN (SELECT * FROM raw.posts WHERE post_id IN (SELECT post_id FROM {posts_table})) AS p USING (post_id)",
    )


@dg.asset(
    # raw_account_snapshots writes the zones (raw.accounts) that the local day and hour are read in.
    deps=[post_snapshots, raw_account_snapshots],
    group_name="analytics",
    kinds={"duckdb", "sql"},
    pool=WAREHOUSE_POOL,
    description="One row per post: its latest snapshot plus `published_at`, the day of week (0 = Monday) and "
    "hour of publication in UTC (`day_of_week_utc`, `hour_utc`) and on the account's clock "
    "(`day_of_week_local`, `hour_local`, in `timezone`; hours NULL when the source gives only a date), "
    "`content_type`, `media_type` and `text`. Incremental: a run rewrites only the posts whose snapshots "
    "post_snapshots rewrote and the posts of accounts whose zone changed (set `full_refresh` to rebuild all).",
    metadata=table_definition_metadata("analytics.post_performance"),
    code_version=code_version("2", sql("post_performance_refresh_posts"), sql("post_performance")),
    **asset_labels("data_platform", "analytics", "hourly"),
)
def post_performance(context: dg.AssetExecutionContext, config: PostPerformanceConfig, warehouse: WarehouseResource):
    table = "analytics.post_performance"

    def write_post_performance(con):
        # What this run takes from the queue; rows queued meanwhile by another writer stay for the next run.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE performance_queue AS "
            "SELECT post_id, queued_at FROM ops.post_refresh_queue WHERE table_name = $table",
            {"table": table},
        )
        if config.full_refresh or not table_exists(con, table):
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {sql('post_performance')}")
            refreshed = scalar(con, f"SELECT count(*) FROM {table}")
            written = "TRUE"
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE performance_refresh AS {sql('post_performance_refresh_posts')}")
            refreshed, unbounded, snapshots_from = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE snapshot_time_from IS NULL), min(snapshot_time_from) "
                "FROM performance_refresh"
            ).fetchall()[0]
            con.execute(f"DELETE FROM {table} WHERE post_id IN (SELECT post_id FROM performance_refresh)")
            if refreshed:
                # Each refreshed post's newest snapshot is at or after its snapshot_time_from (NULL: anywhere).
                query = _post_performance_of("performance_refresh", None if unbounded else snapshots_from)
                con.execute(f"INSERT INTO {table} BY NAME {query}")
            written = "post_id IN (SELECT post_id FROM performance_refresh)"
        con.execute(
            "DELETE FROM ops.post_refresh_queue AS q USING performance_queue AS t "
            "WHERE q.table_name = $table AND q.post_id = t.post_id AND q.queued_at = t.queued_at",
            {"table": table},
        )
        meta = table_metadata(con, table, written, order_by="published_at DESC")
        per_user = con.execute(
            "SELECT user_id, count(*) AS posts, round(avg(engagement_rate_pct), 2) AS avg_engagement_rate_pct "
            f"FROM {table} GROUP BY ALL ORDER BY user_id"
        ).df()
        # Date-only posts (X's newer export) have no hour: hour-based analytics leave them out.
        without_hour = scalar(con, f"SELECT count(*) FROM {table} WHERE hour_utc IS NULL")
        con.execute("DROP TABLE IF EXISTS performance_refresh")
        con.execute("DROP TABLE performance_queue")
        return meta, per_user, without_hour, refreshed

    with warehouse.get_connection() as con:
        meta, per_user, without_hour, refreshed = write_transaction(con, write_post_performance, table)
    meta["per_user"] = preview_table(per_user)
    meta["posts_without_hour"] = dg.MetadataValue.int(int(without_hour))
    meta["posts_refreshed"] = dg.MetadataValue.int(int(refreshed))
    return dg.MaterializeResult(metadata=meta)


# The rolling views: the last 30 days before the warehouse's newest collection, every user.
ROLLING_30D_PERIODS = """
SELECT u.user_id, w.as_of - INTERVAL 30 DAY AS period_start, w.as_of AS period_end
FROM (SELECT DISTINCT user_id FROM analytics.post_performance) AS u,
     (SELECT max(latest_snapshot_time) AS as_of FROM analytics.post_performance) AS w
"""


# ----- weekly tables -----------------------------------------------------------
PREVIEW_ROWS = 5  # rows of a week shown in its materialization, as table_metadata's preview
WEEKLY = AssetOptions(
    group_name="analytics",
    partitions_def=WEEKLY_PARTITIONS,
    backfill_policy=SINGLE_RUN,
    kinds={"duckdb", "sql"},
    pool=WAREHOUSE_POOL,
    **asset_labels("analytics", "analytics", "weekly"),
)


# The SQL each weekly table runs, composed as the assets run it: its hash is part of the code version.
WEEKLY_QUERIES = {
    "user_summary": q.user_summary_query(q.report_periods_sql()),
    "engagement_by_content_type": q.content_type_query(q.report_periods_sql()),
    "best_posting_times": q.best_times_query(q.report_periods_sql()),
    "recruiter_metrics": q.recruiter_query(q.report_periods_sql()),
}


# Weeks one statement computes at most: a 90-day best-times window per week multiplies a week's posts by
# 13, so a year's range for 1,000 accounts in one query outgrows DuckDB's memory limit.
WEEKS_PER_STATEMENT = 4


def week_runs(keys) -> list[dict]:
    """Weekly partition keys as runs of consecutive weeks (weeks without data are no partitions), each of
    at most WEEKS_PER_STATEMENT weeks: {first_week_start, weeks_end}, oldest first."""
    runs = []
    for start, end in time_windows(WEEKLY_PARTITIONS, keys):
        for run_start in pd.date_range(start, end, freq=f"{7 * WEEKS_PER_STATEMENT}D", inclusive="left"):
            run_end = min(run_start + pd.Timedelta(days=7 * WEEKS_PER_STATEMENT), end)
            runs.append({"first_week_start": run_start, "weeks_end": run_end})
    return runs


def _weeks(context: dg.AssetExecutionContext) -> list[dict]:
    return week_runs(context.partition_keys)


def _in_weeks(column: str, weeks: list[dict], inclusive_end: bool) -> str:
    """SQL: `column` falls in one of the week runs (timestamps from parsed keys, safe to inline)."""
    low, high = (">", "<=") if inclusive_end else (">=", "<")
    return " OR ".join(
        f"({column} {low} TIMESTAMP '{w['first_week_start']}' AND {column} {high} TIMESTAMP '{w['weeks_end']}')"
        for w in weeks
    )


def _replace_weeks(
    context, con, table: str, time_column: str, weeks: list[dict], query: str, inclusive_end: bool
) -> dict:
    """Delete the partitions' rows and insert the query's, in one transaction."""
    bounds = _in_weeks(time_column, weeks, inclusive_end)

    def replace(con):
        con.execute(f"DELETE FROM {table} WHERE {bounds}")
        for run in weeks:
            con.execute(f"INSERT INTO {table} BY NAME {query}", q.used_params(query, run))
        return table_metadata(con, table, bounds, order_by=f"{time_column} DESC, user_id", context=context)

    return write_transaction(con, replace, table)


def _week_metadata(con, table: str, time_column: str, inclusive_end: bool, keys) -> dict[str, dict]:
    """Each week's own row count and preview (a range run's materialization of each partition), from one
    count and one preview query over the run's weeks, not three queries a week."""
    weeks = [{"first_week_start": start, "weeks_end": end} for start, end in time_windows(WEEKLY_PARTITIONS, keys)]
    # The week a row belongs to: its time column is the week's start, or (inclusive_end) its end.
    week = (
        f"strftime(date_trunc('week', {time_column}{' - INTERVAL 1 MICROSECOND' if inclusive_end else ''}), '%Y-%m-%d')"
    )
    where = _in_weeks(time_column, weeks, inclusive_end)
    counts = dict(con.execute(f"SELECT {week}, count(*) FROM {table} WHERE {where} GROUP BY ALL").fetchall())
    schema = column_schema(table)
    shown = [c.name for c in schema.columns if c.type != "JSON"]  # as table_metadata's preview
    previews = con.execute(
        f"SELECT {week} AS preview_week, {', '.join(shown)} FROM {table} WHERE {where} "
        f"QUALIFY row_number() OVER (PARTITION BY preview_week ORDER BY {time_column} DESC, user_id) <= {PREVIEW_ROWS} "
        f"ORDER BY preview_week, {time_column} DESC, user_id"
    ).df()
    by_week = {key: rows.drop(columns="preview_week") for key, rows in previews.groupby("preview_week")}
    return {
        key: {
            "dagster/partition_row_count": dg.MetadataValue.int(int(counts.get(key, 0))),
            "preview": preview_table(by_week.get(key, previews.drop(columns="preview_week").iloc[:0]), schema),
        }
        for key in keys
    }


@dataclass(frozen=True)
class WeeklyTable:
    """What sets one weekly table apart: the rest (partitions, one transaction, metadata) is shared."""

    name: str  # the asset, and its table analytics.<name>; its SQL is WEEKLY_QUERIES[name]
    time_column: str  # the column that places a row in its week
    inclusive_end: bool  # time_column holds the week's end (as_of, window_end), not its start
    deps: tuple
    description: str
    # The rolling 30-day view analytics.<name>_30d refreshed beside the table: the query builder it runs.
    rolling_view: Callable[[str], str] | None = None


def weekly_table_asset(table: WeeklyTable) -> dg.AssetsDefinition:
    """The weekly asset of `table`: replaces its partitions' weeks, then refreshes its rolling view."""
    name = f"analytics.{table.name}"

    @dg.asset(
        name=table.name,
        deps=list(table.deps),
        description=table.description,
        metadata=table_definition_metadata(name),
        code_version=code_version("1", WEEKLY_QUERIES[table.name]),
        **WEEKLY,
    )
    def weekly_table(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.get_connection() as con:
            meta = _replace_weeks(
                context,
                con,
                name,
                table.time_column,
                _weeks(context),
                WEEKLY_QUERIES[table.name],
                inclusive_end=table.inclusive_end,
            )
            if table.rolling_view is not None:
                view = f"CREATE OR REPLACE VIEW {name}_30d AS {table.rolling_view(ROLLING_30D_PERIODS)}"
                retry_conflicts(lambda: con.execute(view), f"{name}_30d")
            weeks = _week_metadata(con, name, table.time_column, table.inclusive_end, context.partition_keys)
        yield from partition_materializations(context, meta, weeks)

    return weekly_table


user_summary = weekly_table_asset(
    WeeklyTable(
        "user_summary",
        "period_start",
        inclusive_end=False,
        deps=(post_performance,),
        description="Per user and week: total posts, impressions, engagements, the average engagement rate "
        "(mean of the posts' rates; 0 for a post with 0 impressions), best and worst post. Also refreshes "
        "the view `analytics.user_summary_30d` (the last 30 days before the newest collection).",
        rolling_view=q.user_summary_query,
    )
)

engagement_by_content_type = weekly_table_asset(
    WeeklyTable(
        "engagement_by_content_type",
        "period_start",
        inclusive_end=False,
        deps=(post_performance,),
        description="Per user, week and content type: posts, impressions, engagements, average engagement "
        "rate. Also refreshes the view `analytics.engagement_by_content_type_30d`.",
        rolling_view=q.content_type_query,
    )
)

best_posting_times = weekly_table_asset(
    WeeklyTable(
        "best_posting_times",
        "window_end",
        inclusive_end=True,
        deps=(post_performance,),
        description="Per user and week: the top 10 publication slots (`day_of_week_local` 0 = Monday, `hour_local`) "
        "in the account's time zone (column `timezone`; `hour_utc` beside it) of "
        "the 90 days before the week's end, ranked by average engagement rate; a slot needs at least 2 "
        "posts; posts with an unknown hour are left out. `window_end` is the week's end.",
    )
)

recruiter_metrics = weekly_table_asset(
    WeeklyTable(
        "recruiter_metrics",
        "as_of",
        inclusive_end=True,
        deps=(raw_profile_activity, inbox_files),
        description="Per user as of each week's end: profile views over 7 and 30 days, connection requests, "
        "InMails and the seed's other recruiter figures (30 days), new connections and invitations received "
        "over 7 and 30 days (from LinkedIn's data archive when ingested, else the profile-activity file; "
        "the `*_source` columns say which), "
        "`estimated_recruiter_reach = int(profile_views_30d * 0.10)`, `view_change_pct` week over week "
        "(NULL when last week had no views).",
    )
)
