"""The single-writer pool: every writer asset is in it, and the instance configs queue writer runs by it."""

import os
import shutil
from pathlib import Path

import dagster as dg
import yaml

from social_pipeline.definitions import defs
from social_pipeline.defs.common import WAREHOUSE_POOL
from social_pipeline_tests.helpers import launch, project_home, running_daemon, wait_until

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


IN_PROGRESS = {"STARTING", "STARTED"}
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def test_two_writer_runs_queued_together_start_one_at_a_time(tmp_path, monkeypatch, cli_outputs):
    """The project's dagster.yaml: two prediction_feedback runs (writers: the prediction log) submitted
    through `dagster job launch` wait in the queue; the real queue daemon (`dagster-daemon run`, as in
    `make dev`) starts the second only after the first has finished, never both at once."""
    from social_pipeline.app.cli import main

    project_home(tmp_path, monkeypatch)
    assert main(["init-instance"]) == 0  # what `make dev` runs first
    launch("prediction_feedback", "prediction_feedback")
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


def test_deploy_config_parses():
    config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    storage = config["storage"]["custom"]
    assert (storage["module"], storage["class"]) == ("social_pipeline.deploy_storage", "PostgresStorageWithPortFromEnv")
    assert storage["config"]["postgres_db"]["hostname"] == {"env": "DAGSTER_PG_HOST"}
    assert "port" not in storage["config"]["postgres_db"]  # DAGSTER_PG_PORT, 5432 when unset
    assert config["concurrency"]["pools"]["default_limit"] == 4  # a lake takes writers at once
