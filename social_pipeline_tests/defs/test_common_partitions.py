"""Partitions exist where data exists: `social-pipeline run` records its whole history in DAGSTER_HOME,
and imported history of any year gets its weekly analytics and reports (ingest CLI and inbox sensor)."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from social_pipeline.app.cli import main
from social_pipeline.core.collection import collection_keys, collection_window
from social_pipeline.definitions import defs
from social_pipeline.defs.common import (
    HOURLY_PARTITIONS,
    WEEKLY_PARTITIONS,
    add_partition_keys,
    collection_plan,
    storage_ranges,
    time_windows,
    week_key,
)
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import drop, file_stores_under, refresh_weekly, run, sensor_context

REPO = Path(__file__).resolve().parents[2]
WEEKLY_ASSETS = [
    "user_summary",
    "engagement_by_content_type",
    "best_posting_times",
    "recruiter_metrics",
    "weekly_report",
]
# A classic export (the layout of X's tweet_activity_metrics files) of posts from 2017: two in the
# week of Monday 2017-03-06, one in the week of 2017-03-20; none in between.
OLD_EXPORT = (
    '"Tweet id","Tweet permalink","Tweet text","time","impressions","engagements","engagement rate",'
    '"retweets","replies","likes","user profile clicks","url clicks","hashtag clicks","detail expands",'
    '"permalink clicks","app opens","app installs","follows","email tweet","dial phone","media views",'
    '"media engagements"\n'
    '"841234567890123456","https://twitter.com/old_hand/status/841234567890123456","first","2017-03-07 09:15 +0000",'
    '"200.0","10.0","0.05","2.0","1.0","6.0","0","0","0","0","0","0","0","0","0","0","0","0"\n'
    '"841234567890123457","https://twitter.com/old_hand/status/841234567890123457","second","2017-03-09 18:40 +0000",'
    '"400.0","30.0","0.075","5.0","2.0","20.0","0","0","0","0","0","0","0","0","0","0","0","0"\n'
    '"846234567890123458","https://twitter.com/old_hand/status/846234567890123458","third","2017-03-21 12:00 +0000",'
    '"100.0","4.0","0.04","1.0","0.0","3.0","0","0","0","0","0","0","0","0","0","0","0","0"\n'
)


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    """A DAGSTER_HOME configured like data/dagster_home."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "data" / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_partition_helpers_keep_hours_gap_free_and_split_ranges_by_storage_order():
    instance = dg.DagsterInstance.ephemeral()
    assert add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-11-18-10:00", "2026-11-18-12:00"]) == [
        "2026-11-18-10:00",
        "2026-11-18-11:00",
        "2026-11-18-12:00",
    ]
    # Older hours added later sit after the newer ones in Dagster's order: a range of their own.
    add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-11-18-08:00"])
    keys = instance.get_dynamic_partitions(HOURLY_PARTITIONS.name)
    assert keys[-2:] == ["2026-11-18-08:00", "2026-11-18-09:00"]
    assert storage_ranges(instance, HOURLY_PARTITIONS, keys) == [
        ("2026-11-18-10:00", "2026-11-18-12:00"),
        ("2026-11-18-08:00", "2026-11-18-09:00"),
    ]
    # Weeks are not gap-filled; a weekly run may skip weeks without data.
    assert add_partition_keys(instance, WEEKLY_PARTITIONS, ["2017-03-20", "2017-03-06"]) == ["2017-03-06", "2017-03-20"]
    assert storage_ranges(instance, WEEKLY_PARTITIONS, ["2017-03-06", "2017-03-20"]) == [("2017-03-06", "2017-03-20")]
    assert time_windows(WEEKLY_PARTITIONS, ["2017-03-20", "2017-03-06", "2017-03-13"]) == [
        (pd.Timestamp("2017-03-06"), pd.Timestamp("2017-03-27"))
    ]
    with pytest.raises(dg.Failure, match="'2017-03-07' of report_weeks is not a Monday"):
        time_windows(WEEKLY_PARTITIONS, ["2017-03-07"])  # a key added by hand in the UI
    with pytest.raises(dg.Failure, match="'yesterday' of collection_hours is not an hour"):
        time_windows(HOURLY_PARTITIONS, ["yesterday"])
    assert time_windows(WEEKLY_PARTITIONS, ["2017-03-20", "2017-03-06"]) == [
        (pd.Timestamp("2017-03-06"), pd.Timestamp("2017-03-13")),
        (pd.Timestamp("2017-03-20"), pd.Timestamp("2017-03-27")),
    ]


