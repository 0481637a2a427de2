"""The scale section's floors give our tables' answers and catch a wrong one; the hourly and weekly runs
it times are real Dagster runs on a scale history; its table and chart."""

import shutil

import duckdb
import pandas as pd
import pytest

from bench.history import complete_weeks
from bench.scale import floor, hourly, markdown_table, svg_chart, weekly, write_docs
from bench.scale_history import write_scale_history
from bench.worker import analytics_sql
from social_pipeline.core.collection import is_due


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """4 accounts x 20 days (ending Monday 2026-11-16: the weeks of 11-02 and 11-09 are complete), post
    tables and weekly summaries built by the assets' SQL."""
    database = str(tmp_path_factory.mktemp("scale") / "scale.duckdb")
    written = write_scale_history(database, accounts=4, days=20)
    weeks = complete_weeks(written["start"], written["end"])
    analytics_sql(database, weeks[0], weeks[-1])
    return database, weeks


def _span(weeks):
    return {"first_week": weeks[0], "weeks_end": str((pd.Timestamp(weeks[-1]) + pd.Timedelta(days=7)).date())}


def test_the_floors_give_our_answers(built):
    database, weeks = built
    assert weeks == ["2026-11-02", "2026-11-09"]
    rebuilt = floor(database, "rebuild", _span(weeks))
    assert (rebuilt["rows"], rebuilt["posts_differing"], rebuilt["user_weeks_differing"]) == (4 * 14, 0, 0)
    week = floor(database, "weekly", {"week": weeks[-1]})
    assert (week["rows"], week["user_weeks_differing"]) == (4, 0)


def test_a_wrong_figure_is_caught(built, tmp_path):
    database, weeks = built
    wrong = str(tmp_path / "wrong.duckdb")
    shutil.copy(database, wrong)
    with duckdb.connect(wrong) as con:
        con.execute("UPDATE analytics.post_performance SET impressions = impressions + 1 WHERE post_id = 'p2_15'")
        con.execute(
            "UPDATE analytics.user_summary SET total_engagements = total_engagements + 1 "
            "WHERE user_id = 'u3' AND period_start = '2026-11-02'"
        )
    rebuilt = floor(wrong, "rebuild", _span(weeks))
    assert (rebuilt["posts_differing"], rebuilt["user_weeks_differing"]) == (1, 1)
    assert floor(wrong, "weekly", {"week": "2026-11-02"})["user_weeks_differing"] == 1
    assert floor(wrong, "weekly", {"week": "2026-11-09"})["user_weeks_differing"] == 0


def test_hourly_and_weekly_runs_refresh_what_the_floors_compute(built, tmp_path, file_stores):
    database, weeks = built
    copy = str(tmp_path / "copy.duckdb")
    shutil.copy(database, copy)
    with duckdb.connect(copy, read_only=True) as con:
        posts = con.execute("SELECT post_id, published_at FROM raw.posts").fetchall()
    due = [p for p, published in posts if is_due(published, pd.Timestamp("2026-11-16 01:00"))]
    ran = hourly(copy, file_stores)
    assert (ran["new_snapshots"], ran["partition_key"]) == (len(due), "2026-11-16-00:00")
    assert ran["checks"] == 5  # the checks of post_snapshots (3) and post_performance (1), post_alerts (1)
    checked = floor(copy, "hourly", {"key": ran["partition_key"]})
    assert (checked["rows"], checked["posts_differing"]) == (len(due), 0)
    assert weekly(copy, weeks[-1], file_stores)["seconds"] > 0
    assert floor(copy, "weekly", {"week": weeks[-1]})["user_weeks_differing"] == 0
    with duckdb.connect(copy, read_only=True) as con:
        reports = con.execute(
            "SELECT count(*) FROM analytics.weekly_reports WHERE week_start = '2026-11-09'"
        ).fetchall()
    assert reports == [(4,)]


def _row(section, backend, snapshots, seconds, rss):
    return {
        "section": section,
        "backend": backend,
        "snapshots": snapshots,
        "runs": 3,
        "ours_s_mean": seconds,
        "ours_s_worst": seconds * 1.5,
        "floor_s_mean": seconds / 10,
        "ours_vs_floor_mean": 10.0,
        "ours_vs_floor_worst": 15.0,
        "peak_rss_mb": rss,
        "warehouse_mb": 250.4,
        "load_average_1m": 1.2,
        "duckdb_memory_limit": "4 GiB",
        "duckdb_threads": 2,
    }


def test_the_docs_table_and_chart(tmp_path):
    rows = [
        _row(section, backend, snapshots, 2.0, 500.0)
        for section in ("hourly", "weekly", "rebuild")
        for backend in ("file", "lake")
        for snapshots in (10_000, 1_000_000)
    ]
    rows[-3]["rebuild_speedup_vs_baseline"] = 12.345  # the file's rebuild at 1M
    assert (rows[-3]["section"], rows[-3]["backend"], rows[-3]["snapshots"]) == ("rebuild", "file", 1_000_000)
    table = markdown_table(rows).splitlines()
    assert len(table) == 2 + 12
    assert table[2] == "| 10,000 | hourly refresh | file | 3 | 2 / 3 | 0.2 | 10.0× / 15.0× | | 500 | 250 |"
    chart = svg_chart(rows)
    assert chart.count("<polyline") == 2 * 6  # two panels, a line per section and backend
    # x: 10k at the left panel's axis (56), 1M two decades on at 56 + (440 - 2 x 56) = 384.
    assert '<circle cx="56.0"' in chart and '<circle cx="384.0"' in chart
    page, image = tmp_path / "performance.md", tmp_path / "performance_scale.svg"
    page.write_text("# Performance\n\nKept.\n")
    report = {"cpu_count": 2, "duckdb": "1.x", "rows": rows}
    write_docs(report, page, image)
    write_docs(report, page, image)  # again: the section is replaced, not added twice
    text = page.read_text()
    assert text.startswith("# Performance\n\nKept.\n") and text.count("| 1,000,000 | full rebuild | lake |") == 1
    assert "| 1,000,000 | full rebuild | file | 3 | 2 / 3 | 0.2 | 10.0× / 15.0× | 12.3× | 500 | 250 |" in text
    assert "![time and peak memory against history size](performance_scale.svg)" in text
    assert image.read_text() == chart
