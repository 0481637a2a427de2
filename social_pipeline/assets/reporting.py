"""Groups `analytics` (weekly user tables) and `reporting` (the weekly report): the analytics
seed's features as weekly-partitioned assets.

Every asset runs the shared queries of `core/analytics_queries.py` over the weeks of its
partition range (a backfill is one run and one SQL pass) and replaces exactly those weeks.
"""

import os
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd

from ..core import analytics_queries as q
from ..core.metrics import estimated_recruiter_reach
from ..core.reports import render_html, render_markdown
from ..paths import reports_dir
from ..resources.warehouse import WarehouseResource, retry_conflicts, scalar, write_transaction
from .analytics import post_performance
from .common import (
    SINGLE_RUN,
    WAREHOUSE_POOL,
    WEEKLY_PARTITIONS,
    asset_labels,
    code_version,
    table_definition_metadata,
    table_metadata,
    time_windows,
)
from .ingestion import raw_profile_activity

WEEKLY = dict(partitions_def=WEEKLY_PARTITIONS, backfill_policy=SINGLE_RUN, kinds={"duckdb", "sql"}, pool=WAREHOUSE_POOL,
              **asset_labels("analytics", "analytics", "weekly"))
# The SQL each weekly table runs, composed as the assets run it: its hash is part of the code version.
WEEKLY_QUERIES = {
    "user_summary": q.user_summary_query(q.report_periods_sql()),
    "engagement_by_content_type": q.content_type_query(q.report_periods_sql()),
    "best_posting_times": q.best_times_query(q.report_periods_sql()),
    "recruiter_metrics": q.recruiter_query(q.report_periods_sql()),
}

# The rolling views: the last 30 days before the warehouse's newest collection, every user.
ROLLING_30D_PERIODS = """
SELECT u.user_id, w.as_of - INTERVAL 30 DAY AS period_start, w.as_of AS period_end
FROM (SELECT DISTINCT user_id FROM analytics.post_performance) AS u,
     (SELECT max(latest_snapshot_time) AS as_of FROM analytics.post_performance) AS w
"""


def _weeks(context: dg.AssetExecutionContext) -> list[dict]:
    """The run's weeks as runs of consecutive weeks (weeks without data are no partitions)."""
    return [{"first_week_start": start, "weeks_end": end} for start, end in time_windows(WEEKLY_PARTITIONS, context.partition_keys)]


def _in_weeks(column: str, weeks: list[dict], inclusive_end: bool) -> str:
    """SQL: `column` falls in one of the week runs (timestamps from parsed keys, safe to inline)."""
    low, high = (">", "<=") if inclusive_end else (">=", "<")
    return " OR ".join(f"({column} {low} TIMESTAMP '{w['first_week_start']}' AND {column} {high} "
                       f"TIMESTAMP '{w['weeks_end']}')" for w in weeks)


def _replace_weeks(context, con, table: str, time_column: str, weeks: list[dict], query: str, inclusive_end: bool) -> dict:
    """Delete the partitions' rows and insert the query's, in one transaction."""
    bounds = _in_weeks(time_column, weeks, inclusive_end)

    def replace(con):
        con.execute(f"DELETE FROM {table} WHERE {bounds}")
        for run in weeks:
            con.execute(f"INSERT INTO {table} BY NAME {query}", q.used_params(query, run))
        return table_metadata(con, table, bounds, order_by=f"{time_column} DESC, user_id", context=context)

    return write_transaction(con, replace, table)