def test_collection_keys_are_hours_days_or_iso_weeks_each_covering_its_own_window():
    t = pd.Timestamp
    assert collection_window("2026-09-01-13:00") == (t("2026-09-01 13:00"), t("2026-09-01 14:00"))
    assert collection_window("2026-09-01") == (t("2026-09-01"), t("2026-09-02"))
    # ISO week 37 of 2026 starts Monday 2026-09-07 (week 1 starts Monday 2025-12-29; + 36 weeks).
    assert collection_window("2026-W37") == (t("2026-09-07"), t("2026-09-14"))
    # 2026 has 53 ISO weeks (it starts on a Thursday): the last one ends in 2027.
    assert collection_window("2026-W53") == (t("2026-12-28"), t("2027-01-04"))
    for bad in ("2026-9-1", "2026-09-01-13:30", "2026-W54", "yesterday", "2026-09-01 13:00"):
        with pytest.raises(ValueError, match=f"{bad!r}"):
            collection_window(bad)


def test_history_is_covered_by_the_fewest_keys_without_gap_or_overlap():
    # make run's 90 days up to Monday 2026-11-30 12:00 start on Tuesday 2026-09-01 12:00: 12 hours to
    # midnight, Wednesday .. Sunday as days, the 12 weeks 2026-09-07 .. 2026-11-30, then 12 hours.
    keys = collection_keys(pd.Timestamp("2026-09-01 12:00"), pd.Timestamp("2026-11-30 12:00"))
    assert keys[:13] == [f"2026-09-01-{h:02d}:00" for h in range(12, 24)] + ["2026-09-02"]
    assert keys[13:17] == ["2026-09-03", "2026-09-04", "2026-09-05", "2026-09-06"]
    assert keys[17:29] == [f"2026-W{w}" for w in range(37, 49)]
    assert keys[29:] == [f"2026-11-30-{h:02d}:00" for h in range(12)]
    assert len(keys) == 41
    windows = [collection_window(k) for k in keys]
    assert all(end == next_start for (_, end), (next_start, _) in zip(windows, windows[1:], strict=False))
    assert (windows[0][0], windows[-1][1]) == (pd.Timestamp("2026-09-01 12:00"), pd.Timestamp("2026-11-30 12:00"))
    # A day ending before the week is complete stays days; a span inside one hour is that hour.
    assert collection_keys(pd.Timestamp("2026-12-27 22:00"), pd.Timestamp("2026-12-30 01:00")) == [
        "2026-12-27-22:00",
        "2026-12-27-23:00",
        "2026-12-28",
        "2026-12-29",
        "2026-12-30-00:00",
    ]
    assert collection_keys(pd.Timestamp("2026-12-28"), pd.Timestamp("2027-01-04")) == ["2026-W53"]
    with pytest.raises(ValueError, match="whole hours"):
        collection_keys(pd.Timestamp("2026-12-28 00:30"), pd.Timestamp("2026-12-29"))


def test_variable_width_keys_stay_gap_free_and_never_overlap():
    instance = dg.DagsterInstance.ephemeral()
    assert add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-W37", "2026-09-14"]) == ["2026-W37", "2026-09-14"]
    # An hour after a gap: the hours since the newest key's end (2026-09-15 00:00) come with it.
    assert add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-09-15-02:00"]) == [
        "2026-09-15-00:00",
        "2026-09-15-01:00",
        "2026-09-15-02:00",
    ]
    keys = instance.get_dynamic_partitions(HOURLY_PARTITIONS.name)
    assert storage_ranges(instance, HOURLY_PARTITIONS, keys) == [("2026-W37", "2026-09-15-02:00")]
    assert time_windows(HOURLY_PARTITIONS, ["2026-09-15-00:00", "2026-W37", "2026-09-14"]) == [
        (pd.Timestamp("2026-09-07"), pd.Timestamp("2026-09-15 01:00"))
    ]
    # A day over hours already there would make two keys write the same rows: refused by name.
    with pytest.raises(dg.Failure, match="'2026-09-15' of collection_hours overlaps '2026-09-15-00:00'"):
        add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-09-15"])
    assert len(instance.get_dynamic_partitions(HOURLY_PARTITIONS.name)) == 5
    # A later history reuses the keys there and covers only the rest, hours up to the first midnight.
    plan = collection_plan(instance, pd.Timestamp("2026-09-10 00:00"), pd.Timestamp("2026-09-16 03:00"))
    assert plan == [
        "2026-W37",
        "2026-09-14",
        "2026-09-15-00:00",
        "2026-09-15-01:00",
        "2026-09-15-02:00",
        *[f"2026-09-15-{h:02d}:00" for h in range(3, 24)],
        "2026-09-16-00:00",
        "2026-09-16-01:00",
        "2026-09-16-02:00",
    ]


def _status(instance, asset: str, partitions_def) -> tuple[set, set]:
    """(materialized, missing) partition keys of an asset, as the UI counts them."""
    keys = set(instance.get_dynamic_partitions(partitions_def.name))
    materialized = set(instance.get_materialized_partitions(dg.AssetKey(asset)))
    return materialized, keys - materialized


