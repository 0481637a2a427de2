"""Known-answer tests of the analytics SQL (core/analytics_queries.py + core/sql) on hand-built rows."""

import duckdb
import pandas as pd
import pytest

from social_pipeline.core import analytics_queries as q
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import add_post, add_profile_day, refresh_post_tables

WEEK = pd.Timestamp("2026-03-02")  # a Monday
WEEK_END = WEEK + pd.Timedelta(days=7)
WEEKS = {"first_week_start": WEEK, "weeks_end": WEEK_END}


@pytest.fixture
def con(tmp_path):
    con = connect(str(tmp_path / "w.duckdb"))
    yield con
    con.close()


def best_times(con, params=WEEKS):
    return q.frame(con, q.best_times_query(q.report_periods_sql()), params)


def test_a_slot_needs_two_posts_and_ranks_by_average_rate(con):
    # Monday 09:xx: two posts, 4 % and 2 % -> avg 3 %; Tuesday 18:xx: one post at 50 % -> excluded.
    add_post(con, "a", "u", "2026-02-23 09:05", 100, likes=4)
    add_post(con, "b", "u", "2026-02-16 09:55", 200, likes=4)
    add_post(con, "c", "u", "2026-02-24 18:00", 10, likes=5)
    refresh_post_tables(con)
    rows = best_times(con)
    assert rows[
        ["day_of_week_local", "day_name", "hour_local", "posts_count", "total_impressions", "total_engagements"]
    ].values.tolist() == [[0, "Monday", 9, 2, 300, 8]]
    assert rows["avg_engagement_rate_pct"].tolist() == [pytest.approx(3.0)]
    assert rows["window_start"].tolist() == [WEEK_END - pd.Timedelta(days=90)]


def test_the_window_is_the_90_days_before_the_week_end(con):
    # A post 91 days old would complete a slot with the one 84 days old: outside, the slot has 1 post.
    add_post(con, "old", "u", WEEK_END - pd.Timedelta(days=91), 100, likes=50)
    add_post(con, "old_pair", "u", WEEK_END - pd.Timedelta(days=84), 100, likes=30)
    add_post(con, "edge", "u", WEEK_END - pd.Timedelta(days=90), 100, likes=10)  # first instant inside
    add_post(con, "edge_pair", "u", WEEK_END - pd.Timedelta(days=76), 100, likes=20)  # same weekday and hour
    add_post(con, "after", "u", WEEK_END + pd.Timedelta(days=7), 100, likes=90)  # after the week: outside
    refresh_post_tables(con)
    rows = best_times(con)
    assert rows[["day_of_week_local", "hour_local", "posts_count"]].values.tolist() == [
        [(WEEK_END - pd.Timedelta(days=90)).day_of_week, 0, 2]
    ]
    assert rows["avg_engagement_rate_pct"].tolist() == [pytest.approx(15.0)]  # (10 % + 20 %) / 2


def test_posts_with_an_unknown_hour_are_left_out(con):
    add_post(con, "a", "u", "2026-02-23 09:00", 100, likes=4)
    add_post(con, "b", "u", "2026-02-16 09:00", 100, likes=4, time_known=False)
    refresh_post_tables(con)
    assert best_times(con).empty


