import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.sources import SimulatedSourceResource
from social_pipeline.resources.warehouse import WarehouseResource

from .postgres_server import PostgresServer, PostgresUnavailable

# A fixed simulated clock keeps every test deterministic.
CLOCK = pd.Timestamp("2026-11-18 12:00")
REPO_DATA = Path(__file__).resolve().parents[1] / "data"


def file_stores_under(root, **fields) -> FileStoresResource:
    """Reports, models, the BI copy, ops files and the inbox under `root`; `fields` override them."""
    root = Path(root)
    return FileStoresResource(**{
        "reports_dir": str(root / "reports"), "models_dir": str(root / "models"), "ops_dir": str(root / "ops"),
        "bi_database": str(root / "bi" / "warehouse.duckdb"), "inbox_dir": str(root / "inbox"), **fields})


def _repository_outputs() -> dict:
    return {str(p): p.stat().st_mtime_ns for p in REPO_DATA.rglob("*")
            if p.is_file() and p.relative_to(REPO_DATA).parts[0] not in ("dagster_home", "inbox-samples")}


@pytest.fixture(scope="session", autouse=True)
def no_test_writes_into_the_repository():
    """Tests pass their file stores as resources; one that forgets (a job of `defs` run without
    "file_stores") would write into the repository's data/, and fails the session here."""
    before = _repository_outputs()
    yield
    changed = sorted(path for path, mtime in _repository_outputs().items() if before.get(path) != mtime)
    assert not changed, f"tests wrote into the repository's data/: {changed[:5]}"


@pytest.fixture
def file_stores(tmp_path) -> FileStoresResource:
    return file_stores_under(tmp_path / "outputs")


@pytest.fixture
def cli_outputs(tmp_path, monkeypatch):
    """For tests of the CLI, an entry point that reads the environment: its output folders under tmp_path."""
    from social_pipeline.warehouse.file_stores import FILE_STORE_ENV_VARS

    stores = file_stores_under(tmp_path / "outputs")
    for field in ("reports_dir", "models_dir", "ops_dir", "bi_database"):
        monkeypatch.setenv(FILE_STORE_ENV_VARS[field], getattr(stores, field))
    return stores


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "warehouse.duckdb")


@pytest.fixture
def resources(db_path, file_stores):
    return {
        "warehouse": WarehouseResource(database=db_path),
        "source": SimulatedSourceResource(clock=str(CLOCK), history_days=3),
        "file_stores": file_stores,
    }


@pytest.fixture(scope="session")
def trained_warehouse(tmp_path_factory):
    """42 days of simulated history with trained reach and likes models and its BI copy, built once
    for the API, page and CLI tests. (On 24 days the models did not beat the baseline, so they are
    not promoted and nothing would be served.) Paths: db, bi, models; serve it with `serving_env`."""
    import dagster as dg

    from social_pipeline.core.publish import publish_copy
    from social_pipeline.definitions import defs
    from social_pipeline.warehouse.connection import connect

    from social_pipeline_tests.defs.ingestion.test_assets import collect

    root = tmp_path_factory.mktemp("trained")
    paths = {"db": str(root / "warehouse.duckdb"), "bi": str(root / "bi.duckdb"), "models": str(root / "models")}
    warehouse = WarehouseResource(database=paths["db"])
    collect({"warehouse": warehouse, "source": SimulatedSourceResource(clock=str(CLOCK), history_days=42)},
            first="2026-10-07-12:00", last="2026-11-18-11:00")
    result = defs.resolve_job_def("ml_training").execute_in_process(
        resources={"warehouse": warehouse, "file_stores": file_stores_under(root, models_dir=paths["models"])},
        instance=dg.DagsterInstance.ephemeral())
    assert result.success
    con = connect(paths["db"])
    assert con.execute("SELECT bool_and(promoted) FROM ml.model_registry").fetchall() == [(True,)]
    try:
        publish_copy(con, paths["bi"])
    finally:
        con.close()
    return paths


@pytest.fixture
def serving_env(trained_warehouse, tmp_path, monkeypatch):
    """The environment `make api` and `social-pipeline predict` read, pointed at the trained warehouse;
    predictions are logged under tmp_path/ops."""
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", trained_warehouse["db"])
    monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", trained_warehouse["bi"])
    monkeypatch.setenv("SOCIAL_PIPELINE_OPS_DIR", str(tmp_path / "ops"))
    yield {**trained_warehouse, "ops": str(tmp_path / "ops")}



def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of this test process's own (one per xdist worker), started on first use.
    Outside CI a machine without PostgreSQL skips the tests that need it; in CI they fail."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        if _in_ci():
            pytest.fail(f"CI needs a PostgreSQL server: {exc}")
        pytest.skip(str(exc))
    with server:
        yield server


_lake_numbers = itertools.count()


@pytest.fixture
def lake(postgres_server, tmp_path, monkeypatch):
    """A new, empty DuckLake warehouse: its catalog a new database on the test server, its data files
    under tmp_path/lake. SOCIAL_PIPELINE_DB and SOCIAL_PIPELINE_LAKE_DATA_PATH point at it."""
    catalog = postgres_server.create_database(f"lake_{os.getpid()}_{next(_lake_numbers)}")
    database = f"ducklake:postgres:{catalog}"
    data_path = str(tmp_path / "lake")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", database)
    monkeypatch.setenv("SOCIAL_PIPELINE_LAKE_DATA_PATH", data_path)
    return {"database": database, "data_path": data_path, "catalog": catalog}


@contextlib.contextmanager
def running_daemon(env: dict, log_path: Path):
    """`dagster-daemon run` on the project's code location, as `make dev` runs it, in its own process
    group (its code server and run workers included), stopped and reaped on exit. Its output goes to
    `log_path`, shown by a failing test's assertion when it reads it."""
    repo = Path(__file__).resolve().parents[1]
    with open(log_path, "w") as log:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(repo / "workspace.yaml")],
            cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield daemon
        finally:
            for sig, wait_seconds in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(daemon.pid, sig)
                    daemon.wait(timeout=wait_seconds)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue


def wait_until(condition, timeout_seconds: float, what: str, poll_seconds: float = 0.2):
    """Poll `condition` until it returns something true (returned), failing the test after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_seconds)
    pytest.fail(f"not within {timeout_seconds} s: {what}")


def project_home(tmp_path, monkeypatch, dequeue_interval_seconds: int = 1) -> Path:
    """DAGSTER_HOME with the project's dagster.yaml, its queue polled every second (not every 5 s), and
    the warehouse and inbox under tmp_path: what `make dev`'s daemon uses, for a daemon in a test."""
    config = yaml.safe_load((REPO_DATA / "dagster_home" / "dagster.yaml").read_text())
    config["run_coordinator"]["config"] = {"dequeue_interval_seconds": dequeue_interval_seconds}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SOCIAL_PIPELINE_INBOX", str(tmp_path / "inbox"))
    return home


def launch(job: str) -> None:
    """Submit a run of `job` as a person does (`dagster job launch`): it waits in the instance's queue."""
    repo = REPO_DATA.parent
    subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-w", str(repo / "workspace.yaml"), "-j", job],
                   env={**os.environ}, cwd=repo, check=True, capture_output=True)
