"""The weekly assets in real Dagster runs on a small simulated warehouse, and `run_plan`."""

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from social_pipeline.app.cli import run_plan
from social_pipeline.core.metrics import estimated_recruiter_reach
from social_pipeline.defs.analytics.assets import (
    best_posting_times,
    engagement_by_content_type,
    recruiter_metrics,
    user_summary,
    week_runs,
)
from social_pipeline.defs.analytics.checks import (
    WEEKLY_RATE_CHECKS,
    best_time_slots_have_two_posts,
    recruiter_reach_matches_formula,
)
from social_pipeline.defs.common import WEEKLY_PARTITIONS, add_partition_keys, complete_weeks, partition_range_tags
from social_pipeline.defs.reporting import assets as reporting
from social_pipeline.defs.reporting.checks import reports_for_every_active_user
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.sources.simulated import SimulatedSource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import file_stores_under, refresh_post_tables

WEEK = "2026-11-09"  # a Monday; the simulated history below covers it and the 2 weeks before
ASSETS = [
    *WEEKLY_RATE_CHECKS,
    best_time_slots_have_two_posts,
    reports_for_every_active_user,
    recruiter_reach_matches_formula,
    user_summary,
    engagement_by_content_type,
    best_posting_times,
    recruiter_metrics,
    reporting.weekly_report,
]


def with_weeks(*weeks: str) -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    add_partition_keys(instance, WEEKLY_PARTITIONS, list(weeks))
    return instance


def build_simulated_warehouse(path: str, start: str = "2026-10-26") -> None:
    """Weeks from `start` (by default three) of two simulated accounts, each post collected once at the end (fast)."""
    source = SimulatedSource(num_accounts=2)
    start, end = pd.Timestamp(start), pd.Timestamp("2026-11-16")
    posts = source.fetch_posts(source.user_ids(), start, end).assign(source="simulated", ingested_at=end)
    requests = pd.DataFrame({"post_id": posts["post_id"], "collected_at": end + pd.Timedelta(hours=12)})
    metrics = source.fetch_metrics(requests).frame.assign(
        source="simulated", partition_key="2026-11-16-11:00", written_at=end
    )
    activity = source.fetch_profile_activity(source.user_ids(), list(pd.date_range(start, end - pd.Timedelta(days=1))))
    activity = activity.assign(source_file="simulated", ingested_at=end)
    con = connect(path)
    for table, frame in (("raw.posts", posts), ("raw.tweet_metrics", metrics), ("raw.profile_activity", activity)):
        con.register("incoming", frame)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
        con.unregister("incoming")
    refresh_post_tables(con)
    con.close()


def reporting_resources(database: str, reports_dir: Path) -> dict:
    return {
        "warehouse": WarehouseResource(database=database),
        "file_stores": file_stores_under(reports_dir.parent / "outputs", reports_dir=str(reports_dir)),
    }


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    """Built and materialised once for the module; tests that change rows work on a copy."""
    tmp_path = tmp_path_factory.mktemp("reporting")
    path = str(tmp_path / "w.duckdb")
    build_simulated_warehouse(path)
    result = dg.materialize(
        ASSETS, partition_key=WEEK, resources=reporting_resources(path, tmp_path / "reports"), instance=with_weeks(WEEK)
    )
    return path, result, tmp_path / "reports"