def test_ties_are_broken_deterministically_and_only_10_slots_kept(con):
    # 12 slots at exactly 5 %: more posts first, then the earlier day and hour.
    for hour in range(12):
        posts = 3 if hour == 11 else 2
        for k in range(posts):
            add_post(
                con,
                f"p{hour}_{k}",
                "u",
                pd.Timestamp("2026-02-02") + pd.Timedelta(days=7 * k, hours=hour),
                100,
                likes=5,
            )
    refresh_post_tables(con)
    rows = best_times(con)
    assert rows.sort_values("rank")["hour_local"].tolist() == [11, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert rows["rank"].sort_values().tolist() == list(range(1, 11))


def test_user_summary_counts_zero_impression_posts_at_rate_zero(con):
    add_post(con, "a", "u", "2026-03-02 10:00", 1000, likes=30, retweets=10, replies=5, quotes=5)  # 5 %
    add_post(con, "b", "u", "2026-03-04 10:00", 0, likes=3)  # 0 impressions: 0 %
    add_post(con, "c", "u", "2026-03-08 23:59", 100, likes=1)  # 1 %
    add_post(con, "next", "u", "2026-03-09 00:00", 100, likes=99)  # next week
    refresh_post_tables(con)
    row = q.frame(con, q.user_summary_query(q.report_periods_sql()), WEEKS).iloc[0]
    assert (row["total_posts"], row["total_impressions"], row["total_engagements"]) == (3, 1100, 54)
    assert row["avg_engagement_rate_pct"] == pytest.approx(2.0)  # (5 + 0 + 1) / 3
    assert (row["best_post_id"], row["worst_post_id"]) == ("a", "b")
    by_type = q.frame(con, q.content_type_query(q.report_periods_sql()), WEEKS)
    assert by_type[["content_type", "posts", "impressions", "engagements"]].values.tolist() == [["text", 3, 1100, 54]]


def test_a_post_without_metrics_yet_counts_at_rate_zero(con):
    add_post(con, "a", "u", "2026-03-02 10:00", 100, likes=4)  # 4 %
    add_post(con, "b", "u", "2026-03-03 10:00", 100, likes=2)  # 2 %
    con.execute("DELETE FROM raw.tweet_metrics WHERE post_id = 'b'")  # published, never collected
    refresh_post_tables(con)
    row = q.frame(con, q.user_summary_query(q.report_periods_sql()), WEEKS).iloc[0]
    assert (row["total_posts"], row["total_impressions"], row["total_engagements"]) == (2, 100, 4)
    assert row["avg_engagement_rate_pct"] == pytest.approx(2.0)  # (4 + 0) / 2, as the seed's 0.0 default
    assert (row["best_post_id"], row["worst_post_id"]) == ("a", "b")


def test_an_empty_week_gives_the_empty_structure(con):
    add_post(con, "a", "u", "2026-02-20 10:00", 100, likes=5)  # a known user, no posts this week
    refresh_post_tables(con)
    summaries = q.user_summaries(con, q.report_periods_sql(), WEEKS)
    assert summaries == {("u", WEEK, WEEK_END): q.empty_summary(WEEK, WEEK_END)}
    assert q.empty_summary(WEEK, WEEK_END)["best_post"] is None


def test_recruiter_metrics_sums_and_week_over_week(con):
    for day in pd.date_range(WEEK_END - pd.Timedelta(days=30), WEEK_END - pd.Timedelta(days=1)):
        last_week = day >= WEEK
        add_profile_day(
            con, "u", day, 7 if last_week else 3, inmails_received=1, recruiter_messages=2, connection_requests=1
        )
    add_profile_day(con, "u", WEEK_END, 1000)  # after as_of: not counted
    row = q.frame(con, q.recruiter_query(q.report_periods_sql()), WEEKS).iloc[0]
    assert row["profile_views_7d"] == 49
    assert row["profile_views_30d"] == 49 + 23 * 3
    assert row["estimated_recruiter_reach"] == 11  # int(118 * 0.10)
    assert row["view_change_pct"] == pytest.approx((49 - 21) / 21 * 100)
    assert (row["inmails_received"], row["recruiter_engagements"], row["connection_requests"]) == (30, 90, 30)


def test_view_change_is_null_when_the_previous_week_had_no_views(con):
    for day in pd.date_range(WEEK, WEEK_END - pd.Timedelta(days=1)):
        add_profile_day(con, "u", day, 10)
    add_profile_day(con, "u", WEEK - pd.Timedelta(days=3), 0)  # a recorded day with 0 views
    row = q.frame(con, q.recruiter_query(q.report_periods_sql()), WEEKS).iloc[0]
    assert row["profile_views_7d"] == 70
    assert pd.isna(row["view_change_pct"])
    assert q.recruiter_dict(row)["view_change_pct"] is None


def test_week_over_week_trends_with_a_zero_previous_week(con):
    add_post(con, "a", "u", "2026-03-03 10:00", 200, likes=10)
    add_post(con, "b", "u", "2026-03-04 10:00", 0, likes=0)
    refresh_post_tables(con)
    (report,) = q.weekly_reports(con, q.report_periods_sql(), WEEKS, pd.Timestamp("2026-03-09 01:00"))
    assert report["trends"] == {
        "posts_change": 2,
        "impressions_change_pct": None,
        "engagements_change_pct": None,
        "engagement_rate_change_pts": pytest.approx(2.5),  # (5 % + 0 %) / 2 - 0
        "profile_views_change_pct": None,
    }
    assert [p["post_id"] for p in report["top_posts"]] == ["a", "b"]
    assert [w["total_posts"] for w in report["weekly_history"]] == [0] * 7 + [2]
    assert q.pct_change(150, 100) == pytest.approx(50.0) and q.pct_change(5, 0) is None


def test_the_report_keeps_the_best_five_posts_in_order(con):
    for k, likes in enumerate([1, 9, 3, 7, 5, 2, 8]):
        add_post(con, f"p{k}", "u", WEEK + pd.Timedelta(hours=10 + k), 100, likes=likes)
    refresh_post_tables(con)
    (report,) = q.weekly_reports(con, q.report_periods_sql(), WEEKS, WEEK_END)
    assert [p["engagement_rate"] for p in report["top_posts"]] == [9.0, 8.0, 7.0, 5.0, 3.0]
    assert report["summary"]["total_posts"] == 7
    assert set(report) >= {
        "report_period",
        "summary",
        "top_posts",
        "engagement_breakdown",
        "best_times",
        "recruiter_metrics",
        "trends",
        "recommendations",
        "generated_at",
    }


def test_a_bluesky_accounts_top_posts_have_no_impressions_and_rank_per_follower_apart_from_x(con):
    # Bluesky: 500 followers; rates per follower (60 + 15) / 500 = 15 %, (8 + 2) / 500 = 2 %.
    con.execute(
        "INSERT INTO raw.account_snapshots (user_id, collected_at, followers, source, network) "
        "VALUES ('b.bsky.social', '2026-03-01 00:00', 500, 'test', 'bluesky')"
    )
    add_post(con, "at://b/1", "b.bsky.social", "2026-03-02 10:00", None, likes=8, retweets=2)
    add_post(con, "at://b/2", "b.bsky.social", "2026-03-03 10:00", None, likes=60, retweets=15)
    con.execute("UPDATE raw.posts SET network = 'bluesky' WHERE post_id LIKE 'at://%'")
    con.execute("UPDATE raw.tweet_metrics SET network = 'bluesky' WHERE post_id LIKE 'at://%'")
    # X: rates per impression 40 / 1000 = 4 %, 10 / 100 = 10 %.
    add_post(con, "x1", "u", "2026-03-02 11:00", 1000, likes=40)
    add_post(con, "x2", "u", "2026-03-04 11:00", 100, likes=10)
    refresh_post_tables(con)
    reports = {r["user_id"]: r for r in q.weekly_reports(con, q.report_periods_sql(), WEEKS, WEEK_END)}
    bluesky, x = reports["b.bsky.social"], reports["u"]
    assert bluesky["engagement_basis"] == "followers" and x["engagement_basis"] == "impressions"
    assert [(p["post_id"], p["impressions"], p["engagements"]) for p in bluesky["top_posts"]] == [
        ("at://b/2", None, 75),
        ("at://b/1", None, 10),
    ]
    assert [p["engagement_rate"] for p in bluesky["top_posts"]] == pytest.approx([15.0, 2.0])
    assert {p["engagement_basis"] for p in bluesky["top_posts"]} == {"followers"}
    assert [(p["post_id"], p["impressions"], p["engagement_rate"]) for p in x["top_posts"]] == [
        ("x2", 100, pytest.approx(10.0)),
        ("x1", 1000, pytest.approx(4.0)),
    ]
    assert bluesky["summary"]["best_post"]["impressions"] is None
    # The weekly tables hold no impressions for Bluesky (NULL, not 0); X's stay summed.
    summary = q.frame(con, q.user_summary_query(q.report_periods_sql()), WEEKS).set_index("user_id")
    assert pd.isna(summary.loc["b.bsky.social", "total_impressions"])
    assert summary.loc["u", "total_impressions"] == 1100
    by_type = q.frame(con, q.content_type_query(q.report_periods_sql()), WEEKS).set_index("user_id")
    assert pd.isna(by_type.loc["b.bsky.social", "impressions"]) and by_type.loc["u", "impressions"] == 1100


def unreadable_before(con, day: pd.Timestamp) -> None:
    """Make analytics.post_performance fail the query that reads any post published before `day`:
    a view whose impressions raise for those rows, so reading them (not just returning them) fails."""
    con.execute("CREATE TABLE analytics.post_performance_rows AS SELECT * FROM analytics.post_performance")
    con.execute("DROP TABLE analytics.post_performance")
    con.execute(
        "CREATE VIEW analytics.post_performance AS SELECT * REPLACE (CASE WHEN published_at < $day "
        "THEN error('read post ' || post_id || ' outside the window') ELSE impressions END AS impressions) "
        "FROM analytics.post_performance_rows".replace("$day", f"TIMESTAMP '{day}'")
    )


def test_the_weekly_queries_read_only_the_posts_their_windows_need(con):
    """A year of older posts the week's figures do not use is never read: the weekly tables read the
    week (best posting times its 90 days), the report the weeks of its trend and the 90 days."""
    for days_before in range(120, 400, 7):  # older than any window of the week
        add_post(con, f"old{days_before}", "u", WEEK - pd.Timedelta(days=days_before, hours=-9), 500, likes=400)
    add_post(con, "a", "u", "2026-03-02 09:00", 1000, likes=40)  # 4 %
    add_post(con, "b", "u", "2026-03-03 09:00", 100, likes=2)  # 2 %, another day
    add_post(con, "c", "u", "2026-02-23 09:00", 200, likes=10)  # 5 %, a week before: in the 90 days
    refresh_post_tables(con)
    unreadable_before(con, WEEK_END - pd.Timedelta(days=90))

    summary = q.frame(con, q.user_summary_query(q.report_periods_sql()), WEEKS).iloc[0]
    assert (summary["total_posts"], summary["total_impressions"], summary["total_engagements"]) == (2, 1100, 42)
    assert summary["avg_engagement_rate_pct"] == pytest.approx(3.0)
    by_type = q.frame(con, q.content_type_query(q.report_periods_sql()), WEEKS)
    assert by_type[["content_type", "posts", "impressions"]].values.tolist() == [["text", 2, 1100]]
    slots = best_times(con)  # Monday 09:00 holds a (4 %) and c (5 %)
    assert slots[["day_of_week_local", "hour_local", "posts_count"]].values.tolist() == [[0, 9, 2]]
    assert slots["avg_engagement_rate_pct"].tolist() == [pytest.approx(4.5)]
    (report,) = q.weekly_reports(con, q.report_periods_sql(), WEEKS, WEEK_END)
    assert [p["post_id"] for p in report["top_posts"]] == ["a", "b"]
    assert (report["summary"]["best_post"]["post_id"], report["summary"]["worst_post"]["post_id"]) == ("a", "b")
    assert [w["total_posts"] for w in report["weekly_history"]] == [0, 0, 0, 0, 0, 0, 1, 2]


def test_a_report_that_says_the_same_keeps_its_generated_at_and_a_changed_one_does_not():
    """DuckDB's parallel sums may differ in a float's last bits between runs: that is the same report."""
    stored = {
        "user_id": "u",
        "report_period": {"start": "2026-03-02T00:00:00"},
        "summary": {"total_posts": 2, "avg_engagement_rate": 2.9400123907472557},
        "generated_at": "2026-03-09T01:00:00",
    }
    stored_rows = {("u", "2026-03-02"): (pd.Timestamp("2026-03-09 01:00"), q.report_json(stored))}

    def rebuilt(**summary):
        return {**stored, "summary": {**stored["summary"], **summary}, "generated_at": "2026-03-10T05:00:00"}

    noise, more_posts, other_rate, other_week = (
        rebuilt(avg_engagement_rate=2.940012390747256),
        rebuilt(total_posts=3),
        rebuilt(avg_engagement_rate=2.95),
        {**rebuilt(), "report_period": {"start": "2026-03-09T00:00:00"}},
    )
    q.keep_generated_at([noise, more_posts, other_rate, other_week], stored_rows)
    assert [r["generated_at"] for r in (noise, more_posts, other_rate, other_week)] == [
        "2026-03-09T01:00:00",
        "2026-03-10T05:00:00",
        "2026-03-10T05:00:00",
        "2026-03-10T05:00:00",
    ]
    assert q.same_content([1, {"a": 0.1}], [1, {"a": 0.1 + 1e-17}]) and not q.same_content({"a": 1}, {"b": 1})


def test_a_runs_best_times_and_heat_map_share_local_slots_and_leave_no_table_behind(tmp_path):
    """Guard: the report computes the windows' posting slots once for its best times and its heat map.
    A Berlin account's Monday 19:00 posts either side of the DST change (18:00 UTC, then 17:00 UTC) are
    one local slot in both, for each week of a two-week run, on a read-only connection, and the shared
    slot table is gone afterwards."""
    path = str(tmp_path / "w.duckdb")
    con = connect(path)
    con.execute("INSERT INTO raw.accounts VALUES ('u', 'Europe/Berlin', 'test', TIMESTAMP '2026-01-01')")
    add_post(con, "winter", "u", "2026-03-23 18:00", 100, likes=4)  # 4 %, 19:00 CET
    add_post(con, "summer", "u", "2026-03-30 17:00", 100, likes=2)  # 2 %, 19:00 CEST
    add_post(con, "next", "u", "2026-04-06 17:00", 100, likes=6)  # 6 %, 19:00 CEST, the second week
    refresh_post_tables(con)
    con.close()
    weeks = {"first_week_start": pd.Timestamp("2026-03-30"), "weeks_end": pd.Timestamp("2026-04-13")}
    read_only = duckdb.connect(path, read_only=True)
    reports = q.weekly_reports(read_only, q.report_periods_sql(), weeks, pd.Timestamp("2026-04-13"))
    figures = ("day_name", "hour", "hour_utc", "posts_count", "total_impressions", "total_engagements")
    # Week 1's 90 days hold winter and summer (avg 3 %); week 2's all three (avg 4 %). CEST: 19:00 is 17 UTC.
    expected = [("Monday", 19, 17, 2, 200, 6), ("Monday", 19, 17, 3, 300, 12)]
    assert [tuple(r["best_times"][0][k] for k in figures) for r in reports] == expected
    assert [[s["avg_engagement_rate"] for s in r["best_times"]] for r in reports] == [
        [pytest.approx(3.0)],
        [pytest.approx(4.0)],
    ]
    heat = [
        [(s["day_of_week"], s["hour"], s["posts_count"], s["avg_engagement_rate"]) for s in r["engagement_heatmap"]]
        for r in reports
    ]
    assert heat == [[(0, 19, 2, pytest.approx(3.0))], [(0, 19, 3, pytest.approx(4.0))]]
    assert read_only.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)
    read_only.close()