@dg.asset(
    deps=[post_performance],
    group_name="analytics",
    description="Per user and week: total posts, impressions, engagements, the average engagement rate "
    "(mean of the posts' rates; 0 for a post with 0 impressions), best and worst post. Also refreshes "
    "the view `analytics.user_summary_30d` (the last 30 days before the newest collection).",
    metadata=table_definition_metadata("analytics.user_summary"),
    code_version=code_version("1", WEEKLY_QUERIES["user_summary"]),
    **WEEKLY,
)
def user_summary(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        meta = _replace_weeks(context, con, "analytics.user_summary", "period_start", _weeks(context),
                              WEEKLY_QUERIES["user_summary"], inclusive_end=False)
        view = f"CREATE OR REPLACE VIEW analytics.user_summary_30d AS {q.user_summary_query(ROLLING_30D_PERIODS)}"
        retry_conflicts(lambda: con.execute(view), "analytics.user_summary_30d")
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    deps=[post_performance],
    group_name="analytics",
    description="Per user, week and content type: posts, impressions, engagements, average engagement "
    "rate. Also refreshes the view `analytics.engagement_by_content_type_30d`.",
    metadata=table_definition_metadata("analytics.engagement_by_content_type"),
    code_version=code_version("1", WEEKLY_QUERIES["engagement_by_content_type"]),
    **WEEKLY,
)
def engagement_by_content_type(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        meta = _replace_weeks(context, con, "analytics.engagement_by_content_type", "period_start", _weeks(context),
                              WEEKLY_QUERIES["engagement_by_content_type"], inclusive_end=False)
        view = ("CREATE OR REPLACE VIEW analytics.engagement_by_content_type_30d AS "
                f"{q.content_type_query(ROLLING_30D_PERIODS)}")
        retry_conflicts(lambda: con.execute(view), "analytics.engagement_by_content_type_30d")
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    deps=[post_performance],
    group_name="analytics",
    description="Per user and week: the top 10 publication slots (`day_of_week` 0 = Monday, `hour`) in the "
    "account's time zone (column `timezone`; `utc_hour` beside it) of "
    "the 90 days before the week's end, ranked by average engagement rate; a slot needs at least 2 "
    "posts; posts with an unknown hour are left out. `window_end` is the week's end.",
    metadata=table_definition_metadata("analytics.best_posting_times"),
    code_version=code_version("1", WEEKLY_QUERIES["best_posting_times"]),
    **WEEKLY,
)
def best_posting_times(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        meta = _replace_weeks(context, con, "analytics.best_posting_times", "window_end", _weeks(context),
                              WEEKLY_QUERIES["best_posting_times"], inclusive_end=True)
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    deps=[raw_profile_activity],
    group_name="analytics",
    description="Per user as of each week's end: profile views over 7 and 30 days, connection requests, "
    "InMails and the seed's other recruiter figures (30 days), "
    "`estimated_recruiter_reach = int(profile_views_30d * 0.10)`, `view_change_pct` week over week "
    "(NULL when last week had no views).",
    metadata=table_definition_metadata("analytics.recruiter_metrics"),
    code_version=code_version("1", WEEKLY_QUERIES["recruiter_metrics"]),
    **WEEKLY,
)
def recruiter_metrics(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        meta = _replace_weeks(context, con, "analytics.recruiter_metrics", "as_of", _weeks(context),
                              WEEKLY_QUERIES["recruiter_metrics"], inclusive_end=True)
    return dg.MaterializeResult(metadata=meta)


def safe_name(user_id: str) -> str:
    """A user id as one path segment: no separators, no leading dot."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(user_id)).lstrip(".")
    return cleaned or "_"


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dg.asset(
    deps=[user_summary, engagement_by_content_type, best_posting_times, recruiter_metrics],
    group_name="reporting",
    description="One report per user and week in `analytics.weekly_reports` (the seed's report shape as "
    "JSON, plus Markdown), also written as files `<reports dir>/<user>/<week_start>.md` and `.html` "
    "(the reports folder is `SOCIAL_PIPELINE_REPORTS_DIR`, default `data/reports`).",
    metadata=table_definition_metadata("analytics.weekly_reports"),
    # The report is built in Python (core/reports.py, core/recommendations.py): bump the version when
    # they change; the hash covers the queries its figures come from.
    code_version=code_version("1", *WEEKLY_QUERIES.values(), q.top_posts_query(q.report_periods_sql())),
    partitions_def=WEEKLY_PARTITIONS,
    backfill_policy=SINGLE_RUN,
    kinds={"duckdb", "html", "markdown"},
    pool=WAREHOUSE_POOL,
    **asset_labels("analytics", "report", "weekly"),
)
def weekly_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    weeks = _weeks(context)
    generated_at = pd.Timestamp.now("UTC").tz_localize(None)
    folder = reports_dir()
    with warehouse.get_connection() as con:
        reports = [report for run in weeks for report in q.weekly_reports(con, q.report_periods_sql(), run, generated_at)]
        rows = []
        for report in reports:
            week_start = report["report_period"]["start"][:10]
            markdown = render_markdown(report)
            base = folder / safe_name(report["user_id"]) / week_start
            md_path, html_path = base.with_suffix(".md"), base.with_suffix(".html")
            write_atomically(md_path, markdown)
            write_atomically(html_path, render_html(report))
            rows.append({"user_id": report["user_id"], "week_start": pd.Timestamp(week_start).date(),
                         "generated_at": generated_at, "report_json": q.report_json(report),
                         "report_markdown": markdown, "markdown_path": str(md_path.resolve()),
                         "html_path": str(html_path.resolve())})
        incoming = pd.DataFrame(rows, columns=q.WEEKLY_REPORT_COLUMNS)
        con.register("incoming_reports", incoming)

        def replace_reports(con):
            con.execute(f"DELETE FROM analytics.weekly_reports WHERE {_in_weeks('week_start', weeks, False)}")
            con.execute("INSERT INTO analytics.weekly_reports BY NAME SELECT * FROM incoming_reports")
            return table_metadata(con, "analytics.weekly_reports", _in_weeks("week_start", weeks, False),
                                  order_by="week_start DESC, user_id", context=context)

        meta = write_transaction(con, replace_reports, "analytics.weekly_reports")
        con.unregister("incoming_reports")
    latest = [r for r in rows if r["week_start"] == max(row["week_start"] for row in rows)] if rows else []
    meta["reports_dir"] = dg.MetadataValue.path(str(folder.resolve()))
    if latest:
        meta["report_markdown"] = dg.MetadataValue.md("\n\n---\n\n".join(r["report_markdown"] for r in latest))
        meta["html_report"] = dg.MetadataValue.path(latest[0]["html_path"])
        meta["html_report_url"] = dg.MetadataValue.url(Path(latest[0]["html_path"]).as_uri())
    return dg.MaterializeResult(metadata=meta)


# ----- checks ----------------------------------------------------------------------------
def _rate_check(asset, table: str, column: str):
    @dg.asset_check(asset=asset, name=f"{column}_within_0_100", blocking=True,
                    description=f"{table}.{column} lies within 0-100 (a percentage). Blocks on a NULL or negative "
                    "average, which cannot be real; only warns above 100, which a post X really reported with more "
                    "engagements than impressions (engagement_rate_flag) gives.")
    def check(warehouse: WarehouseResource):
        with warehouse.get_connection() as con:
            impossible = scalar(con, f"SELECT count(*) FROM {table} WHERE {column} IS NULL OR {column} < 0")
            above = scalar(con, f"SELECT count(*) FROM {table} WHERE {column} > 100")
            extremes = con.execute(f"SELECT min({column}), max({column}) FROM {table}").fetchall()[0]
        return dg.AssetCheckResult(
            passed=impossible == 0 and above == 0,
            severity=dg.AssetCheckSeverity.ERROR if impossible else dg.AssetCheckSeverity.WARN,
            description=None if impossible == 0 and above == 0 else
            f"{impossible} rows NULL or negative, {above} above 100 (periods with a flagged post)",
            metadata={"rows_out_of_range": int(impossible + above), "rows_impossible": int(impossible),
                      "rows_above_100": int(above), "min": float(extremes[0] or 0), "max": float(extremes[1] or 0)})

    return check


@dg.asset_check(asset=best_posting_times, blocking=True, description="Every ranked slot has at least 2 posts (the seed's rule).")
def best_time_slots_have_two_posts(warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        bad = scalar(con, "SELECT count(*) FROM analytics.best_posting_times WHERE posts_count < 2")
    return dg.AssetCheckResult(passed=bad == 0, metadata={"slots_with_fewer_than_2_posts": int(bad)})


@dg.asset_check(asset=weekly_report, description="Every user active in a reported week (a post published or "
                "a profile day recorded in it) has a report row for that week.")
def reports_for_every_active_user(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    # The instance, not the table, says which weeks were reported: a week whose rows all vanished counts.
    materialized = sorted(context.instance.get_materialized_partitions(weekly_report.key))
    with warehouse.get_connection() as con:
        missing = con.execute(q.sql_text("missing_reports"),
                              {"materialized_week_starts": [pd.Timestamp(w).date() for w in materialized]}).df()
    return dg.AssetCheckResult(
        passed=missing.empty,
        metadata={"missing_reports": int(len(missing)), "weeks_materialized": len(materialized),
                  "examples": dg.MetadataValue.md(missing.head(10).to_markdown(index=False) if len(missing) else "_none_")},
    )


@dg.asset_check(asset=recruiter_metrics, blocking=True, description="estimated_recruiter_reach = int(profile_views_30d * 0.10), "
                "checked against the Python formula in core/metrics.py.")
def recruiter_reach_matches_formula(warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        rows = con.execute("SELECT profile_views_30d, estimated_recruiter_reach FROM analytics.recruiter_metrics").fetchall()
    wrong = [(views, reach) for views, reach in rows if reach != estimated_recruiter_reach(views)]
    return dg.AssetCheckResult(passed=not wrong, metadata={"rows_checked": len(rows), "rows_wrong": len(wrong)})


CHECKS = [
    _rate_check(user_summary, "analytics.user_summary", "avg_engagement_rate_pct"),
    _rate_check(engagement_by_content_type, "analytics.engagement_by_content_type", "avg_engagement_rate_pct"),
    _rate_check(best_posting_times, "analytics.best_posting_times", "avg_engagement_rate_pct"),
    best_time_slots_have_two_posts,
    reports_for_every_active_user,
    recruiter_reach_matches_formula,
]

weekly_reporting_job = dg.define_asset_job(
    "weekly_reporting",
    selection=dg.AssetSelection.assets(user_summary, engagement_by_content_type, best_posting_times,
                                       recruiter_metrics, weekly_report),
    partitions_def=WEEKLY_PARTITIONS,
    description="The weekly analytics tables and reports for a week (or a range of weeks, in one run).",
    executor_def=dg.in_process_executor,
)

defs = dg.Definitions(
    assets=[user_summary, engagement_by_content_type, best_posting_times, recruiter_metrics, weekly_report],
    asset_checks=CHECKS,
    jobs=[weekly_reporting_job],
)
