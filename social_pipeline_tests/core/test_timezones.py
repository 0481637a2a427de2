"""Best times, reports and the simulator in each account's own time zone (issue 20)."""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from social_pipeline.core import analytics_queries as q
from social_pipeline.core.reports import render_html, render_markdown
from social_pipeline.core.simulation import Simulation
from social_pipeline.core.timezones import parse_account_timezones
from social_pipeline.defs.ingestion.assets import raw_account_snapshots
from social_pipeline.resources.source_choice import source_resource_from_env
from social_pipeline.resources.sources import (
    SimulatedSourceResource,
    simulated_source_from_env,
)
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import add_post, refresh_post_tables

# Europe/Berlin moves to summer time on Sunday 2026-03-29 (18:00 UTC is 19:00 before, 20:00 after).
WEEK = pd.Timestamp("2026-03-30")  # a Monday, the first of summer time
WEEK_END = WEEK + pd.Timedelta(days=7)
WEEKS = {"first_week_start": WEEK, "weeks_end": WEEK_END}
SLOT_COLUMNS = ["day_of_week_local", "hour_local", "timezone", "hour_utc", "posts_count", "total_impressions"]


@pytest.fixture
def con(tmp_path):
    con = connect(str(tmp_path / "w.duckdb"))
    yield con
    con.close()


def set_zone(con, user_id, zone):
    con.execute("INSERT INTO raw.accounts VALUES ($u, $z, 'test', TIMESTAMP '2026-01-01')", {"u": user_id, "z": zone})


def best_times(con):
    return q.frame(con, q.best_times_query(q.report_periods_sql()), WEEKS).sort_values("rank")


def test_posts_either_side_of_a_dst_change_fall_into_one_local_slot(con):
    # Both posts at 19:10 Berlin time on a Monday: 18:10 UTC in winter, 17:10 UTC in summer.
    add_post(con, "winter", "alice", "2026-03-23 18:10", 100, likes=4)
    add_post(con, "summer", "alice", "2026-03-30 17:10", 100, likes=2)
    refresh_post_tables(con)
    assert best_times(con).empty  # in UTC they are two slots of one post each
    set_zone(con, "alice", "Europe/Berlin")
    rows = best_times(con)
    # hour_utc: 19:00 Berlin at the window's end (summer, UTC+2) is 17:00 UTC.
    assert rows[SLOT_COLUMNS].values.tolist() == [[0, 19, "Europe/Berlin", 17, 2, 200]]
    assert rows["avg_engagement_rate_pct"].tolist() == [pytest.approx(3.0)]


def test_a_half_hour_zone_reads_local_hours_and_days(con):
    # Asia/Kolkata is UTC+5:30: 13:40 and 14:20 UTC are both 19:xx local; Sunday 20:00 UTC is Monday 01:30.
    set_zone(con, "bytes", "Asia/Kolkata")
    add_post(con, "a", "bytes", "2026-03-23 13:40", 100, likes=6)
    add_post(con, "b", "bytes", "2026-03-30 14:20", 100, likes=2)
    add_post(con, "c", "bytes", "2026-03-15 20:00", 100, likes=1)
    add_post(con, "d", "bytes", "2026-03-22 20:10", 100, likes=1)
    refresh_post_tables(con)
    rows = best_times(con)
    assert rows[SLOT_COLUMNS].values.tolist() == [
        [0, 19, "Asia/Kolkata", 13, 2, 200],  # 19:00 IST starts at 13:30 UTC
        [0, 1, "Asia/Kolkata", 19, 2, 200],  # Monday 01:00 IST starts Sunday 19:30 UTC
    ]
    assert rows["avg_engagement_rate_pct"].tolist() == [pytest.approx(4.0), pytest.approx(1.0)]
    assert [s["day_name"] for s in (q.slot_dict(r) for _, r in rows.iterrows())] == ["Monday", "Monday"]


