"""Groups `analytics` (weekly user tables) and `reporting` (the weekly report): the analytics
seed's features as weekly-partitioned assets.

Every asset runs the shared queries of `core/analytics_queries.py` over the weeks of its
partition range (a backfill is one run, in statements of a few weeks each) and replaces exactly those weeks.
"""

import dagster as dg
import pandas as pd

from social_pipeline.core import analytics_queries as q
from social_pipeline.core.clock import utc_now
from social_pipeline.core.files import write_files_atomically
from social_pipeline.core.lifecycle_report import add_lifecycle_sections
from social_pipeline.core.lifecycle_report import sql as lifecycle_sql
from social_pipeline.core.reports import render_html, render_markdown
from social_pipeline.core.x_cost import SPEND_BY_ACCOUNT_SQL
from social_pipeline.defs.analytics.assets import (
    WEEKLY_QUERIES,
    _in_weeks,
    _weeks,
    best_posting_times,
    engagement_by_content_type,
    recruiter_metrics,
    user_summary,
)
from social_pipeline.defs.common import (
    SINGLE_RUN,
    WAREHOUSE_POOL,
    WEEKLY_PARTITIONS,
    asset_labels,
    code_version,
    partition_materializations,
    table_definition_metadata,
    table_metadata,
)
from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.write_conflicts import write_transaction


def safe_name(user_id: str) -> str:
    """A user id as one path segment: no separators, no leading dot."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(user_id)).lstrip(".")
    return cleaned or "_"


@dg.asset(
    deps=[
        user_summary,
        engagement_by_content_type,
        best_posting_times,
        recruiter_metrics,
        "post_lifecycle",
        "post_alerts",
        "post_follower_gain",
    ],
    group_name="reporting",
    description="One report per user and week in `analytics.weekly_reports` (the seed's report shape as "
    "JSON, plus Markdown), also written as files `<reports dir>/<user>/<week_start>.md` and `.html` "
    "(the reports folder is `SOCIAL_PIPELINE_REPORTS_DIR`, default `data/reports`).",
    metadata=table_definition_metadata("analytics.weekly_reports"),
    # The report is built in Python (core/reports.py, core/recommendations.py): bump the version when
    # they change; the hash covers the queries its figures come from.
    code_version=code_version(
        "1",
        *WEEKLY_QUERIES.values(),
        q.top_posts_query(q.report_periods_sql()),
        lifecycle_sql("report_lifecycle"),
        lifecycle_sql("report_alerts_and_followers"),
    ),
    partitions_def=WEEKLY_PARTITIONS,
    backfill_policy=SINGLE_RUN,
    kinds={"duckdb", "html", "markdown"},
    pool=WAREHOUSE_POOL,
    **asset_labels("analytics", "report", "weekly"),
)
def weekly_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource, file_stores: FileStoresResource):
    weeks = _weeks(context)
    generated_at = utc_now()
    folder = file_stores.reports_path()
    with warehouse.get_connection() as con:
        # A run's reports are built, rendered and written a run of weeks at a time (a year for 1,000
        # accounts does not fit in memory at once), staged in a temp table, then replace the weeks at once.
        con.execute("CREATE OR REPLACE TEMP TABLE incoming_reports AS SELECT * FROM analytics.weekly_reports LIMIT 0")
        week_metadata, files_written, files_rewritten = {}, 0, 0
        for run in weeks:
            rows, files, spend_by_week = _build_reports(con, run, generated_at, folder)
            files_rewritten += len(write_files_atomically(files))
            files_written += len(files)
            week_metadata.update(_report_metadata(rows, spend_by_week))
            con.register("run_reports", pd.DataFrame(rows, columns=q.WEEKLY_REPORT_COLUMNS))
            con.execute("INSERT INTO incoming_reports BY NAME SELECT * FROM run_reports")
            con.unregister("run_reports")

        def replace_reports(con):
            con.execute(f"DELETE FROM analytics.weekly_reports WHERE {_in_weeks('week_start', weeks, False)}")
            con.execute("INSERT INTO analytics.weekly_reports BY NAME SELECT * FROM incoming_reports")
            return table_metadata(
                con,
                "analytics.weekly_reports",
                _in_weeks("week_start", weeks, False),
                order_by="week_start DESC, user_id",
                context=context,
            )

        meta = write_transaction(con, replace_reports, "analytics.weekly_reports")
        con.execute("DROP TABLE incoming_reports")
    meta["reports_dir"] = dg.MetadataValue.path(str(folder.resolve()))
    meta["report_files_rewritten"] = dg.MetadataValue.int(files_rewritten)
    meta["report_files_unchanged"] = dg.MetadataValue.int(files_written - files_rewritten)
    yield from partition_materializations(context, meta, week_metadata)


def _build_reports(con, run: dict, generated_at, folder) -> tuple[list[dict], dict, dict]:
    """One run of weeks' reports: their table rows, their files (path -> text) and the X spend by week."""
    reports = q.weekly_reports(con, q.report_periods_sql(), run, generated_at)
    add_lifecycle_sections(con, reports)
    spend_by_week = _spend_by_week(con, reports)
    for report in reports:
        # The footer: what the account's X reads cost that week (ops.x_api_usage), when it has any.
        report["x_api_spend"] = spend_by_week[report["report_period"]["start"][:10]].get(report["user_id"])
    previous = con.execute(
        "SELECT user_id, strftime(week_start, '%Y-%m-%d') AS week_start, generated_at, report_json "
        f"FROM analytics.weekly_reports WHERE {_in_weeks('week_start', [run], False)}"
    ).fetchall()
    q.keep_generated_at(reports, {(user, week): (at, text) for user, week, at, text in previous})
    rows, files = [], {}
    for report in reports:
        week_start = report["report_period"]["start"][:10]
        markdown = render_markdown(report)
        base = folder / safe_name(report["user_id"]) / week_start
        md_path, html_path = base.with_suffix(".md"), base.with_suffix(".html")
        files[md_path], files[html_path] = markdown, render_html(report)
        rows.append(
            {
                "user_id": report["user_id"],
                "week_start": pd.Timestamp(week_start).date(),
                "generated_at": pd.Timestamp(report["generated_at"]),
                "report_json": q.report_json(report),
                "report_markdown": markdown,
                "markdown_path": str(md_path.resolve()),
                "html_path": str(html_path.resolve()),
            }
        )
    return rows, files, spend_by_week


