"""The inbox sensor on a temporary inbox, the runs it launches, and `social-pipeline ingest`."""

import subprocess
import sys

import dagster as dg

from social_pipeline.app.cli import main
from social_pipeline.definitions import defs
from social_pipeline.defs.common import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, WEEKLY_PARTITIONS
from social_pipeline.defs.ingestion.sensors import inbox_sensor
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import (
    SAMPLES,
    drop,
    file_check,
    file_stores_under,
    refresh_weekly,
    run,
    sensor_context,
)

CLASSIC = "tweet_activity_metrics_alice_data_20261101_20261122_en.csv"
CONTENT = "account_analytics_content_2026-10-23_2026-11-22.csv"
PROFILE = "profile_activity_alice_data_2026-11.csv"
BAD = (
    '"Tweet id","Tweet permalink","time","impressions","likes"\n'
    '"2117530719482806272","https://twitter.com/alice_data/status/2117530719482806272",'
    '"2026-11-03 08:14 +0000","10.0","2.0"\n'
    '"2117530719482806273","https://twitter.com/alice_data/status/2117530719482806273",'
    '"2026-11-03 09:14 +0000","10.0","-4.0"\n'
)


def counts(db: str) -> dict:
    con = connect(db, read_only=True)
    try:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            for table in (
                "raw.posts",
                "raw.tweet_metrics",
                "raw.profile_activity",
                "ops.ingested_files",
                "analytics.post_snapshots",
                "analytics.post_performance",
            )
        }
    finally:
        con.close()


