"""The single-writer pool: every writer asset is in it, and the instance configs queue writer runs by it."""

import shutil
from pathlib import Path

import dagster as dg
import yaml

from social_pipeline.defs.common import WAREHOUSE_POOL
from social_pipeline.definitions import defs


REPO = Path(__file__).resolve().parents[2]


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


def test_two_writer_runs_queued_together_start_one_at_a_time(tmp_path, monkeypatch, cli_outputs):
    """The project's dagster.yaml with a launcher that records launches: two ml_training runs submitted
    through `dagster job launch` wait in the queue; the queue daemon's tick launches one, not both."""
    import os
    import subprocess
    import sys

    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    from social_pipeline.app.cli import main

    config = yaml.safe_load((REPO / "data/dagster_home/dagster.yaml").read_text())
    config["run_launcher"] = {"module": "dagster._core.test_utils", "class": "MockedRunLauncher"}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["init-instance"]) == 0  # what `make dev` runs first
    for _ in range(2):
        subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-m", "social_pipeline.definitions",
                        "-j", "ml_training"], env={**os.environ}, cwd=REPO, check=True, capture_output=True)
    instance = dg.DagsterInstance.get()
    assert sorted(r.status.value for r in instance.get_runs()) == ["QUEUED", "QUEUED"]
    target = ModuleTarget(module_name="social_pipeline.definitions", attribute=None, working_directory=str(REPO),
                          location_name="social_pipeline")
    with create_test_daemon_workspace_context(target, instance) as context:
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        for _ in range(2):  # a second tick changes nothing while the first run is in progress
            list(daemon.run_iteration(context))
            assert sorted(r.status.value for r in instance.get_runs()) == ["QUEUED", "STARTING"]


def test_deploy_config_parses():
    from dagster._core.instance.config import dagster_instance_config

    config, _ = dagster_instance_config(str(REPO / "deploy"))
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["storage"]["postgres"]["postgres_db"]["hostname"] == {"env": "DAGSTER_PG_HOST"}
    assert config["concurrency"]["pools"]["default_limit"] == 4  # a lake takes writers at once
