"""A run whose process is killed must not hold the writers' pool for good (issue 14, item 1): real
runs on a real DAGSTER_HOME instance with the project's dagster.yaml, SIGKILLed, with a real queue and
run-monitoring daemon (`dagster-daemon run`) watching."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from social_pipeline.app.cli import main
from social_pipeline_tests.helpers import launch, project_home, running_daemon, wait_until

REPO = Path(__file__).resolve().parents[2]

# A writer that takes long enough to be killed mid-run, executed the way `social-pipeline run` executes
# its jobs: in process, on DAGSTER_HOME, tagged with its runner.
SLOW_WRITER = textwrap.dedent("""
    import time
    import dagster as dg
    from social_pipeline.defs.common import WAREHOUSE_POOL
    from social_pipeline.app.stale_runs import runner_tags

    @dg.asset(pool=WAREHOUSE_POOL)
    def slow_writer():
        print("writing", flush=True)
        time.sleep(120)

    dg.materialize([slow_writer], instance=dg.DagsterInstance.get(), tags=runner_tags())
""")


def _statuses(instance) -> dict[str, str]:
    return {r.run_id: r.status.value for r in instance.get_runs()}


def _blocked_by_the_pool(daemon_log: Path, run_id: str) -> bool:
    """Whether the queue daemon has reported the run held back by the pools' limit (its log line)."""
    text = daemon_log.read_text(errors="replace") if daemon_log.exists() else ""
    return f"Run {run_id} is blocked by global concurrency limits" in text


def test_instance_monitors_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # where the project's event log storage keeps its files
    for folder in ("data/dagster_home", "deploy"):
        monitoring = yaml.safe_load((REPO / folder / "dagster.yaml").read_text())["run_monitoring"]
        assert monitoring["enabled"] is True
        assert monitoring["max_runtime_seconds"] == 3600 and monitoring["start_timeout_seconds"] == 180
    instance = dg.DagsterInstance.from_config(str(REPO / "data/dagster_home"))
    assert instance.run_monitoring_enabled and instance.run_monitoring_max_runtime_seconds == 3600


def test_a_killed_in_process_run_is_failed_and_the_queue_moves_on(tmp_path, monkeypatch, cli_outputs):
    """`social-pipeline run` killed mid-run leaves its run STARTED and a queued writer run waits behind
    it while the queue daemon (`dagster-daemon run`, as in `make dev`) ticks; the next `social-pipeline
    run` / `make dev` (init-instance) fails the dead run through Dagster, and the daemon starts the queued run."""
    project_home(tmp_path, monkeypatch)
    assert main(["init-instance"]) == 0
    victim = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER],
        cwd=REPO,
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        launch("prediction_feedback")  # meanwhile the victim starts its run
        assert victim.stdout.readline().strip() == "writing"
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    instance = dg.DagsterInstance.get()
    queued = next(r.run_id for r in instance.get_runs() if r.status.value == "QUEUED")
    dead = next(r.run_id for r in instance.get_runs() if r.run_id != queued)
    assert _statuses(instance) == {dead: "STARTED", queued: "QUEUED"}
    log = tmp_path / "daemon.log"
    with running_daemon({**os.environ}, log):
        # The dead run holds the writers' pool: the daemon looks at the queued run and holds it back.
        wait_until(lambda: _blocked_by_the_pool(log, queued), 120, "the queue daemon held the run back")
        assert _statuses(instance)[queued] == "QUEUED"

        assert main(["init-instance"]) == 0  # what the next `make run` / `make dev` does first
        assert _statuses(instance)[dead] == "FAILURE"
        failure = next(e for e in instance.all_logs(dead) if e.is_dagster_event and e.dagster_event.is_run_failure)
        assert f"pid {victim.pid}" in failure.message and "is gone" in failure.message
        wait_until(lambda: _statuses(instance)[queued] != "QUEUED", 60, "the queued run started")


def test_a_live_runner_keeps_its_run(tmp_path, monkeypatch):
    """Only dead runners' runs are failed: this process's own run in progress, and a run whose runner
    is a reused pid (another start time), are told apart."""
    from social_pipeline.app.stale_runs import RUNNER_TAG, fail_runs_of_dead_runners, runner_tags

    project_home(tmp_path, monkeypatch)
    instance = dg.DagsterInstance.get()
    host, pid, start = runner_tags()[RUNNER_TAG].split(":")
    alive = instance.create_run_for_job(dg.GraphDefinition("alive").to_job(), tags=runner_tags())
    reused = instance.create_run_for_job(
        dg.GraphDefinition("reused").to_job(), tags={RUNNER_TAG: f"{host}:{pid}:{int(start) - 1}"}
    )
    elsewhere = instance.create_run_for_job(
        dg.GraphDefinition("elsewhere").to_job(), tags={RUNNER_TAG: "another-host:1:1"}
    )
    for run in (alive, reused, elsewhere):
        instance.handle_run_event(run.run_id, dg.DagsterEvent(event_type_value="PIPELINE_START", job_name=run.job_name))
    assert fail_runs_of_dead_runners(instance) == [reused.run_id]
    assert _statuses(instance) == {alive.run_id: "STARTED", reused.run_id: "FAILURE", elsewhere.run_id: "STARTED"}


def test_a_sigkilled_run_worker_frees_the_queue_in_bounded_time(tmp_path, monkeypatch, cli_outputs):
    """`make dev`'s path: the project's instance with its real default run launcher and a real daemon
    (run monitoring polled every second). The daemon launches one of two queued writer runs through
    its code server; its run worker is SIGKILLed; the dead run is failed and the second run starts,
    within 60 s."""
    home = project_home(tmp_path, monkeypatch)
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 1
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    assert main(["init-instance"]) == 0
    instance = dg.DagsterInstance.get()
    launch("ml_training", "ml_training")
    first, second = sorted(instance.get_run_records(), key=lambda r: r.create_timestamp)
    first, second = first.dagster_run.run_id, second.dagster_run.run_id
    with running_daemon({**os.environ}, tmp_path / "daemon.log"):
        worker_pid = _worker_pid(instance, first, deadline=time.monotonic() + 120)
        assert _statuses(instance)[second] == "QUEUED"
        os.kill(worker_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: _statuses(instance)[second] != "QUEUED", 60, "the second run started")
        assert time.monotonic() - killed_at < 60
        assert _statuses(instance)[first] == "FAILURE"
        # The code server noticed its worker died (the default launcher has no worker health check).
        assert any(
            "[DagsterApiServer]" in e.message and "terminated by signal 9 (SIGKILL)" in e.message
            for e in instance.all_logs(first)
        )


def _worker_pid(instance, run_id: str, deadline: float) -> int:
    """The run worker's pid, from the engine event it records as it starts."""
    while time.monotonic() < deadline:
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event and event.event_type_value == "ENGINE_EVENT" and "pid" in (event.engine_event_data.metadata or {}):
                return int(event.engine_event_data.metadata["pid"].value)
        time.sleep(0.05)
    pytest.fail(f"run {run_id} recorded no worker pid")
