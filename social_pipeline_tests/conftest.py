"""Fixtures and hooks shared by the tests; helpers they use live in social_pipeline_tests/helpers.py."""

import os
import shutil
from pathlib import Path

import pytest

from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.sources import SimulatedSourceResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline_tests.helpers import (
    CLOCK,
    LAKE_NUMBERS,
    PostgresServer,
    PostgresUnavailable,
    build_collected_history,
    build_trained_warehouse,
    built_once,
    file_stores_under,
    in_ci,
    repository_outputs,
    slowest_modules_first,
)


def pytest_collection_modifyitems(items):
    slowest_modules_first(items)


@pytest.fixture(scope="session", autouse=True)
def no_dagster_home_of_the_developer():
    """`make` exports DAGSTER_HOME (data/dagster_home, for `make dev`), and so does a developer's shell at
    times: a CLI command run in a test would record its runs there. Tests that need an instance make
    their own (helpers.project_home, an ephemeral one, or one under tmp_path)."""
    home = os.environ.pop("DAGSTER_HOME", None)
    yield
    if home is not None:
        os.environ["DAGSTER_HOME"] = home


@pytest.fixture(scope="session", autouse=True)
def no_test_writes_into_the_repository():
    """Tests pass their file stores as resources; one that forgets (a job of `defs` run without
    "file_stores") would write into the repository's data/, and fails the session here."""
    before = repository_outputs()
    yield
    changed = sorted(path for path, mtime in repository_outputs().items() if before.get(path) != mtime)
    assert not changed, f"tests wrote into the repository's data/: {changed[:5]}"


@pytest.fixture
def file_stores(tmp_path) -> FileStoresResource:
    return file_stores_under(tmp_path / "outputs")


@pytest.fixture
def cli_outputs(tmp_path, monkeypatch):
    """For tests of the CLI, an entry point that reads the environment: its output folders under tmp_path."""
    from social_pipeline.resources.files import FILE_STORE_ENV_VARS

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
def collected_history(tmp_path_factory) -> Path:
    """42 days of simulated history up to CLOCK (HISTORY_42_DAYS) collected into `warehouse.duckdb` in
    the returned folder, built once per session (shared by the xdist workers): copy it before writing."""
    return built_once(tmp_path_factory, "collected", build_collected_history)


@pytest.fixture(scope="session")
def trained_warehouse(tmp_path_factory, collected_history):
    """42 days of simulated history with trained reach and likes models and its BI copy, built once
    for the API, page and CLI tests. (On 24 days the models did not beat the baseline, so they are
    not promoted and nothing would be served.) Paths: db, bi, models; serve it with `serving_env`.
    Built once per session (shared by the xdist workers); each worker gets its own copy of the two
    DuckDB files, the model files are shared (the tests only read them)."""
    built = built_once(tmp_path_factory, "trained", lambda root: build_trained_warehouse(root, collected_history))
    own = tmp_path_factory.mktemp("trained")
    for name in ("warehouse.duckdb", "bi.duckdb"):
        shutil.copyfile(built / name, own / name)
    return {"db": str(own / "warehouse.duckdb"), "bi": str(own / "bi.duckdb"), "models": str(built / "models")}


@pytest.fixture
def serving_env(trained_warehouse, tmp_path, monkeypatch):
    """The environment `make api` and `social-pipeline predict` read, pointed at the trained warehouse;
    predictions are logged under tmp_path/ops."""
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", trained_warehouse["db"])
    monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", trained_warehouse["bi"])
    monkeypatch.setenv("SOCIAL_PIPELINE_OPS_DIR", str(tmp_path / "ops"))
    yield {**trained_warehouse, "ops": str(tmp_path / "ops")}


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of this test process's own (one per xdist worker), started on first use.
    Outside CI a machine without PostgreSQL skips the tests that need it; in CI they fail."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        if in_ci():
            pytest.fail(f"CI needs a PostgreSQL server: {exc}")
        pytest.skip(str(exc))
    with server:
        yield server


@pytest.fixture
def lake(postgres_server, tmp_path, monkeypatch):
    """A new, empty DuckLake warehouse: its catalog a new database on the test server, its data files
    under tmp_path/lake. SOCIAL_PIPELINE_DB and SOCIAL_PIPELINE_LAKE_DATA_PATH point at it."""
    catalog = postgres_server.create_database(f"lake_{os.getpid()}_{next(LAKE_NUMBERS)}")
    database = f"ducklake:postgres:{catalog}"
    data_path = str(tmp_path / "lake")
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", database)
    monkeypatch.setenv("SOCIAL_PIPELINE_LAKE_DATA_PATH", data_path)
    return {"database": database, "data_path": data_path, "catalog": catalog}


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