def test_one_week_materializes_with_known_values_and_passing_checks(materialized):
    path, result, reports_dir = materialized
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 6 and all(c.passed for c in checks)

    con = connect(path, read_only=True)
    posts = con.execute(
        "SELECT * FROM analytics.post_performance WHERE published_at >= '2026-11-09' AND published_at < '2026-11-16'"
    ).df()
    summary = con.execute("SELECT * FROM analytics.user_summary ORDER BY user_id").df()
    by_type = con.execute("SELECT * FROM analytics.engagement_by_content_type").df()
    best = con.execute("SELECT * FROM analytics.best_posting_times").df()
    recruiter = con.execute("SELECT * FROM analytics.recruiter_metrics ORDER BY user_id").df()
    reports = con.execute("SELECT * FROM analytics.weekly_reports ORDER BY user_id").df()
    activity = con.execute("SELECT * FROM raw.profile_activity").df()
    rolling = con.execute("SELECT count(*) FROM analytics.user_summary_30d").fetchall()[0][0]
    con.close()

    # user_summary against pandas over the same posts.
    expected = (
        posts.groupby("user_id")
        .agg(
            total_posts=("post_id", "size"),
            total_impressions=("impressions", "sum"),
            avg_rate=("engagement_rate_pct", "mean"),
        )
        .sort_index()
    )
    assert summary["user_id"].tolist() == ["alice_data", "bytes_and_beans"]
    assert summary["total_posts"].tolist() == expected["total_posts"].tolist()
    assert summary["total_impressions"].tolist() == expected["total_impressions"].tolist()
    assert summary["avg_engagement_rate_pct"].tolist() == pytest.approx(expected["avg_rate"].tolist())
    assert summary["period_start"].unique().tolist() == [pd.Timestamp(WEEK)]
    assert by_type["posts"].sum() == len(posts)
    assert rolling == 2

    # Best times: the 90-day window holds the whole history here.
    assert (best["posts_count"] >= 2).all() and best.groupby("user_id")["rank"].max().le(10).all()
    assert best["window_end"].unique().tolist() == [pd.Timestamp("2026-11-16")]

    # Recruiter figures: the 7 days of the week and the 21 recorded days before its end.
    week_views = (
        activity[pd.to_datetime(activity["snapshot_date"]) >= pd.Timestamp(WEEK)]
        .groupby("user_id")["profile_views"]
        .sum()
    )
    all_views = activity.groupby("user_id")["profile_views"].sum()
    assert recruiter["profile_views_7d"].tolist() == week_views.sort_index().tolist()
    assert recruiter["profile_views_30d"].tolist() == all_views.sort_index().tolist()
    assert recruiter["estimated_recruiter_reach"].tolist() == [
        estimated_recruiter_reach(v) for v in all_views.sort_index()
    ]

    # Reports: one per user, JSON in the seed's shape, files written, Markdown in the metadata.
    assert reports["user_id"].tolist() == ["alice_data", "bytes_and_beans"]
    report = json.loads(reports["report_json"][0])
    assert report["summary"]["total_posts"] == summary["total_posts"][0]
    assert (
        len(report["top_posts"]) == min(5, summary["total_posts"][0])
        and report["report_period"]["start"] == "2026-11-09T00:00:00"
    )
    md_file = reports_dir / "alice_data" / "2026-11-09.md"
    assert md_file.read_text() == reports["report_markdown"][0]
    assert (reports_dir / "alice_data" / "2026-11-09.html").read_text().startswith("<!DOCTYPE html>")
    assert not list(reports_dir.rglob("*.tmp"))
    meta = result.asset_materializations_for_node("weekly_report")[0].metadata
    assert "# Weekly social media report: alice_data" in meta["report_markdown"].value
    assert Path(meta["html_report/alice_data"].value) == (reports_dir / "alice_data" / "2026-11-09.html").resolve()
    assert Path(meta["markdown_report/alice_data"].value) == md_file.resolve()


def test_rerunning_a_week_replaces_it(materialized):
    path, _, reports_dir = materialized
    again = dg.materialize(
        ASSETS, partition_key=WEEK, resources=reporting_resources(path, reports_dir), instance=with_weeks(WEEK)
    )
    assert again.success
    con = connect(path, read_only=True)
    counts = [
        con.execute(f"SELECT count(*) FROM analytics.{t}").fetchall()[0][0]
        for t in ("user_summary", "recruiter_metrics", "weekly_reports")
    ]
    con.close()
    assert counts == [2, 2, 2]


def test_the_checks_fail_on_bad_rows(materialized, tmp_path):
    path = str(tmp_path / "copy.duckdb")
    shutil.copyfile(materialized[0], path)
    con = connect(path)
    con.execute("UPDATE analytics.recruiter_metrics SET estimated_recruiter_reach = estimated_recruiter_reach + 1")
    con.execute("UPDATE analytics.best_posting_times SET posts_count = 1 WHERE rank = 1")
    con.execute("UPDATE analytics.user_summary SET avg_engagement_rate_pct = 101 WHERE user_id = 'alice_data'")
    con.execute("DELETE FROM analytics.weekly_reports WHERE user_id = 'alice_data'")
    con.close()
    warehouse = WarehouseResource(database=path)
    assert not recruiter_reach_matches_formula(warehouse=warehouse).passed
    assert not best_time_slots_have_two_posts(warehouse=warehouse).passed
    assert not reports_for_every_active_user(check_context(), warehouse=warehouse).passed
    assert not WEEKLY_RATE_CHECKS[0](warehouse=warehouse).passed