def test_run_records_every_partition_it_wrote_in_dagster_home(dagster_home, tmp_path, cli_outputs):
    db = str(tmp_path / "w.duckdb")
    # As `make run` does, in its own process (the definitions read SOCIAL_PIPELINE_DB when loaded).
    # 8 days up to Monday 2026-11-16 01:00: 192 hourly collections and one complete week (2026-11-09), as
    # 25 partitions: the 23 hours of Sunday 2026-11-08 from 01:00, the ISO week 2026-W46, the hour 2026-11-16-00:00.
    env = {**os.environ, "SOCIAL_PIPELINE_DB": db, "DAGSTER_HOME": str(dagster_home)}
    done = subprocess.run(
        [sys.executable, "-m", "social_pipeline.app.cli", "run", "--days", "8", "--as-of", "2026-11-16 01:00"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "hourly_collection: partitions 2026-11-08-01:00 .. 2026-11-16-00:00, recorded in DAGSTER_HOME" in done.stdout
    con = connect(db, read_only=True)
    collected = {r[0] for r in con.execute("SELECT DISTINCT partition_key FROM raw.tweet_metrics").fetchall()}
    summary_weeks = {
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT strftime(period_start, '%Y-%m-%d') FROM analytics.user_summary"
        ).fetchall()
    }
    report_weeks = {
        str(r[0]) for r in con.execute("SELECT DISTINCT week_start FROM analytics.weekly_reports").fetchall()
    }
    con.close()
    # The first hours of the history found no post yet: collected, materialized, no rows.
    assert len(collected) == 188 and min(collected) == "2026-11-08-05:00" and max(collected) == "2026-11-16-00:00"
    with dg.DagsterInstance.get() as instance:
        materialized, missing = _status(instance, "raw_tweet_metrics", HOURLY_PARTITIONS)
        hours = {f"2026-11-08-{h:02d}:00" for h in range(1, 24)}
        assert (materialized, missing) == (hours | {"2026-W46", "2026-11-16-00:00"}, set())
        assert time_windows(HOURLY_PARTITIONS, materialized) == [
            (pd.Timestamp("2026-11-08 01:00"), pd.Timestamp("2026-11-16 01:00"))
        ]
        for asset in WEEKLY_ASSETS:
            materialized, missing = _status(instance, asset, WEEKLY_PARTITIONS)
            assert (materialized, missing) == ({"2026-11-09"}, set()), asset
        assert summary_weeks == report_weeks == {"2026-11-09"}


def _user_weeks(db: str, user: str) -> dict:
    con = connect(db, read_only=True)
    try:
        summary = con.execute(
            "SELECT strftime(period_start, '%Y-%m-%d'), total_posts, total_impressions "
            "FROM analytics.user_summary WHERE user_id = $u ORDER BY 1",
            {"u": user},
        ).fetchall()
        reports = con.execute(
            "SELECT strftime(week_start, '%Y-%m-%d') FROM analytics.weekly_reports WHERE user_id = $u ORDER BY 1",
            {"u": user},
        ).fetchall()
        by_type = con.execute(
            "SELECT count(*) FROM analytics.engagement_by_content_type WHERE user_id = $u", {"u": user}
        ).fetchall()[0][0]
    finally:
        con.close()
    return {"summary": summary, "reports": [r[0] for r in reports], "content_type_rows": by_type}


# Both weeks with posts, nothing before the first post, nothing for the empty week between them.
EXPECTED_2017 = {
    "summary": [("2017-03-06", 2, 600), ("2017-03-20", 1, 100)],
    "reports": ["2017-03-06", "2017-03-20"],
    "content_type_rows": 2,
}


def test_ingest_of_2017_history_builds_its_weeks(dagster_home, tmp_path, monkeypatch, capsys, cli_outputs):
    db = str(tmp_path / "w.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", db)
    export = tmp_path / "tweet_activity_metrics_old_hand_20170301_20170331_en.csv"
    export.write_text(OLD_EXPORT)
    assert main(["ingest", str(export)]) == 0
    assert "weekly analytics and reports rebuilt for the weeks 2017-03-06 .. 2017-03-20 (ok)" in capsys.readouterr().out
    assert _user_weeks(db, "old_hand") == EXPECTED_2017
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(WEEKLY_PARTITIONS.name) == ["2017-03-06", "2017-03-20"]
        for asset in WEEKLY_ASSETS:
            assert _status(instance, asset, WEEKLY_PARTITIONS) == ({"2017-03-06", "2017-03-20"}, set()), asset


def test_inbox_of_2017_history_builds_its_weeks_through_the_refresh_sensor(tmp_path):
    inbox, db = tmp_path / "inbox", str(tmp_path / "w.duckdb")
    inbox.mkdir()
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    from social_pipeline.defs.ingestion.sensors import inbox_sensor

    with dg.instance_for_test() as instance:
        # A week the pipeline already reports (2026) sits before the imported weeks in Dagster's order.
        add_partition_keys(instance, WEEKLY_PARTITIONS, ["2026-11-09"])
        drop(inbox, "tweet_activity_metrics_old_hand_20170301_20170331_en.csv", OLD_EXPORT.encode())
        (request,) = inbox_sensor(sensor_context(instance, stores))
        ingested = run(request, db, instance, stores)
        assert ingested.success
        requests = refresh_weekly(instance, ingested, db)
        ranges = [
            (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
            for r in requests
        ]
        # From the file's first week on: the 2026 week and the imported ones (added after it).
        assert ranges == [("2026-11-09", "2017-03-20")]  # one run; Dagster orders dynamic keys as added
        for requested in requests:
            assert (
                defs.resolve_job_def("weekly_reporting")
                .execute_in_process(
                    instance=instance,
                    tags=requested.tags,
                    resources={"warehouse": WarehouseResource(database=db), "file_stores": stores},
                )
                .success
            )
        assert _user_weeks(db, "old_hand") == {
            **EXPECTED_2017,
            "summary": [*EXPECTED_2017["summary"], ("2026-11-09", 0, 0)],
            "reports": [*EXPECTED_2017["reports"], "2026-11-09"],
            "content_type_rows": 2,
        }


def test_refresh_without_the_warehouse_takes_every_complete_week_from_the_files_on():
    """The sensor's fallback when a run held the warehouse's lock throughout: no week is left out."""
    from social_pipeline.defs.common import weekly_refresh

    instance = dg.DagsterInstance.ephemeral()
    ranges = weekly_refresh(instance, None, pd.Timestamp("2017-03-07 09:15"), pd.Timestamp("2017-03-29 10:00"))
    assert instance.get_dynamic_partitions(WEEKLY_PARTITIONS.name) == ["2017-03-06", "2017-03-13", "2017-03-20"]
    assert ranges == [("2017-03-06", "2017-03-20")]


def test_refresh_sensor_with_the_warehouse_locked_throughout_takes_every_week_from_the_files_on(tmp_path, monkeypatch):
    from social_pipeline.defs.ingestion.sensors import inbox_sensor

    inbox, db = tmp_path / "inbox", str(tmp_path / "w.duckdb")
    inbox.mkdir()
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    with dg.instance_for_test() as instance:
        drop(inbox, "tweet_activity_metrics_old_hand_20170301_20170331_en.csv", OLD_EXPORT.encode())
        (request,) = inbox_sensor(sensor_context(instance, stores))
        ingested = run(request, db, instance, stores)
        assert ingested.success
        # Another process writes the warehouse (a run), as DuckDB allows one writer process.
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import duckdb, sys; con = duckdb.connect({db!r}); print('held', flush=True); sys.stdin.read()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout.readline().strip() == "held"
            # A sensor tick never sleeps: it holds the daemon's sensor thread and every other sensor's tick.
            sleeps = []
            with monkeypatch.context() as patched:
                patched.setattr(time, "sleep", sleeps.append)
                (requested,) = refresh_weekly(instance, ingested, db)
            assert sleeps == []
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
        weeks = instance.get_dynamic_partitions(WEEKLY_PARTITIONS.name)
        # Not knowing which weeks hold data, it takes them all (the empty 2017-03-13 too), none left out.
        assert weeks[:3] == ["2017-03-06", "2017-03-13", "2017-03-20"]
        assert weeks[-1] == week_key(pd.Timestamp.now("UTC").tz_localize(None) - pd.Timedelta(days=7))
        assert (
            requested.tags["dagster/asset_partition_range_start"],
            requested.tags["dagster/asset_partition_range_end"],
        ) == (weeks[0], weeks[-1])


def test_complete_weeks_are_the_weeks_wholly_inside_a_history_across_a_year_end():
    from social_pipeline.defs.common import complete_weeks

    # Sunday 23:00 starts no week; the Monday after does. 2026-12-28 .. 2027-01-04 crosses the year.
    assert complete_weeks(pd.Timestamp("2026-12-27 23:00"), pd.Timestamp("2027-01-11 00:00")) == [
        "2026-12-28",
        "2027-01-04",
    ]
    # A week ending a minute after the history's end is not complete.
    assert complete_weeks(pd.Timestamp("2026-12-28"), pd.Timestamp("2027-01-10 23:59")) == ["2026-12-28"]
    assert complete_weeks(pd.Timestamp("2026-12-29"), pd.Timestamp("2027-01-04 00:00")) == []
