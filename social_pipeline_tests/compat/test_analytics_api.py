"""`AnalyticsCollector`: the seed's method names, keys and types, and its example code run unchanged."""

from datetime import datetime, timedelta

import pandas as pd
import pytest

from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import add_post, add_profile_day, refresh_post_tables

AS_OF = pd.Timestamp("2026-03-09 06:00")
SUMMARY_KEYS = {
    "total_posts": int,
    "total_impressions": int,
    "total_engagements": int,
    "avg_engagement_rate": float,
    "best_post": dict,
    "worst_post": dict,
    "engagement_by_type": dict,
    "time_range": dict,
}
SLOT_KEYS = {
    "day_of_week": int,
    "day_name": str,
    "hour": int,
    "avg_engagement_rate": float,
    "posts_count": int,
    "total_impressions": int,
    "total_engagements": int,
}
RECRUITER_KEYS = [
    "profile_views_7d",
    "profile_views_30d",
    "connection_requests",
    "inmails_received",
    "recruiter_engagements",
    "profile_saves",
    "conversations_started",
    "interviews_scheduled",
    "estimated_recruiter_reach",
    "view_change_pct",
]
REPORT_KEYS = [
    "report_period",
    "summary",
    "top_posts",
    "engagement_breakdown",
    "best_times",
    "recruiter_metrics",
    "trends",
    "recommendations",
    "generated_at",
]


@pytest.fixture
def warehouse(tmp_path):
    path = str(tmp_path / "w.duckdb")
    con = connect(path)
    add_post(
        con,
        "1",
        "7",
        "2026-03-02 09:00",
        1000,
        likes=40,
        retweets=5,
        replies=3,
        quotes=2,
        content_type="image",
        text="Shipping our DuckDB pipeline",
    )
    add_post(con, "2", "7", "2026-03-04 09:30", 500, likes=5, content_type="text")
    add_post(con, "3", "7", "2026-02-23 09:10", 0, likes=2, content_type="poll")
    for day in pd.date_range("2026-02-01", "2026-03-08"):
        add_profile_day(con, "7", day, 5, inmails_received=1)
    refresh_post_tables(con)
    con.close()  # the collector opens the file read-only
    return path


@pytest.fixture
def collector(warehouse):
    from social_pipeline.compat.analytics_collector import AnalyticsCollector

    return AnalyticsCollector(warehouse, as_of=AS_OF)


def test_package_import_is_lazy_and_exports_the_collector():
    import subprocess
    import sys

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, social_pipeline; "
            "print(sorted(m for m in ('dagster', 'duckdb', 'sklearn', 'social_pipeline.compat.analytics_collector') "
            "if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert loaded == "[]"  # nothing heavy until a name is used
    import social_pipeline
    from social_pipeline.compat.analytics_collector import AnalyticsCollector

    assert social_pipeline.AnalyticsCollector is AnalyticsCollector
    with pytest.raises(AttributeError):
        social_pipeline.NoSuchThing  # noqa: B018


def test_engagement_rate(collector):
    assert collector.calculate_engagement_rate(1) == pytest.approx(5.0)  # 50 / 1000, an int id works
    assert collector.calculate_engagement_rate("3") == 0.0  # zero impressions
    assert collector.calculate_engagement_rate(999) == 0.0  # unknown post


def test_summary_keys_types_and_values(collector):
    summary = collector.get_user_analytics_summary(7, date_range=(datetime(2026, 3, 2), datetime(2026, 3, 9)))
    for key, kind in SUMMARY_KEYS.items():
        assert isinstance(summary[key], kind), key
    assert (summary["total_posts"], summary["total_impressions"], summary["total_engagements"]) == (2, 1500, 55)
    assert summary["avg_engagement_rate"] == pytest.approx(3.0)  # (5 % + 1 %) / 2
    assert summary["best_post"]["content"] == "Shipping our DuckDB pipeline"
    assert summary["best_post"]["engagement_rate"] == pytest.approx(5.0)
    assert set(summary["engagement_by_type"]) == {"image", "text"}
    default_range = collector.get_user_analytics_summary(7)  # last 30 days: all three posts
    assert default_range["total_posts"] == 3


