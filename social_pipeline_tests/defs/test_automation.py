"""Schedules, sensors, the BI copy, the instance's concurrency config, and crash safety."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import yaml

from social_pipeline.defs.common import HOURLY_PARTITIONS, WAREHOUSE_POOL, WEEKLY_PARTITIONS, add_partition_keys
from social_pipeline.definitions import defs
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect, is_local_file

from social_pipeline_tests.conftest import file_stores_under, launch, project_home, running_daemon, wait_until
from social_pipeline_tests.defs.ingestion.test_assets import collect
from social_pipeline.defs.ops.assets import bi_warehouse_copy
from social_pipeline.defs.ops.sensors import record_and_notify_run_failure
from social_pipeline.resources.smtp import SmtpResource

REPO = Path(__file__).resolve().parents[2]


def test_hourly_schedule_collects_the_hour_that_just_closed():
    schedule = defs.resolve_schedule_def("hourly_collection_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-11-18-09:00"])
        # As a context manager: the context opens its own instance, which must be closed again.
        with dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                       scheduled_execution_time=pd.Timestamp("2026-11-18 13:05", tz="UTC")) as context:
            requests = list(schedule.evaluate_tick(context).run_requests)
        assert [r.partition_key for r in requests] == ["2026-11-18-12:00"]
        # The hour becomes a partition, and so do the two the daemon missed (they show as missing).
        assert instance.get_dynamic_partitions(HOURLY_PARTITIONS.name) == [
            "2026-11-18-09:00", "2026-11-18-10:00", "2026-11-18-11:00", "2026-11-18-12:00"]


def test_hourly_schedule_after_a_history_of_days_and_weeks_adds_hours_from_its_end():
    schedule = defs.resolve_schedule_def("hourly_collection_schedule")
    with dg.instance_for_test() as instance:
        # make run's history ends in whole days and weeks: the schedule carries on in hours from 2026-11-18 00:00.
        add_partition_keys(instance, HOURLY_PARTITIONS, ["2026-W46", "2026-11-16", "2026-11-17"])
        with dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                       scheduled_execution_time=pd.Timestamp("2026-11-18 02:05", tz="UTC")) as context:
            requests = list(schedule.evaluate_tick(context).run_requests)
        assert [r.partition_key for r in requests] == ["2026-11-18-01:00"]
        assert instance.get_dynamic_partitions(HOURLY_PARTITIONS.name) == [
            "2026-W46", "2026-11-16", "2026-11-17", "2026-11-18-00:00", "2026-11-18-01:00"]


def test_weekly_report_schedule_reports_the_week_just_ended():
    schedule = defs.resolve_schedule_def("weekly_report_schedule")
    with dg.instance_for_test() as instance:
        add_partition_keys(instance, WEEKLY_PARTITIONS, ["2026-11-02"])
        # As a context manager: the context opens its own instance, which must be closed again.
        with dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                       scheduled_execution_time=pd.Timestamp("2026-11-23 06:00", tz="UTC")) as context:
            requests = list(schedule.evaluate_tick(context).run_requests)
        assert [r.partition_key for r in requests] == ["2026-11-16"]  # Monday 16th .. Sunday 22nd
        # Weeks are partitions when they hold data or the schedule closes them: no gap filling.
        assert instance.get_dynamic_partitions(WEEKLY_PARTITIONS.name) == ["2026-11-02", "2026-11-16"]


def test_collection_has_a_freshness_policy():
    node = defs.resolve_asset_graph().get(dg.AssetKey("raw_tweet_metrics"))
    policy = node.freshness_policy
    assert policy.fail_window.to_timedelta().total_seconds() == 3 * 3600
    assert policy.warn_window.to_timedelta().total_seconds() == 2 * 3600


def test_every_writer_asset_is_in_the_single_writer_pool():
    graph = defs.resolve_asset_graph()
    writers = [node for node in graph.asset_nodes if node.is_materializable]
    assert writers
    missing = [n.key.to_user_string() for n in writers if n.pools != {WAREHOUSE_POOL}]
    assert missing == []


def test_instance_queues_writer_runs_one_at_a_time(tmp_path, monkeypatch):
    config = yaml.safe_load((REPO / "data/dagster_home/dagster.yaml").read_text())
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"] == {"granularity": "run", "default_limit": 1}
    shutil.copyfile(REPO / "data/dagster_home/dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # the event log lives under DAGSTER_HOME
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    pool = instance.get_concurrency_config().pool_config
    assert pool.default_pool_limit == 1 and pool.pool_granularity.value == "run"


IN_PROGRESS = {"STARTING", "STARTED"}
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def test_two_writer_runs_queued_together_start_one_at_a_time(tmp_path, monkeypatch, cli_outputs):
    """The project's dagster.yaml: two prediction_feedback runs (writers: the prediction log) submitted
    through `dagster job launch` wait in the queue; the real queue daemon (`dagster-daemon run`, as in
    `make dev`) starts the second only after the first has finished, never both at once."""
    from social_pipeline.app.cli import main

    project_home(tmp_path, monkeypatch)
    assert main(["init-instance"]) == 0  # what `make dev` runs first
    for _ in range(2):
        launch("prediction_feedback")
    instance = dg.DagsterInstance.get()
    assert sorted(r.status.value for r in instance.get_runs()) == ["QUEUED", "QUEUED"]
    most_in_progress = 0

    def both_finished():
        nonlocal most_in_progress
        statuses = [r.status.value for r in instance.get_runs()]
        most_in_progress = max(most_in_progress, sum(s in IN_PROGRESS for s in statuses))
        return all(s in FINISHED for s in statuses)

    with running_daemon({**os.environ}, tmp_path / "daemon.log"):
        wait_until(both_finished, 180, "both queued runs finished")
    first, second = sorted(instance.get_run_records(), key=lambda r: r.start_time)
    assert most_in_progress == 1
    assert second.start_time >= first.end_time  # the writers' pool held the second until the first ended


def _failed_run(instance):
    @dg.asset
    def always_fails():
        raise ValueError("source said no")

    result = dg.materialize([always_fails], instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_run_failure)
    return run, failure.dagster_event


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    import socket

    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def test_failure_sensor_records_and_emails(tmp_path, smtp_server):
    port, received = smtp_server
    instance = dg.DagsterInstance.ephemeral()
    run, event = _failed_run(instance)
    smtp = SmtpResource(host="127.0.0.1", port=port, recipients=["team@example.com"])
    context = dg.build_run_status_sensor_context(
        sensor_name="record_and_notify_run_failure", dagster_instance=instance, dagster_run=run,
        dagster_event=event, resources={"smtp": smtp, "file_stores": file_stores_under(tmp_path)},
    ).for_run_failure()
    record_and_notify_run_failure(context)

    records = [json.loads(line) for line in (tmp_path / "ops/run_failures.jsonl").read_text().splitlines()]
    assert [r["run_id"] for r in records] == [run.run_id]
    assert "always_fails" in records[0]["error"]
    deadline = time.time() + 5
    while not received and time.time() < deadline:
        time.sleep(0.05)
    assert len(received) == 1
    assert received[0]["To"] == "team@example.com"
    assert run.run_id in received[0].get_payload()


def test_dagsters_email_on_failure_sensor_cannot_mail_through_a_plain_relay(smtp_server):
    """Why record_and_notify_run_failure stays hand-written: dg.make_email_on_run_failure_sensor always
    logs in over SSL or STARTTLS (a local relay without either, the default here, refuses it) and takes
    the password as a string when the code location loads (dg.EnvVar would be sent as the variable's
    name), and it cannot write the failure record. The same relay takes our sensor's mail (above)."""
    import smtplib

    port, received = smtp_server
    instance = dg.DagsterInstance.ephemeral()
    run, event = _failed_run(instance)
    builtin = dg.make_email_on_run_failure_sensor(
        email_from="social-pipeline@localhost", email_password="unused", email_to=["team@example.com"],
        smtp_host="127.0.0.1", smtp_port=port, smtp_type="STARTTLS")
    context = dg.build_run_status_sensor_context(
        sensor_name=builtin.name, dagster_instance=instance, dagster_run=run, dagster_event=event).for_run_failure()
    with pytest.raises(smtplib.SMTPNotSupportedError, match="STARTTLS"):
        builtin(context)
    assert received == []