def test_utc_by_default_keeps_every_figure(con):
    # The seed's known answer (test_analytics_queries): Monday 09:xx, two posts at 4 % and 2 %.
    add_post(con, "a", "u", "2026-03-23 09:05", 100, likes=4)
    add_post(con, "b", "u", "2026-03-16 09:55", 200, likes=4)
    add_post(con, "c", "u", "2026-03-24 18:00", 10, likes=5)
    refresh_post_tables(con)
    rows = best_times(con)
    assert rows[SLOT_COLUMNS].values.tolist() == [[0, 9, "UTC", 9, 2, 300]]
    (report,) = q.weekly_reports(
        con, q.report_periods_sql(), {"first_week_start": pd.Timestamp("2026-03-23"), "weeks_end": WEEK}, WEEK
    )
    assert report["timezone"] == "UTC"
    assert report["best_times"][0] == {
        "day_of_week": 0,
        "day_name": "Monday",
        "hour": 9,
        "avg_engagement_rate": 3.0,
        "posts_count": 2,
        "total_impressions": 300,
        "total_engagements": 8,
        "timezone": "UTC",
        "hour_utc": 9,
    }
    assert (
        "Your best time to post is Monday at 09:00 UTC (avg engagement 3.00% over 2 posts)."
        in report["recommendations"]
    )
    markdown = render_markdown(report)
    assert "| slot (UTC) " in markdown and "Weeks run" not in markdown
    assert "Monday 09:00 UTC: 3.00% over 2 posts" in render_html(report)


def test_post_performance_names_utc_and_local_hours_and_joins_best_times_on_the_local_ones(con):
    # Europe/Berlin in summer is UTC+2: Monday 17:10 UTC is Monday 19:10 local; Sunday 23:30 UTC is Monday 01:30.
    set_zone(con, "alice", "Europe/Berlin")
    add_post(con, "evening", "alice", "2026-03-30 17:10", 100, likes=2)
    add_post(con, "midnight", "alice", "2026-04-05 23:30", 100, likes=1)
    add_post(con, "dated", "alice", "2026-04-05 00:00", 100, likes=1, time_known=False)  # a date only
    add_post(con, "plain", "u", "2026-03-30 17:10", 100, likes=1)  # no zone: UTC
    refresh_post_tables(con)
    rows = con.execute(
        "SELECT post_id, day_of_week_utc, hour_utc, day_of_week_local, hour_local, timezone "
        "FROM analytics.post_performance ORDER BY post_id"
    ).fetchall()
    assert rows == [
        ("dated", 6, None, 6, None, "Europe/Berlin"),
        ("evening", 0, 17, 0, 19, "Europe/Berlin"),
        ("midnight", 6, 23, 0, 1, "Europe/Berlin"),
        ("plain", 0, 17, 0, 17, "UTC"),
    ]
    # A BI join of a post to its ranked slot uses the local columns of both tables.
    add_post(con, "winter", "alice", "2026-03-23 18:10", 100, likes=4)  # 19:10 local in winter (UTC+1)
    refresh_post_tables(con)
    best = best_times(con)
    con.register("best", best)
    joined = con.execute(
        "SELECT p.post_id, b.rank, b.hour_utc FROM analytics.post_performance AS p "
        "JOIN best AS b ON b.user_id = p.user_id AND b.day_of_week_local = p.day_of_week_local "
        "AND b.hour_local = p.hour_local ORDER BY p.post_id"
    ).fetchall()
    assert joined == [("evening", 1, 17), ("winter", 1, 17)]


def test_the_report_speaks_the_accounts_local_time_and_says_weeks_are_utc(con):
    set_zone(con, "alice", "Europe/Berlin")
    add_post(con, "winter", "alice", "2026-03-23 18:10", 100, likes=4)
    add_post(con, "summer", "alice", "2026-03-30 17:10", 100, likes=2)
    refresh_post_tables(con)
    (report,) = q.weekly_reports(con, q.report_periods_sql(), WEEKS, WEEK_END)
    assert report["timezone"] == "Europe/Berlin"
    assert report["report_period"]["start"] == "2026-03-30T00:00:00"  # the week stays a UTC week
    assert [(s["day_name"], s["hour"], s["hour_utc"], s["timezone"]) for s in report["best_times"]] == [
        ("Monday", 19, 17, "Europe/Berlin")
    ]
    assert [(s["hour"], s["posts_count"]) for s in report["engagement_heatmap"]] == [(19, 2)]
    assert (
        "Your best time to post is Monday at 19:00 Europe/Berlin (avg engagement 3.00% over 2 posts)."
        in report["recommendations"]
    )
    markdown = render_markdown(report)
    assert "| slot (Europe/Berlin) " in markdown
    assert "Weeks run Monday to Monday in UTC; days and hours of posting times are in Europe/Berlin." in markdown
    page = render_html(report)
    assert "Engagement rate by day and hour (Europe/Berlin, last 90 days)" in page
    assert "Monday 19:00 Europe/Berlin: 3.00% over 2 posts" in page
    assert "weeks are UTC" in page