def test_empty_structures(collector, tmp_path):
    from social_pipeline.compat.analytics_collector import AnalyticsCollector

    empty = collector.get_user_analytics_summary("nobody")
    assert empty["total_posts"] == 0 and empty["avg_engagement_rate"] == 0.0
    assert empty["best_post"] is None and empty["engagement_by_type"] == {}
    assert collector.identify_best_posting_times("nobody") == []
    missing = AnalyticsCollector(str(tmp_path / "not-built.duckdb"))
    assert missing.calculate_engagement_rate(1) == 0.0
    assert missing.identify_best_posting_times(1) == []
    assert missing.get_user_analytics_summary(1)["total_posts"] == 0
    assert missing.track_recruiter_engagement(1)["view_change_pct"] is None


def test_best_posting_times_keys(collector):
    slots = collector.identify_best_posting_times(7)
    assert len(slots) == 1  # Monday 09:00 has 2 posts; Wednesday 09:00 only 1
    for key, kind in SLOT_KEYS.items():
        assert isinstance(slots[0][key], kind), key
    assert (slots[0]["day_name"], slots[0]["hour"], slots[0]["posts_count"]) == ("Monday", 9, 2)
    assert slots[0]["avg_engagement_rate"] == pytest.approx(2.5)  # (5 % + 0 %) / 2


def test_recruiter_keys(collector):
    metrics = collector.track_recruiter_engagement(7)
    assert list(metrics) == RECRUITER_KEYS
    assert all(isinstance(metrics[k], int) for k in RECRUITER_KEYS[:-1])
    assert (metrics["profile_views_7d"], metrics["profile_views_30d"], metrics["estimated_recruiter_reach"]) == (
        35,
        150,
        15,
    )
    assert metrics["view_change_pct"] == 0.0


def test_weekly_report_keys_and_seed_example(collector, capsys):
    report = collector.generate_weekly_report(7)
    assert all(key in report for key in REPORT_KEYS)
    assert isinstance(report["generated_at"], str) and isinstance(report["recommendations"], list)
    # The seed's types inside: dicts where it shows {...}, lists where it shows [...].
    for key, kind in (
        ("report_period", dict),
        ("summary", dict),
        ("top_posts", list),
        ("engagement_breakdown", dict),
        ("best_times", list),
        ("recruiter_metrics", dict),
        ("trends", dict),
    ):
        assert isinstance(report[key], kind), key
    assert {
        k: type(report["summary"][k])
        for k in ("total_posts", "total_impressions", "total_engagements", "avg_engagement_rate")
    } == {"total_posts": int, "total_impressions": int, "total_engagements": int, "avg_engagement_rate": float}
    assert [(p["post_id"], type(p["content"]), type(p["engagement_rate"])) for p in report["top_posts"]] == [
        ("1", str, float),
        ("2", str, float),
    ]
    assert all({k: type(slot[k]) for k in SLOT_KEYS} == SLOT_KEYS for slot in report["best_times"])
    assert list(report["recruiter_metrics"]) == RECRUITER_KEYS
    assert all(isinstance(v, (int, float)) or v is None for v in report["trends"].values())
    # The seed's "Generate Weekly Report" example, verbatim.
    print("=== Weekly Summary ===")
    print(f"Posts: {report['summary']['total_posts']}")
    print(f"Impressions: {report['summary']['total_impressions']}")
    print(f"Engagements: {report['summary']['total_engagements']}")
    print(f"Avg Engagement Rate: {report['summary']['avg_engagement_rate']:.2f}%")
    print("\n=== Top Posts ===")
    for post in report["top_posts"][:3]:
        print(f"- {post['content'][:50]}...")
        print(f"  Engagement Rate: {post['engagement_rate']:.2f}%")
    print("\n=== Trends ===")
    for key, value in report["trends"].items():
        print(f"{key}: {value}")
    print("\n=== Recommendations ===")
    for rec in report["recommendations"]:
        print(f"- {rec}")
    out = capsys.readouterr().out
    assert "Posts: 2" in out and "Avg Engagement Rate: 3.00%" in out
    assert "- Shipping our DuckDB pipeline...\n  Engagement Rate: 5.00%" in out