def check_context(*materialized_weeks: str) -> dg.AssetCheckExecutionContext:
    """A check context whose instance records these weekly_report partitions as materialised."""
    instance = dg.DagsterInstance.ephemeral()
    for week in materialized_weeks:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=reporting.weekly_report.key, partition=week)
        )
    return dg.build_asset_check_context(instance=instance)


def test_missing_reports_check_sees_a_materialised_week_whose_rows_all_vanished(materialized, tmp_path):
    path = str(tmp_path / "copy.duckdb")
    shutil.copyfile(materialized[0], path)
    warehouse = WarehouseResource(database=path)
    assert reports_for_every_active_user(check_context(WEEK), warehouse=warehouse).passed
    con = connect(path)
    con.execute("DELETE FROM analytics.weekly_reports")
    con.close()
    result = reports_for_every_active_user(check_context(WEEK), warehouse=warehouse)
    assert not result.passed and result.metadata["missing_reports"].value == 2
    # A week never materialised is not a missing report.
    assert reports_for_every_active_user(check_context(), warehouse=warehouse).passed


def test_run_plan_covers_complete_weeks_of_the_history():
    plan = run_plan(pd.Timestamp("2026-11-23 01:30"), days=30)
    assert plan[1] == ("weekly_reporting", "2026-10-26", "2026-11-16")
    assert complete_weeks(pd.Timestamp("2026-11-09 00:00"), pd.Timestamp("2026-11-16 00:00")) == ["2026-11-09"]
    assert complete_weeks(pd.Timestamp("2026-11-09 00:01"), pd.Timestamp("2026-11-23 00:00")) == ["2026-11-16"]
    assert complete_weeks(pd.Timestamp("2026-11-10"), pd.Timestamp("2026-11-16")) == []
    assert plan[2] == ("ml_training", None, None)
    assert [job for job, _, _ in run_plan(pd.Timestamp("2026-11-23 01:30"), days=3)] == [
        "hourly_collection",
        "ml_training",
        "prediction_feedback",
        "publish_bi_copy",
    ]


def test_run_plan_materialises_every_asset_but_the_per_file_inbox():
    from social_pipeline.definitions import defs

    planned = set()
    for job, _, _ in run_plan(pd.Timestamp("2026-11-23 01:30"), days=30):
        planned |= set(defs.resolve_job_def(job).asset_layer.executable_asset_keys)
    every = {
        key
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if defs.resolve_asset_graph().get(key).is_executable
    }
    assert every - planned == {dg.AssetKey("inbox_files")}


def latest_of_partition(instance, asset, week):
    [record] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset.key, asset_partitions=[week]), limit=1
    ).records
    return record.asset_materialization


def test_a_range_run_records_each_week_with_its_own_reports_and_preview(tmp_path):
    """Weeks added out of order (an older week imported later), then one run over the range: every
    week's materialization carries that week's reports of every account and its own preview, and the
    asset's latest materialization is the newest week's."""
    path = str(tmp_path / "w.duckdb")
    build_simulated_warehouse(path)
    instance = with_weeks("2026-11-02", "2026-11-09")
    add_partition_keys(instance, WEEKLY_PARTITIONS, ["2026-10-26"])
    weeks = ["2026-10-26", "2026-11-02", "2026-11-09"]
    result = dg.materialize(
        ASSETS,
        resources=reporting_resources(path, tmp_path / "reports"),
        instance=instance,
        tags=partition_range_tags("2026-11-02", "2026-10-26"),
    )
    assert result.success
    con = connect(path, read_only=True)
    reports = con.execute(
        "SELECT strftime(week_start, '%Y-%m-%d'), user_id, report_markdown, html_path "
        "FROM analytics.weekly_reports ORDER BY 1, 2"
    ).fetchall()
    best = dict(
        con.execute(
            "SELECT strftime(window_end - INTERVAL 7 DAY, '%Y-%m-%d'), count(*) "
            "FROM analytics.best_posting_times GROUP BY 1"
        ).fetchall()
    )
    con.close()
    assert sorted({r[0] for r in reports}) == weeks and len(reports) == 6  # 2 accounts x 3 weeks

    latest = instance.get_latest_materialization_event(reporting.weekly_report.key).asset_materialization
    assert latest.partition == "2026-11-09"
    for week in weeks:
        meta = latest_of_partition(instance, reporting.weekly_report, week).metadata
        own = [r for r in reports if r[0] == week]
        assert meta["report_markdown"].value == "\n\n---\n\n".join(r[2] for r in own)
        assert {k: v.value for k, v in meta.items() if k.startswith("html_report/")} == {
            f"html_report/{r[1]}": r[3] for r in own
        }
        assert all(isinstance(meta[f"html_report/{r[1]}"], dg.PathMetadataValue) for r in own)
        assert not any(isinstance(v, dg.UrlMetadataValue) for v in meta.values())
        times = latest_of_partition(instance, best_posting_times, week).metadata
        assert times["dagster/partition_row_count"].value == best.get(week, 0)
        preview = times["preview"].records
        assert len(preview) == min(5, best.get(week, 0))
        assert {r.data["window_end"] for r in preview} <= {str(pd.Timestamp(week) + pd.Timedelta(days=7))}
    assert best["2026-11-09"] > 0  # a slot needs 2 posts: the earlier weeks have none, and an empty preview
    assert latest.metadata["report_markdown"].value.count("# Weekly social media report:") == 2


