"""A run whose process is killed must not hold the writers' pool for good (issue 14, item 1): real
runs on a real DAGSTER_HOME instance with the project's dagster.yaml, SIGKILLed, and the real queue
daemon ticked afterwards."""

import logging
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


def _home_with_project_config(tmp_path, monkeypatch, launcher=None) -> Path:
    config = yaml.safe_load((REPO / "data/dagster_home/dagster.yaml").read_text())
    if launcher:
        config["run_launcher"] = launcher
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _queue(context, job: str) -> str:
    """Submit a run of `job` as `dagster job launch` does (it waits in the queue), without a process."""
    from dagster._cli.job import _create_run

    workspace = context.create_request_context()
    location = workspace.get_code_location("social_pipeline")
    repo = next(iter(location.get_repositories().values()))
    run = _create_run(instance=context.instance, code_location=location, remote_repo=repo,
                      remote_job=repo.get_full_job(job), run_config={}, tags=None, op_selection=None, run_id=None)
    return context.instance.submit_run(run.run_id, workspace).run_id


def _daemon_context(instance):
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import ModuleTarget

    target = ModuleTarget(module_name="social_pipeline.definitions", attribute=None, working_directory=str(REPO),
                          location_name="social_pipeline")
    return create_test_daemon_workspace_context(target, instance)


def _statuses(instance) -> dict[str, str]:
    return {r.run_id: r.status.value for r in instance.get_runs()}


def test_instance_monitors_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # where the project's event log storage keeps its files
    for folder in ("data/dagster_home", "deploy"):
        monitoring = yaml.safe_load((REPO / folder / "dagster.yaml").read_text())["run_monitoring"]
        assert monitoring["enabled"] is True
        assert monitoring["max_runtime_seconds"] == 3600 and monitoring["start_timeout_seconds"] == 180
    instance = dg.DagsterInstance.from_config(str(REPO / "data/dagster_home"))
    assert instance.run_monitoring_enabled and instance.run_monitoring_max_runtime_seconds == 3600


def test_a_killed_in_process_run_is_failed_and_the_queue_moves_on(tmp_path, monkeypatch):
    """`social-pipeline run` killed mid-run leaves its run STARTED and the queued ml_training run waits
    behind it; the next `social-pipeline run` / `make dev` (init-instance) fails the dead run through
    Dagster, and the queue daemon's next tick starts the queued run."""
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    _home_with_project_config(tmp_path, monkeypatch,
                              launcher={"module": "dagster._core.test_utils", "class": "MockedRunLauncher"})
    assert main(["init-instance"]) == 0
    victim = subprocess.Popen([sys.executable, "-c", SLOW_WRITER], cwd=REPO, env={**os.environ},
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert victim.stdout.readline().strip() == "writing"
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    instance = dg.DagsterInstance.get()
    with _daemon_context(instance) as context:
        queued = _queue(context, "ml_training")
        dead = next(r.run_id for r in instance.get_runs() if r.run_id != queued)
        assert _statuses(instance) == {dead: "STARTED", queued: "QUEUED"}
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        list(daemon.run_iteration(context))
        assert _statuses(instance)[queued] == "QUEUED"  # the dead run holds the writers' pool

        assert main(["init-instance"]) == 0  # what the next `make run` / `make dev` does first
        assert _statuses(instance) == {dead: "FAILURE", queued: "QUEUED"}
        failure = next(e for e in instance.all_logs(dead) if e.is_dagster_event and e.dagster_event.is_run_failure)
        assert f"pid {victim.pid}" in failure.message and "is gone" in failure.message
        list(daemon.run_iteration(context))
        assert _statuses(instance)[queued] == "STARTING"


def test_a_live_runner_keeps_its_run(tmp_path, monkeypatch):
    """Only dead runners' runs are failed: this process's own run in progress, and a run whose runner
    is a reused pid (another start time), are told apart."""
    from social_pipeline.app.stale_runs import RUNNER_TAG, fail_runs_of_dead_runners, runner_tags

    _home_with_project_config(tmp_path, monkeypatch)
    instance = dg.DagsterInstance.get()
    host, pid, start = runner_tags()[RUNNER_TAG].split(":")
    alive = instance.create_run_for_job(dg.GraphDefinition("alive").to_job(), tags=runner_tags())
    reused = instance.create_run_for_job(dg.GraphDefinition("reused").to_job(),
                                         tags={RUNNER_TAG: f"{host}:{pid}:{int(start) - 1}"})
    elsewhere = instance.create_run_for_job(dg.GraphDefinition("elsewhere").to_job(),
                                            tags={RUNNER_TAG: "another-host:1:1"})
    for run in (alive, reused, elsewhere):
        instance.handle_run_event(run.run_id, dg.DagsterEvent(
            event_type_value="PIPELINE_START", job_name=run.job_name))
    assert fail_runs_of_dead_runners(instance) == [reused.run_id]
    assert _statuses(instance) == {alive.run_id: "STARTED", reused.run_id: "FAILURE",
                                   elsewhere.run_id: "STARTED"}


def test_a_sigkilled_run_worker_frees_the_queue_in_bounded_time(tmp_path, monkeypatch):
    """`make dev`'s path: the project's instance with its real default run launcher. The queue daemon
    launches one of two queued writer runs through the code server; its run worker is SIGKILLed; ticking
    the run-monitoring and queue daemons, the dead run is failed and the second run starts, within 60 s."""
    from dagster._daemon.monitoring.run_monitoring import execute_run_monitoring_iteration
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    _home_with_project_config(tmp_path, monkeypatch)
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", str(tmp_path / "warehouse.duckdb"))
    assert main(["init-instance"]) == 0
    instance = dg.DagsterInstance.get()
    with _daemon_context(instance) as context:
        first, second = _queue(context, "ml_training"), _queue(context, "ml_training")
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        list(daemon.run_iteration(context))
        assert _statuses(instance) == {first: "STARTING", second: "QUEUED"}
        os.kill(_worker_pid(instance, first, deadline=time.monotonic() + 60), signal.SIGKILL)
        killed_at = time.monotonic()
        while _statuses(instance)[second] == "QUEUED":
            assert time.monotonic() - killed_at < 60, _statuses(instance)
            list(execute_run_monitoring_iteration(context, logging.getLogger("run_monitoring")))
            list(daemon.run_iteration(context))
            time.sleep(0.2)
        assert _statuses(instance)[first] == "FAILURE"
        # The code server noticed its worker died (the default launcher has no worker health check).
        assert any("[DagsterApiServer]" in e.message and "terminated by signal 9 (SIGKILL)" in e.message
                   for e in instance.all_logs(first))
        instance.run_launcher.terminate(second)


def _worker_pid(instance, run_id: str, deadline: float) -> int:
    """The run worker's pid, from the engine event it records as it starts."""
    while time.monotonic() < deadline:
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event and event.event_type_value == "ENGINE_EVENT" and "pid" in (event.engine_event_data.metadata or {}):
                return int(event.engine_event_data.metadata["pid"].value)
        time.sleep(0.05)
    pytest.fail(f"run {run_id} recorded no worker pid")