def test_sensor_new_duplicate_and_bad_files(tmp_path):
    inbox, db = tmp_path / "inbox", str(tmp_path / "w.duckdb")
    inbox.mkdir()
    stores = file_stores_under(tmp_path, inbox_dir=str(inbox))
    with dg.instance_for_test() as instance:
        context = sensor_context(instance, stores)
        assert isinstance(inbox_sensor(context), dg.SkipReason)

        for name in (CLASSIC, CONTENT, PROFILE):
            drop(inbox, name)
        drop(inbox, "bad.csv", BAD.encode())
        drop(inbox, "copy_of_classic.csv", (SAMPLES / CLASSIC).read_bytes(), age_seconds=30)
        drop(inbox, "export.csv.crdownload", b"partial")  # a download in progress
        drop(inbox, "just_saved.csv", b"x", age_seconds=-600)  # still being written (modified "now" throughout)

        requests = inbox_sensor(sensor_context(instance, stores))
        files = [r.tags["inbox/file"] for r in requests]
        # Oldest first; the same content twice in one tick launches one run.
        assert sorted(files) == sorted([CLASSIC, CONTENT, PROFILE, "bad.csv"])
        assert all(r.run_key.startswith(r.tags["inbox/sha256"]) for r in requests)
        again = inbox_sensor(sensor_context(instance, stores))
        assert [r.run_key for r in again] == [r.run_key for r in requests]  # Dagster dedupes these

        results = {r.tags["inbox/file"]: run(r, db, instance, stores) for r in requests}
        # A rejected file is a handled outcome: every run succeeds, the rejection is in metadata and a warning.
        assert all(result.success for result in results.values())
        assert sorted(p.name for p in (inbox / "processed").iterdir()) == sorted([CLASSIC, CONTENT, PROFILE])
        assert sorted(p.name for p in (inbox / "rejected").iterdir()) == ["bad.csv", "bad.csv.error.txt"]
        error = (inbox / "rejected" / "bad.csv.error.txt").read_text()
        assert "line 3" in error and "negative count '-4.0'" in error and "nothing from it was written" in error
        rejected = results["bad.csv"]
        assert not rejected.get_step_failure_events()
        assert not [e for e in rejected.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # nor retried
        meta = rejected.asset_materializations_for_node("inbox_files")[0].metadata
        assert meta["outcome"].value == "rejected" and meta["file_rows_ingested"].value == 0
        assert meta["reason"].value == "line 3: column 'likes': negative count '-4.0'"
        check = file_check(rejected)
        assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
        assert "bad.csv: rejected, nothing was written: line 3" in check.description
        assert file_check(results[CLASSIC]).passed
        assert isinstance(refresh_weekly(instance, rejected, db), dg.SkipReason)

        after_first = counts(db)
        # 4 classic + 3 content posts; none of the bad file's (its first row was fine, nothing was written).
        assert after_first == {
            "raw.posts": 7,
            "raw.tweet_metrics": 7,
            "raw.profile_activity": 4,
            "ops.ingested_files": 3,
            "analytics.post_snapshots": 7,
            "analytics.post_performance": 7,
        }
        con = connect(db, read_only=True)
        hours = con.execute(
            "SELECT source, count(hour_utc), count(*) FROM analytics.post_performance GROUP BY ALL ORDER BY 1"
        ).fetchall()
        con.close()
        assert hours == [("x_export_classic", 4, 4), ("x_export_content", 0, 3)]
        performance = results[CONTENT].asset_materializations_for_node("post_performance")[0].metadata
        assert performance["posts_without_hour"].value == 3

        # The copy (same content, other name) now gets its run, finds the ledger entry, changes nothing.
        late = inbox_sensor(sensor_context(instance, stores))
        assert [r.tags["inbox/file"] for r in late] == ["copy_of_classic.csv"]
        duplicate = run(late[0], db, instance, stores)
        assert duplicate.success
        meta = duplicate.asset_materializations_for_node("inbox_files")[0].metadata
        assert meta["outcome"].value == "duplicate" and meta["file_rows_ingested"].value == 0
        assert meta["rows_written_this_run"].value == 0
        assert counts(db) == after_first
        assert (inbox / "processed" / "copy_of_classic.csv").exists()
        assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["export.csv.crdownload", "just_saved.csv"]

        # Each ingested file asks for the weekly analytics of every complete week from its earliest day on.
        (requested,) = refresh_weekly(instance, results[CLASSIC], db)
        assert requested.tags[PARTITION_RANGE_START_TAG] == "2026-11-02"  # its first post: Tue 2026-11-03
        # Every complete week holding data became a partition; the run covers them all.
        weeks = instance.get_dynamic_partitions(WEEKLY_PARTITIONS.name)
        assert weeks[0] == "2026-11-02" and requested.tags[PARTITION_RANGE_END_TAG] == weeks[-1]
        assert refresh_weekly(instance, results[PROFILE], db)[0].tags[PARTITION_RANGE_START_TAG] == "2026-11-16"
        assert isinstance(refresh_weekly(instance, duplicate, db), dg.SkipReason)
        weekly = defs.resolve_job_def("weekly_reporting").execute_in_process(
            instance=instance,
            tags=requested.tags,
            resources={"warehouse": WarehouseResource(database=db), "file_stores": stores},
        )
        assert weekly.success
        con = connect(db, read_only=True)
        summary = con.execute(
            "SELECT total_posts FROM analytics.user_summary WHERE user_id = 'alice_data' "
            "AND period_start = '2026-11-02'"
        ).fetchall()
        reports = con.execute("SELECT count(*) FROM analytics.weekly_reports WHERE user_id = 'alice_data'").fetchall()
        con.close()
        assert summary and summary[0][0] > 0 and reports[0][0] >= 3


def test_cli_ingest_reports_rejections_and_refreshes_analytics(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "w.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", db)
    monkeypatch.setenv("SOCIAL_PIPELINE_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    good = [str(SAMPLES / CLASSIC), str(SAMPLES / PROFILE)]
    assert main(["ingest", *good, str(bad), str(empty)]) == 1
    out = capsys.readouterr()
    assert "REJECTED bad.csv: line 3: column 'likes': negative count '-4.0'" in out.err
    assert "REJECTED empty.csv: line 1: the file is empty" in out.err
    assert "4 files: 2 ingested (8 rows new, 0 updated, 0 unchanged), 0 already ingested, 2 rejected" in out.out
    assert bad.exists()  # without --move the user's files stay where they are
    assert counts(db)["analytics.post_performance"] == 4
    # As the sensor does: the weeks from the earliest ingested day (2026-11-03) on are rebuilt.
    assert "weekly analytics and reports rebuilt for the weeks 2026-11-02 .. " in out.out
    con = connect(db, read_only=True)
    weeks = con.execute(
        "SELECT strftime(period_start, '%Y-%m-%d'), total_posts FROM analytics.user_summary "
        "WHERE user_id = 'alice_data' AND period_start < '2026-11-16' ORDER BY 1"
    ).fetchall()
    con.close()
    assert weeks == [("2026-11-02", 2), ("2026-11-09", 2)]
    assert (tmp_path / "reports" / "alice_data" / "2026-11-09.html").exists()

    assert main(["ingest", *good]) == 0  # the same content again: skipped, exit 0
    assert (
        "2 files: 0 ingested (0 rows new, 0 updated, 0 unchanged), 2 already ingested, 0 rejected"
        in capsys.readouterr().out
    )
    assert counts(db)["raw.tweet_metrics"] == 4


def test_cli_ingest_while_another_process_holds_the_warehouse_exits_75_with_advice(
    tmp_path, monkeypatch, capsys, cli_outputs
):
    db = str(tmp_path / "w.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", db)
    monkeypatch.setenv("SOCIAL_PIPELINE_INBOX", str(tmp_path / "inbox"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    # DuckDB locks per process: a writer connection in a child process holds the file, as a run does.
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
        assert main(["ingest", str(SAMPLES / CLASSIC)]) == 75
        err = capsys.readouterr().err
        assert f"the warehouse {db} is locked by another process" in err
        assert "Nothing was ingested. Retry" in err and str(tmp_path / "inbox") in err
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # Once the other process lets go, the same command works.
    assert main(["ingest", str(SAMPLES / CLASSIC)]) == 0
    assert counts(db)["raw.tweet_metrics"] > 0