def test_the_weekly_report_footer_and_metadata_show_the_week_s_x_spend_per_account(tmp_path):
    database = str(tmp_path / "w.duckdb")
    build_simulated_warehouse(database)
    con = connect(database)
    usage = [
        ("2026-11-09", "GET /2/tweets", "alice_data", 2, 300, 1.50),  # the week: Monday ...
        ("2026-11-15", "GET /2/users/:id/tweets", "alice_data", 5, 400, 0.40),  # ... to Sunday
        ("2026-11-16", "GET /2/tweets", "alice_data", 1, 100, 0.50),  # next week
        ("2026-11-08", "GET /2/tweets", "alice_data", 1, 100, 0.50),
    ]  # the week before
    con.executemany("INSERT INTO ops.x_api_usage VALUES (?, ?, ?, 'post_read', 'r1', ?, ?, ?, now())", usage)
    con.close()
    reports_dir = tmp_path / "reports"
    result = dg.materialize(
        ASSETS, partition_key=WEEK, resources=reporting_resources(database, reports_dir), instance=with_weeks(WEEK)
    )
    assert result.success
    footer = "X API reads of this account this week: $1.90 estimated at list price (700 resources in 7 requests)."
    markdown = (reports_dir / "alice_data" / f"{WEEK}.md").read_text()
    assert markdown.endswith(f"---\n\n_{footer}_\n")
    assert (
        f'<footer class="muted" id="x-api-spend">{footer}</footer>'
        in (reports_dir / "alice_data" / f"{WEEK}.html").read_text()
    )
    # The other account read nothing from X: no footer.
    assert "X API reads" not in (reports_dir / "bytes_and_beans" / f"{WEEK}.md").read_text()
    meta = result.asset_materializations_for_node("weekly_report")[0].metadata
    assert meta["x_api_usd_by_account"].value == {"alice_data": 1.9}


def test_rerunning_a_week_keeps_unchanged_report_files_and_rewrites_a_changed_one(tmp_path):
    """A rerun over the same data rewrites no report file (each keeps its modification time and the
    row its generated_at); a changed figure rewrites that account's files only, with a new generated_at."""
    path = str(tmp_path / "w.duckdb")
    build_simulated_warehouse(path)
    reports_dir = tmp_path / "reports"

    def run():
        result = dg.materialize(
            ASSETS, partition_key=WEEK, resources=reporting_resources(path, reports_dir), instance=with_weeks(WEEK)
        )
        assert result.success
        con = connect(path, read_only=True)
        generated = dict(con.execute("SELECT user_id, generated_at FROM analytics.weekly_reports").fetchall())
        con.close()
        return result.asset_materializations_for_node("weekly_report")[0].metadata, generated

    _, first = run()
    files = sorted(reports_dir.rglob("*.*"))
    assert [f.relative_to(reports_dir).as_posix() for f in files] == [
        "alice_data/2026-11-09.html",
        "alice_data/2026-11-09.md",
        "bytes_and_beans/2026-11-09.html",
        "bytes_and_beans/2026-11-09.md",
    ]
    contents = {f: f.read_bytes() for f in files}
    for f in files:
        os.utime(f, (1_000_000_000, 1_000_000_000))

    meta, again = run()
    assert again == first
    assert {f: (f.stat().st_mtime, f.read_bytes()) for f in files} == {f: (1_000_000_000, contents[f]) for f in files}
    assert (meta["report_files_rewritten"].value, meta["report_files_unchanged"].value) == (0, 4)

    con = connect(path)
    con.execute(
        "UPDATE analytics.post_performance SET impressions = impressions + 1000 WHERE post_id = ("
        "SELECT min(post_id) FROM raw.posts WHERE user_id = 'alice_data' AND published_at >= $week "
        "AND published_at < $week::TIMESTAMP + INTERVAL 7 DAY)",
        {"week": WEEK},
    )
    con.close()
    meta, changed = run()
    assert changed["bytes_and_beans"] == first["bytes_and_beans"] and changed["alice_data"] > first["alice_data"]
    assert (meta["report_files_rewritten"].value, meta["report_files_unchanged"].value) == (2, 2)
    mtimes = {f.relative_to(reports_dir).parts[0]: f.stat().st_mtime for f in files}
    assert mtimes["bytes_and_beans"] == 1_000_000_000 and mtimes["alice_data"] > 1_000_000_000
    assert str(changed["alice_data"].isoformat()) in (reports_dir / "alice_data" / f"{WEEK}.md").read_text()


