"""The weekly report's lifecycle chart, early alerts and posts that brought followers, from hand-built
warehouse rows, rendered as Markdown and opened in a real headless Chromium."""

import math

from social_pipeline.core.lifecycle_report import add_lifecycle_sections, lifecycle_layout
from social_pipeline.core.reports import render_html, render_markdown
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import console_lines, open_in_chromium
from social_pipeline_tests.helpers import sample_report as base_report

WEEK = {"start": "2026-11-02T00:00:00", "end": "2026-11-09T00:00:00"}


def build(con):
    posts = [
        ("old1", "2026-10-20 09:00", "An older post"),
        ("old2", "2026-10-21 09:00", "Another older one"),
        ("w1", "2026-11-03 09:00", "Launch day <b>thread</b>"),
        ("w2", "2026-11-04 09:00", "A quiet one"),
    ]
    for post_id, published_at, text in posts:
        con.execute(
            "INSERT INTO raw.posts (post_id, user_id, text, published_at, source, ingested_at) "
            "VALUES ($id, 'u1', $text, $at, 'test', $at)",
            {"id": post_id, "text": text, "at": published_at},
        )
    for age, share in zip((1, 3, 6, 24, 72, 168), (0.1, 0.3, 0.5, 0.8, 0.9, 1.0), strict=True):
        con.execute(
            "INSERT INTO analytics.account_lifecycle_curves (user_id, age_hours, "
            "median_share_of_week_impressions, posts) VALUES ('u1', $age, $share, 2)",
            {"age": age, "share": share},
        )
    # The older posts' 7-day impressions (median 2,000) and w1's first hours.
    for post_id, age, impressions in [
        ("old1", 168, 1000),
        ("old2", 168, 3000),
        ("w1", 1, 500),
        ("w1", 3, 1500),
        ("w1", 6, 2600),
    ]:
        con.execute(
            "INSERT INTO analytics.post_lifecycle (post_id, user_id, age_hours, snapshot_time, "
            "snapshot_age_hours, impressions, snapshots_used, observed_through_hours) VALUES ($id, 'u1', $age, "
            "now()::TIMESTAMP, $age, $impressions, 1, $age)",
            {"id": post_id, "age": age, "impressions": impressions},
        )
    con.execute(
        "INSERT INTO ops.post_alerts (post_id, user_id, age_hours, direction, actual_impressions, "
        "expected_low, expected_high, expectation_source, snapshot_time, detected_at, delivery_status, "
        "delivery_attempts) "
        "VALUES ('w1', 'u1', 1, 'ahead', 500, 100.4, 300.6, 'reach_model v1', now()::TIMESTAMP, "
        "now()::TIMESTAMP, 'sent', 1)"
    )
    for post_id, published_at, gained, method in [
        ("w1", "2026-11-03 09:00", 12.4, "account_snapshots"),
        ("w2", "2026-11-04 09:00", -3.0, "account_snapshots"),
        ("old1", "2026-10-20 09:00", 40.0, "x_export_new_follows"),
    ]:
        con.execute(
            "INSERT INTO analytics.post_follower_gain (post_id, user_id, published_at, followers_gained, "
            "method) VALUES ($id, 'u1', $at, $gained, $method)",
            {"id": post_id, "at": published_at, "gained": gained, "method": method},
        )


def test_the_week_gets_its_lifecycle_alerts_and_follower_posts(tmp_path):
    con = connect(str(tmp_path / "w.duckdb"))
    build(con)
    report = base_report(user_id="u1", report_period=WEEK)
    add_lifecycle_sections(con, [report])
    con.close()
    # The typical post: the median 7-day impressions (2,000) times the curve's shares.
    assert report["lifecycle"] == {
        "typical": [[1, 200.0], [3, 600.0], [6, 1000.0], [24, 1600.0], [72, 1800.0], [168, 2000.0]],
        "posts": [{"post_id": "w1", "text": "Launch day <b>thread</b>", "points": [[1, 500], [3, 1500], [6, 2600]]}],
    }
    assert report["post_alerts"] == [
        {
            "post_id": "w1",
            "text": "Launch day <b>thread</b>",
            "direction": "ahead",
            "age_hours": 1,
            "actual_impressions": 500,
            "expected_low": 100,
            "expected_high": 301,
        }
    ]
    # w2 lost followers and old1 is another week's: only w1.
    assert report["follower_posts"] == [
        {"post_id": "w1", "text": "Launch day <b>thread</b>", "followers_gained": 12.4, "method": "account_snapshots"}
    ]

    markdown = render_markdown(report)
    assert "| Launch day <b>thread</b> | ahead       |  1 h |           500 | 100-301    |" in markdown
    assert "| Launch day <b>thread</b> |                 12 | follower figures |" in markdown

    layout = lifecycle_layout(report["lifecycle"])
    # Ages on a log axis from 1 h (x = 56) to 7 d (x = 616); impressions on a log10(1 + x) axis whose top
    # (y = 16, 204 px above the base line) is the largest figure, 2,600.
    assert [x for x, _ in layout["ages"]] == [
        round(56 + 560 * math.log(a) / math.log(168), 1) for a in (1, 3, 6, 24, 72, 168)
    ]
    assert layout["typical"].split()[0] == f"56.0,{round(16 + 204 * (1 - math.log10(201) / math.log10(2601)), 1)}"
    assert layout["posts"][0]["last_y"] == 16.0 and len(layout["posts"]) == 1

    html_file = tmp_path / "report.html"
    html_file.write_text(render_html(report), encoding="utf-8")
    dom, log = open_in_chromium(html_file, tmp_path / "profile")
    assert console_lines(log) == []
    assert 'id="lifecycle"' in dom and 'class="typical"' in dom
    assert dom.count('stroke="#e8833a"') == 1  # the week's one post with a lifecycle
    assert "Launch day &lt;b&gt;thread&lt;/b&gt;" in dom and "100-301" in dom
    assert "follower figures" in dom


def test_a_report_without_lifecycle_data_says_so():
    page = render_html(base_report())
    assert "no lifecycle yet: posts need 7 days of snapshots" in page
    assert "No post left its expected band this week." in page
    markdown = render_markdown(base_report())
    assert "_No post left its expected band this week._" in markdown