def test_the_collector_names_the_zone_of_each_slot(tmp_path):
    from social_pipeline.compat.analytics_collector import AnalyticsCollector

    path = str(tmp_path / "c.duckdb")
    con = connect(path)
    set_zone(con, "alice", "Europe/Berlin")
    add_post(con, "winter", "alice", "2026-03-23 18:10", 100, likes=4)
    add_post(con, "summer", "alice", "2026-03-30 17:10", 100, likes=2)
    refresh_post_tables(con)
    con.close()
    slots = AnalyticsCollector(path, as_of="2026-04-01").identify_best_posting_times("alice")
    assert [(s["day_name"], s["hour"], s["timezone"], s["hour_utc"], s["posts_count"]) for s in slots] == [
        ("Monday", 19, "Europe/Berlin", 17, 2)
    ]


# ----- configuration ---------------------------------------------------------------------
def test_the_configuration_parses_and_an_unknown_zone_names_the_account():
    assert parse_account_timezones(" alice_data=Europe/Berlin, duckpond_eng=America/New_York ,") == {
        "alice_data": "Europe/Berlin",
        "duckpond_eng": "America/New_York",
    }
    assert parse_account_timezones("") == {}
    with pytest.raises(ValueError, match=r"unknown time zone 'Europe/Berlln' for account 'alice_data'"):
        parse_account_timezones("alice_data=Europe/Berlln")
    with pytest.raises(ValueError, match=r"'alice_data' is not account=Zone"):
        parse_account_timezones("alice_data")


def test_raw_accounts_gets_the_configured_and_simulated_zones(db_path, monkeypatch):
    monkeypatch.setenv("SOCIAL_PIPELINE_ACCOUNT_TIMEZONES", "alice_data=Asia/Kolkata,export_only=Europe/Paris")
    source = simulated_source_from_env(clock="2026-11-18 12:00", history_days=1)
    assert source.account_timezones is not None  # a dg.EnvVar, resolved at run time
    warehouse = WarehouseResource(database=db_path)
    for _ in range(2):  # idempotent: one row per account
        assert dg.materialize([raw_account_snapshots], resources={"source": source, "warehouse": warehouse}).success
    con = connect(db_path, read_only=True)
    rows = con.execute("SELECT user_id, timezone, source FROM raw.accounts ORDER BY user_id").fetchall()
    con.close()
    assert rows == [
        ("alice_data", "Asia/Kolkata", "simulated"),
        ("bytes_and_beans", "Asia/Kolkata", "simulated"),
        ("duckpond.bsky.social", "Europe/Lisbon", "simulated"),
        ("duckpond_eng", "America/New_York", "simulated"),
        ("export_only", "Europe/Paris", "simulated"),
    ]


def test_an_unknown_zone_in_the_environment_stops_the_code_location_loading(monkeypatch):
    monkeypatch.setenv("SOCIAL_PIPELINE_ACCOUNT_TIMEZONES", "alice_data=Europe/Berlin,bytes_and_beans=India/Kolkata")
    with pytest.raises(ValueError, match=r"unknown time zone 'India/Kolkata' for account 'bytes_and_beans'"):
        source_resource_from_env("simulated")


def test_an_unknown_zone_fails_the_run_at_start_naming_the_account(db_path):
    source = SimulatedSourceResource(
        clock="2026-11-18 12:00", history_days=1, account_timezones="duckpond_eng=America/NewYork"
    )
    result = dg.materialize(
        [raw_account_snapshots],
        resources={"source": source, "warehouse": WarehouseResource(database=db_path)},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_failure)
    assert "unknown time zone 'America/NewYork' for account 'duckpond_eng'" in str(failure.event_specific_data.error)
    assert not Path(db_path).exists()  # failed before the asset opened the warehouse: nothing written


# ----- the simulator ---------------------------------------------------------------------
def test_the_simulated_rhythm_follows_each_accounts_local_clock():
    sim = Simulation()
    assert [a.timezone for a in sim.accounts] == ["Europe/Berlin", "Asia/Kolkata", "America/New_York", "Europe/Lisbon"]
    posts = sim.posts_between(pd.Timestamp("2026-01-05"), pd.Timestamp("2026-07-06"))
    for account in sim.accounts:
        mine = posts[posts.user_id == account.user_id]
        local_hour = mine.published_at.dt.tz_localize("UTC").dt.tz_convert(account.timezone).dt.hour
        # ~75 % of posts land on a favourite local hour (the rest anywhere): far more than by chance.
        assert local_hour.isin(account.favourite_hours).mean() > 0.7, account.user_id
    # New York 18:xx local: 23:xx UTC in winter (EST), 22:xx UTC in summer (EDT).
    ny = posts[posts.user_id == "duckpond_eng"]
    local = ny.published_at.dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    at_18 = ny.published_at[local.dt.hour == 18]
    assert set(at_18[at_18.dt.month == 1].dt.hour) == {23}
    assert set(at_18[at_18.dt.month == 6].dt.hour) == {22}


