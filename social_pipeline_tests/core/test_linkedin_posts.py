"""LinkedIn's TOP POSTS and daily followers as posts and follower figures of the `linkedin` network: the shared
post tables, their rates per impression, idempotent re-downloads and a weekly report of their own."""

from __future__ import annotations

import pandas as pd
import pytest

from social_pipeline.core import analytics_queries as q
from social_pipeline.core.reports import render_markdown
from social_pipeline.sources.inbox_files import ingest_file
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import DAILY, TOP_ENGAGEMENTS, TOP_IMPRESSIONS, refresh_post_tables, workbook_xlsx

NOW = pd.Timestamp("2026-08-10 12:00")
WEEK = {"period_start": pd.Timestamp("2026-07-27"), "period_end": pd.Timestamp("2026-08-03")}


@pytest.fixture
def con(tmp_path):
    connection = connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def ingest(con, tmp_path, name: str, content: bytes, now=NOW):
    path = tmp_path / name
    path.write_bytes(content)
    return ingest_file(con, path, default_user="ada", now=now)


def test_top_posts_are_linkedin_posts_rated_per_impression_without_a_weighted_score(con, tmp_path):
    ingest(con, tmp_path, "Content.xlsx", workbook_xlsx(TOP_ENGAGEMENTS, TOP_IMPRESSIONS, DAILY, total_followers=1200))
    posts = con.execute(
        "SELECT post_id, user_id, published_at::VARCHAR, published_time_known, network FROM raw.posts ORDER BY 1"
    ).fetchall()
    assert posts == [
        ("urn:li:activity:1", "ada", "2026-08-01 00:00:00", False, "linkedin"),
        ("urn:li:activity:2", "ada", "2026-08-02 00:00:00", False, "linkedin"),
    ]
    refresh_post_tables(con)
    snapshots = con.execute(
        "SELECT post_id, impressions, likes, engagements, round(engagement_rate_pct, 4), weighted_engagement_score, "
        "engagement_basis, network FROM analytics.post_snapshots ORDER BY 1"
    ).fetchall()
    # 40 / 700 * 100 = 5.7143 and 12 / 900 * 100 = 1.3333; likes etc. are not split, so no weighted score.
    assert snapshots == [
        ("urn:li:activity:1", 700, None, 40, 5.7143, None, "impressions", "linkedin"),
        ("urn:li:activity:2", 900, None, 12, 1.3333, None, "impressions", "linkedin"),
    ]
    # Followers: 1,200 stated for 8/2, so 8/1 ended with 1,200 - 5 (8/2's new followers) = 1,195.
    followers = con.execute(
        "SELECT collected_at::VARCHAR, followers, network FROM raw.account_snapshots WHERE user_id = 'ada' ORDER BY 1"
    ).fetchall()
    assert followers == [("2026-08-01 00:00:00", 1195, "linkedin"), ("2026-08-02 00:00:00", 1200, "linkedin")]


def test_a_newer_workbook_adds_a_snapshot_only_for_changed_figures(con, tmp_path):
    first = workbook_xlsx(TOP_ENGAGEMENTS, TOP_IMPRESSIONS, DAILY, total_followers=1200)
    ingest(con, tmp_path, "first.xlsx", first, now=NOW - pd.Timedelta(days=1))
    ingest(con, tmp_path, "first again.xlsx", first)
    assert con.execute("SELECT count(*) FROM raw.tweet_metrics").fetchone()[0] == 2
    newer = workbook_xlsx(
        [TOP_ENGAGEMENTS[0], (TOP_ENGAGEMENTS[1][0], "8/2/2026", 15)],
        [(TOP_IMPRESSIONS[0][0], "8/2/2026", 1000), TOP_IMPRESSIONS[1]],
        DAILY + [("8/3/2026", 300, 9, 1)],
        total_followers=1201,
    )
    ingest(con, tmp_path, "newer.xlsx", newer)
    ingest(con, tmp_path, "newer copy.xlsx", newer + b"")  # the same bytes: a duplicate
    metrics = con.execute(
        "SELECT post_id, impressions, engagements, network FROM raw.tweet_metrics ORDER BY post_id, collected_at"
    ).fetchall()
    assert metrics == [
        ("urn:li:activity:1", 700, 40, "linkedin"),
        ("urn:li:activity:2", 900, 12, "linkedin"),
        ("urn:li:activity:2", 1000, 15, "linkedin"),
    ]
    assert con.execute("SELECT count(*) FROM raw.posts").fetchone()[0] == 2
    followers = con.execute("SELECT followers FROM raw.account_snapshots ORDER BY collected_at").fetchall()
    assert followers == [(1195,), (1200,), (1201,)]


def test_a_linkedin_only_account_gets_its_own_report_with_its_posts(con, tmp_path):
    ingest(con, tmp_path, "Content.xlsx", workbook_xlsx(TOP_ENGAGEMENTS, TOP_IMPRESSIONS, DAILY, total_followers=1200))
    refresh_post_tables(con)
    (report,) = q.weekly_reports(con, q.ONE_PERIOD_SQL, {"user_id": "ada", **WEEK}, NOW)
    assert (report["network"], report["engagement_basis"]) == ("linkedin", "impressions")
    assert report["summary"]["total_posts"] == 2 and report["summary"]["total_impressions"] == 1600
    assert [(p["post_id"], p["engagements"], p["engagement_rate"]) for p in report["top_posts"]] == [
        ("urn:li:activity:1", 40, pytest.approx(40 / 7)),
        ("urn:li:activity:2", 12, pytest.approx(4 / 3)),
    ]
    note = (
        "Network: LinkedIn; engagement rates are engagements per impression; LinkedIn's export does not split "
        "likes, reposts and comments, so there is no weighted score."
    )
    assert note in render_markdown(report).splitlines()


def test_a_share_url_is_keyed_by_its_activity_and_a_post_in_one_list_has_only_that_figure(con, tmp_path):
    share = "https://www.linkedin.com/posts/ada-lovelace_engines-activity-7212345678901234567-AbCd"
    content = workbook_xlsx([(share, "8/1/2026", 30)], [(TOP_IMPRESSIONS[0][0], "8/2/2026", 900)], DAILY)
    ingest(con, tmp_path, "Content.xlsx", content)
    refresh_post_tables(con)
    rows = con.execute(
        "SELECT post_id, impressions, engagements, engagement_rate_pct FROM analytics.post_snapshots ORDER BY 1"
    ).fetchall()
    # Without the other figure there is no rate (never a made-up 0).
    assert rows == [("urn:li:activity:2", 900, None, None), ("urn:li:activity:7212345678901234567", None, 30, None)]
