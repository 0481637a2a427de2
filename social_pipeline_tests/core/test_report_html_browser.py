"""The HTML report in a real headless Chromium: it renders, shows its content, logs no console errors.

Skips only when Chromium is absent on a developer machine; in CI (CI=true) a missing
Chromium fails the test (`.ci/run` installs it).
"""

import pandas as pd
import pytest

from social_pipeline.core import analytics_queries as q
from social_pipeline.core.reports import render_html
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import (
    add_post,
    add_profile_day,
    console_lines,
    open_in_chromium,
    refresh_post_tables,
)


@pytest.fixture
def report(tmp_path):
    con = connect(str(tmp_path / "w.duckdb"))
    add_post(
        con,
        "1",
        "ana",
        "2026-03-02 09:00",
        1000,
        likes=60,
        content_type="video",
        text="Our <b>DuckDB</b> & Dagster pipeline, explained 🦆",
    )
    add_post(con, "2", "ana", "2026-03-03 18:00", 400, likes=4, content_type="image", text="Chart of the week")
    add_post(con, "3", "ana", "2026-02-23 09:30", 300, likes=6, content_type="text", text="Older post")
    for day in pd.date_range("2026-02-01", "2026-03-08"):
        add_profile_day(con, "ana", day, 4)
    refresh_post_tables(con)
    (built,) = q.weekly_reports(
        con,
        q.report_periods_sql(),
        {"first_week_start": pd.Timestamp("2026-03-02"), "weeks_end": pd.Timestamp("2026-03-09")},
        pd.Timestamp("2026-03-09 01:00"),
    )
    con.close()
    return built


def test_report_renders_in_chromium_without_console_errors(report, tmp_path):
    html_file = tmp_path / "report.html"
    html_file.write_text(render_html(report), encoding="utf-8")
    dom, log = open_in_chromium(html_file, tmp_path / "profile")
    assert console_lines(log) == []
    assert "Weekly social media report: ana, week of 2026-03-02" in dom
    assert "Our &lt;b&gt;DuckDB&lt;/b&gt; &amp; Dagster pipeline, explained 🦆" in dom  # escaped, not markup
    assert dom.count("<rect") >= 7 * 24  # the heat map's cells (+ the trend bars)
    assert 'id="trend"' in dom and "<polyline" in dom
    assert "Your best time to post is Monday at 09:00 UTC" in dom
    source = html_file.read_text()
    assert not any(ref in source for ref in ("<script", "src=", "href=", "url(", "@import"))  # self-contained


def test_the_console_check_catches_errors(tmp_path):
    """Control: a page that logs a console error is caught by the same check."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>console.error('boom')</script></body></html>")
    _, log = open_in_chromium(broken, tmp_path / "profile")
    assert any("boom" in line for line in console_lines(log))