# ----- predictions -----------------------------------------------------------------------
def test_a_draft_is_read_in_its_zone_and_an_unknown_zone_is_refused():
    from pydantic import ValidationError

    from social_pipeline.core.prediction_request import PostPayload, feature_frame

    drafts = [
        PostPayload(scheduled_time="2026-07-15T17:30:00Z", timezone="Europe/Berlin"),  # 19:30 CEST
        PostPayload(scheduled_time="2026-07-15T20:00:00Z", timezone="Asia/Kolkata"),  # Thu 01:30 IST
        PostPayload(scheduled_time="2026-01-14T17:30:00Z", timezone="Europe/Berlin"),  # 18:30 CET
        PostPayload(scheduled_time="2026-07-15T17:30:00Z"),
    ]  # UTC, as before
    frame = feature_frame(drafts)
    assert frame[["hour", "daypart", "day_of_week"]].values.tolist() == [
        [19, "evening", 2],
        [1, "late_night", 3],
        [18, "evening", 2],
        [17, "afternoon", 2],
    ]
    with pytest.raises(ValidationError, match=r"unknown time zone 'Mars/Olympus'"):
        PostPayload(timezone="Mars/Olympus")


def test_the_cli_reads_the_hour_in_the_accounts_zone_unless_the_draft_names_one(serving_env, tmp_path, capsys):
    import json

    from social_pipeline.app.cli import main

    draft = {
        "post_text": "Dagster sensors, explained",
        "scheduled_time": "2026-11-25T17:30:00Z",
        "user_followers": 2400,
        "user_avg_engagement_rate": 0.04,
    }
    answers = {}
    for name, extra in (
        ("account", {"user_id": "alice_data"}),
        ("given", {"user_id": "alice_data", "timezone": "Asia/Kolkata"}),
        ("none", {}),
    ):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({**draft, **extra}))
        assert main(["predict", "--json", str(path), "--no-log"]) == 0
        answers[name] = json.loads(capsys.readouterr().out)
    # 17:30 UTC on a Wednesday in November: 18:30 in Berlin (CET), 23:00 in Kolkata, 17:30 UTC.
    assert [(a["timezone"], a["features"]["hour"], a["features"]["daypart"]) for a in answers.values()] == [
        ("Europe/Berlin", 18, "evening"),
        ("Asia/Kolkata", 23, "late_night2"),
        ("UTC", 17, "afternoon"),
    ]
    assert (
        "hour and day_of_week read in Europe/Berlin, the time zone of account 'alice_data'"
        in answers["account"]["notes"]
    )


# ----- model features --------------------------------------------------------------------
def test_training_rows_carry_local_hour_daypart_and_weekday(con):
    from social_pipeline.defs.ml.assets import build_training_frame

    set_zone(con, "alice", "Europe/Berlin")
    set_zone(con, "bytes", "Asia/Kolkata")
    # Saturday 22:30 UTC in winter: Saturday 23:30 Berlin; Sunday 04:00 Kolkata; "u" stays UTC.
    for post_id, user in (("b1", "alice"), ("k1", "bytes"), ("u1", "u")):
        add_post(con, post_id, user, "2026-01-10 22:30", 100, likes=3, collected_at="2026-01-13 23:00")
    # Summer time: 17:10 UTC is 19:10 in Berlin.
    add_post(con, "b2", "alice", "2026-07-15 17:10", 100, likes=3, collected_at="2026-07-18 18:00")
    refresh_post_tables(con)
    frame = build_training_frame(con, 72.0).set_index("post_id").sort_index()
    assert frame[["timezone", "hour", "daypart", "day_of_week"]].values.tolist() == [
        ["Europe/Berlin", 23, "late_night2", 5],
        ["Europe/Berlin", 19, "evening", 2],
        ["Asia/Kolkata", 4, "late_night", 6],
        ["UTC", 22, "evening", 5],
    ]
    assert frame["published_at"].tolist()[0] == pd.Timestamp("2026-01-10 22:30")  # stays UTC