def test_a_week_s_metadata_lists_at_most_reports_listed_per_week_reports():
    """An agency's week of 1,000 reports: the materialization lists the first accounts' Markdown and
    files and says how many more there are, so an event stays small."""
    listed = reporting.REPORTS_LISTED_PER_WEEK
    rows = [
        {
            "user_id": f"u{i:03d}",
            "week_start": pd.Timestamp(WEEK).date(),
            "report_markdown": f"# report {i}\n",
            "markdown_path": f"/r/u{i:03d}/{WEEK}.md",
            "html_path": f"/r/u{i:03d}/{WEEK}.html",
        }
        for i in range(listed + 5)
    ]
    meta = reporting._report_metadata(rows, {})[WEEK]
    assert meta["reports_this_week"].value == listed + 5
    assert sorted(k for k in meta if k.startswith("html_report/")) == [f"html_report/u{i:03d}" for i in range(listed)]
    markdown = meta["report_markdown"].value
    assert (
        markdown.count("# report ") == listed and "# report 0\n" in markdown and f"# report {listed}\n" not in markdown
    )
    assert markdown.endswith("_5 more reports this week: see `reports_dir` or analytics.weekly_reports._")


def test_a_range_longer_than_one_statement_equals_its_weeks_run_one_by_one(tmp_path):
    """Six weeks: a range run computes them in statements of WEEKS_PER_STATEMENT (4) weeks, 4 + 2; every
    table and report equals what each week's own run writes."""
    weeks = [str(d.date()) for d in pd.date_range("2026-10-05", "2026-11-09", freq="7D")]
    at = pd.Timestamp
    assert week_runs(list(reversed(weeks))) == [
        {"first_week_start": at("2026-10-05"), "weeks_end": at("2026-11-02")},
        {"first_week_start": at("2026-11-02"), "weeks_end": at("2026-11-16")},
    ]
    tables = {}
    for how in ("range", "one_by_one"):
        path = str(tmp_path / f"{how}.duckdb")
        build_simulated_warehouse(path, start="2026-10-05")
        instance = with_weeks(*weeks)
        resources = reporting_resources(path, tmp_path / how / "reports")
        if how == "range":
            runs = [dict(tags=partition_range_tags(weeks[0], weeks[-1]))]
        else:
            runs = [dict(partition_key=week) for week in weeks]
        for run in runs:
            assert dg.materialize(ASSETS, resources=resources, instance=instance, **run).success
        with connect(path, read_only=True) as con:
            tables[how] = {
                table: con.execute(f"SELECT {columns} FROM analytics.{table} ORDER BY ALL").df()
                for table, columns in (
                    ("user_summary", "*"),
                    ("best_posting_times", "*"),
                    ("engagement_by_content_type", "*"),
                    ("recruiter_metrics", "*"),
                    # The text of each report without the time it was generated.
                    ("weekly_reports", "user_id, week_start, regexp_replace(report_markdown, 'Generated [^\n]*', '')"),
                )
            }
    for table, frame in tables["range"].items():
        pd.testing.assert_frame_equal(frame, tables["one_by_one"][table], obj=table)
    assert len(tables["range"]["weekly_reports"]) == 12  # 2 accounts x 6 weeks
    assert tables["range"]["best_posting_times"]["window_end"].nunique() >= 2