def _spend_by_week(con, reports: list[dict]) -> dict[str, dict]:
    """week_start (%Y-%m-%d) -> user_id -> the account's X reads that week ({usd, resources, requests})."""
    periods = sorted({(r["report_period"]["start"], r["report_period"]["end"]) for r in reports})
    spend_by_week = {}
    for start, end in periods:
        spend = con.execute(SPEND_BY_ACCOUNT_SQL, {"start": start, "end": end}).fetchall()
        spend_by_week[start[:10]] = {
            user_id: {"usd": float(usd), "resources": int(resources), "requests": int(requests)}
            for user_id, usd, resources, requests in spend
        }
    return spend_by_week


# Accounts whose reports a week's materialization lists (Markdown and file paths): an agency's 1,000
# reports would make every event megabytes. All files are under `reports_dir`, <user>/<week_start>.
REPORTS_LISTED_PER_WEEK = 10


def _report_metadata(rows: list[dict], spend_by_week_start: dict[str, dict]) -> dict[str, dict]:
    """Per week: the first REPORTS_LISTED_PER_WEEK accounts' reports as Markdown (the UI shows it) and
    their files as paths (a browser does not open file:// links from an http page), the number of
    reports, and the week's X spend per account."""
    weeks: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: (r["week_start"], r["user_id"])):
        week = weeks.setdefault(row["week_start"].isoformat(), {"markdown": [], "reports": 0})
        week["reports"] += 1
        if week["reports"] > REPORTS_LISTED_PER_WEEK:
            continue
        week["markdown"].append(row["report_markdown"])
        week[f"html_report/{row['user_id']}"] = dg.MetadataValue.path(row["html_path"])
        week[f"markdown_report/{row['user_id']}"] = dg.MetadataValue.path(row["markdown_path"])
    for key, week in weeks.items():
        spend = spend_by_week_start.get(key)
        if spend:
            week["x_api_usd_by_account"] = dg.MetadataValue.json(
                {user: round(figures["usd"], 4) for user, figures in sorted(spend.items())}
            )
    return {
        key: {
            "report_markdown": dg.MetadataValue.md(_listed_markdown(week.pop("markdown"), week["reports"])),
            "reports_this_week": dg.MetadataValue.int(week.pop("reports")),
            **week,
        }
        for key, week in weeks.items()
    }


def _listed_markdown(markdowns: list[str], reports: int) -> str:
    """The listed reports' Markdown, and how many more the week has (in its files and the table)."""
    more = reports - len(markdowns)
    tail = [f"_{more:,} more reports this week: see `reports_dir` or analytics.weekly_reports._"] if more else []
    return "\n\n---\n\n".join(markdowns + tail)