# The seed's "Weekly Report Email" example, verbatim. Its free names (`collector`, `user`,
# `send_email`) come from the namespace the test runs it in.
SEED_WEEKLY_EMAIL = '''
def send_weekly_analytics_email(user_id: int):
    """Generate and send weekly analytics report"""
    report = collector.generate_weekly_report(user_id)

    email_body = f"""
    Weekly Social Media Report

    Posts Published: {report['summary']['total_posts']}
    Total Impressions: {report['summary']['total_impressions']:,}
    Average Engagement: {report['summary']['avg_engagement_rate']:.2f}%

    Top Performing Post:
    {report['top_posts'][0]['content']}
    Engagement Rate: {report['top_posts'][0]['engagement_rate']:.2f}%

    Recommendations:
    {chr(10).join('- ' + r for r in report['recommendations'])}
    """

    # Send email (implementation depends on email service)
    send_email(
        to=user.email,
        subject="Your Weekly Social Media Analytics",
        body=email_body
    )
'''


def _seed_weekly_email(collector, user_id, sent):
    class user:  # noqa: N801
        email = "someone@example.com"

    def send_email(to, subject, body):
        sent.append((to, subject, body))

    namespace = {"collector": collector, "user": user, "send_email": send_email}
    exec(SEED_WEEKLY_EMAIL, namespace)  # noqa: S102
    namespace["send_weekly_analytics_email"](user_id)


def test_seed_weekly_email_runs_unchanged(collector):
    sent = []
    _seed_weekly_email(collector, 7, sent)
    body = sent[0][2]
    assert "Total Impressions: 1,500" in body and "Shipping our DuckDB pipeline" in body
    assert "Engagement Rate: 5.00%" in body and "- Profile views were 35 this week" in body


def test_seed_weekly_email_on_an_empty_week_raises_index_error_like_the_seed(warehouse):
    """The seed's e-mail code indexes top_posts[0]: for a week without posts, top_posts is [] (the
    seed's shape), so that code raises IndexError exactly as it did on the seed. Callers guard it."""
    from social_pipeline.compat.analytics_collector import AnalyticsCollector

    quiet = AnalyticsCollector(warehouse, as_of=AS_OF + timedelta(days=60))
    assert quiet.generate_weekly_report(7)["top_posts"] == []
    with pytest.raises(IndexError):
        _seed_weekly_email(quiet, 7, [])


def test_seed_positional_style_is_accepted(warehouse, monkeypatch):
    from social_pipeline.compat.analytics_collector import AnalyticsCollector

    class DatabaseManager:
        db_path = warehouse

    assert AnalyticsCollector(DatabaseManager(), object(), as_of=AS_OF).calculate_engagement_rate(1) == pytest.approx(
        5.0
    )
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", warehouse)
    assert AnalyticsCollector(as_of=AS_OF).calculate_engagement_rate(1) == pytest.approx(5.0)
    assert AnalyticsCollector(object()).db_path == warehouse  # a manager naming no path: the default


def test_while_a_run_writes_the_warehouse_the_collector_reads_the_bi_copy(warehouse, tmp_path, monkeypatch):
    import subprocess
    import sys

    from social_pipeline.compat.analytics_collector import AnalyticsCollector
    from social_pipeline.core.publish import publish_copy

    copy = tmp_path / "bi" / "w.duckdb"
    con = connect(warehouse)
    publish_copy(con, copy)
    con.close()
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", warehouse)
    monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", str(copy))
    # DuckDB locks per process: a writer in a child process holds the file, as a Dagster run does.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; con = duckdb.connect({warehouse!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.warns(UserWarning, match="reading the BI copy"):
            assert AnalyticsCollector(as_of=AS_OF).calculate_engagement_rate(1) == pytest.approx(5.0)
        # A file that is not the pipeline's warehouse has no copy to fall back on.
        monkeypatch.setenv("SOCIAL_PIPELINE_DB", str(tmp_path / "other.duckdb"))
        with pytest.raises(RuntimeError, match="locked by another process"):
            AnalyticsCollector(warehouse, as_of=AS_OF).calculate_engagement_rate(1)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