def test_failure_sensor_without_smtp_only_records(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    run, event = _failed_run(instance)
    context = dg.build_run_status_sensor_context(
        sensor_name="record_and_notify_run_failure", dagster_instance=instance, dagster_run=run,
        dagster_event=event, resources={"smtp": SmtpResource(), "file_stores": file_stores_under(tmp_path)},
    ).for_run_failure()
    record_and_notify_run_failure(context)
    assert len((tmp_path / "ops/run_failures.jsonl").read_text().splitlines()) == 1


def bi_copy_requests(instance, cursor=None):
    """One tick of the project's automation condition sensor: (BI copy requests, all requests, cursor)."""
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    return result.get_num_requested(bi_warehouse_copy.key), result.total_requested, result.cursor


def test_bi_copy_is_requested_once_after_the_warehouse_changed_and_not_after_itself(db_path, file_stores):
    sensor = defs.resolve_sensor_def("declarative_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert "publish_bi_copy_after_success" not in {s.name for s in defs.sensors}
    warehouse = {"warehouse": WarehouseResource(database=db_path), "file_stores": file_stores}
    feedback = defs.resolve_job_def("prediction_feedback")  # two real writer assets, quick on an empty warehouse
    with dg.instance_for_test() as instance:
        requested, total, cursor = bi_copy_requests(instance)
        assert (requested, total) == (0, 0)  # nothing has run: nothing to copy
        assert feedback.execute_in_process(instance=instance, resources=warehouse).success
        # Another writer run has started and not finished: no copy of a half-done state while it runs.
        running = instance.create_run_for_job(feedback, status=dg.DagsterRunStatus.STARTING)
        requested, total, cursor = bi_copy_requests(instance, cursor)
        assert (requested, total) == (0, 0)
        instance.report_run_canceled(running)
        requested, total, cursor = bi_copy_requests(instance, cursor)
        assert (requested, total) == (1, 1)  # once it is over: one copy, nothing else
        requested, total, cursor = bi_copy_requests(instance, cursor)
        assert (requested, total) == (0, 0)  # requested once: the next tick does not ask again

        dg.materialize([bi_warehouse_copy], instance=instance, resources=warehouse)
        requested, total, cursor = bi_copy_requests(instance, cursor)
        assert (requested, total) == (0, 0)  # publishing the copy requests no copy


def test_the_bi_copy_depends_on_every_asset_that_writes_the_warehouse():
    """The copy's dependencies are what its condition watches: a writer left out would change the
    warehouse without a new copy."""
    graph = defs.resolve_asset_graph()
    writers = {n.key for n in graph.asset_nodes if n.is_materializable and n.pools == {WAREHOUSE_POOL}}
    assert set(graph.get(bi_warehouse_copy.key).parent_keys) == writers - {bi_warehouse_copy.key}


def test_bi_reader_is_never_blocked_and_never_sees_a_mix(resources, db_path, tmp_path):
    bi_file = tmp_path / "bi" / "warehouse.duckdb"
    publish = {"warehouse": WarehouseResource(database=db_path), "file_stores": file_stores_under(tmp_path)}
    collect(resources, "2026-11-15-12:00", "2026-11-16-11:00")
    dg.materialize([bi_warehouse_copy], resources=publish)

    reader = duckdb.connect(str(bi_file), read_only=True)  # a BI tool holding the copy open
    old_counts = reader.execute("SELECT (SELECT count(*) FROM analytics.post_snapshots), "
                                "(SELECT count(*) FROM raw.tweet_metrics)").fetchall()[0]
    # A full run and a new publication while the reader stays open: neither side fails.
    collect(resources)
    dg.materialize([bi_warehouse_copy], resources=publish)
    still_old = reader.execute("SELECT (SELECT count(*) FROM analytics.post_snapshots), "
                               "(SELECT count(*) FROM raw.tweet_metrics)").fetchall()[0]
    assert still_old == old_counts
    assert old_counts[0] == old_counts[1]  # consistent: snapshots match the raw rows of the same state
    reader.close()

    fresh = duckdb.connect(str(bi_file), read_only=True)
    new_counts = fresh.execute("SELECT (SELECT count(*) FROM analytics.post_snapshots), "
                               "(SELECT count(*) FROM raw.tweet_metrics)").fetchall()[0]
    fresh.close()
    assert new_counts[0] == new_counts[1] > old_counts[0]
    assert [p.name for p in bi_file.parent.iterdir()] == ["warehouse.duckdb"]  # no staging files left


def _table_dump(path):
    con = duckdb.connect(path, read_only=True)
    try:
        dump = {}
        for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('raw','analytics') ORDER BY 1, 2"
        ).fetchall():
            frame = con.execute(f"SELECT * FROM {schema}.{name}").df()
            # Write times differ between two runs, and a report states when it was generated in its text.
            frame = frame.drop(columns=[c for c in ("ingested_at", "written_at", "source_written_at", "generated_at",
                                                    "report_json", "report_markdown") if c in frame])
            # Every column sorts: rows tied on the keys (a user's content types in a week) keep no order of their own.
            dump[f"{schema}.{name}"] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
        return dump
    finally:
        con.close()


def _run_cli(db, days, tmp_path, stdout=subprocess.DEVNULL):
    env = {**os.environ, "SOCIAL_PIPELINE_DB": str(db), "SOCIAL_PIPELINE_BI_DB": str(tmp_path / "bi.duckdb"),
           "PYTHONUNBUFFERED": "1"}
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen([sys.executable, "-m", "social_pipeline.app.cli", "run", "--days", str(days),
                             "--as-of", "2026-11-18 12:00"], cwd=REPO, env=env,
                            stdout=stdout, stderr=subprocess.DEVNULL, text=True)


# Long enough for a complete week: the runs after the collection then have rows of their own to write.
HISTORY_DAYS_TO_KILL = 10


def test_sigkill_mid_write_then_rerun_equals_a_clean_run(tmp_path, cli_outputs):
    clean, crashed = tmp_path / "clean.duckdb", tmp_path / "crashed.duckdb"
    assert _run_cli(clean, HISTORY_DAYS_TO_KILL, tmp_path).wait(timeout=240) == 0
    victim = _run_cli(crashed, HISTORY_DAYS_TO_KILL, tmp_path, stdout=subprocess.PIPE)
    # Past the first data: the collection run has committed (the CLI says so), the weekly run (a complete
    # week lies in the history) is writing.
    # (A file-size threshold depended on the DuckDB version: a large uncommitted write grows the file too.)
    for line in victim.stdout:
        if line.lstrip().startswith("hourly_collection:"):
            break
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL, "the run finished before a mid-run write was caught"

    # The crash left raw rows behind, and not yet everything a finished run writes.
    expected, partial = _table_dump(str(clean)), _table_dump(str(crashed))
    assert len(partial.get("raw.posts", [])) > 0
    assert any(len(partial.get(name, [])) != len(expected[name]) for name in expected)

    assert _run_cli(crashed, HISTORY_DAYS_TO_KILL, tmp_path).wait(timeout=240) == 0
    got = _table_dump(str(crashed))
    assert list(expected) == list(got)
    for name in expected:
        pd.testing.assert_frame_equal(expected[name], got[name], obj=name)


def test_motherduck_paths_pass_through_untouched(monkeypatch):
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", "md:social_warehouse?motherduck_token_env=MD_TOKEN")
    from social_pipeline.warehouse.connection import database_path

    assert database_path() == "md:social_warehouse?motherduck_token_env=MD_TOKEN"
    assert not is_local_file(database_path())
    assert WarehouseResource(database=database_path()).database == database_path()


def test_deploy_config_parses():
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    storage = config["storage"]["custom"]
    assert (storage["module"], storage["class"]) == ("social_pipeline.deploy_storage", "PostgresStorageWithPortFromEnv")
    assert storage["config"]["postgres_db"]["hostname"] == {"env": "DAGSTER_PG_HOST"}
    assert "port" not in storage["config"]["postgres_db"]  # DAGSTER_PG_PORT, 5432 when unset
    assert config["concurrency"]["pools"]["default_limit"] == 4  # a lake takes writers at once
