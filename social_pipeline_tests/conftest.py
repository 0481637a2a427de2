"""Fixtures and hooks shared by the tests; helpers they use live in social_pipeline_tests/helpers.py."""

import os

import pytest

from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.sources import SimulatedSourceResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline_tests.helpers import (
    CLOCK,
    LAKE_NUMBERS,
    PostgresServer,
    PostgresUnavailable,
    collect,
    file_stores_under,
    in_ci,
    repository_outputs,
)


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
def trained_warehouse(tmp_path_factory):
    """42 days of simulated history with trained reach and likes models and its BI copy, built once
    for the API, page and CLI tests. (On 24 days the models did not beat the baseline, so they are
    not promoted and nothing would be served.) Paths: db, bi, models; serve it with `serving_env`."""
    import dagster as dg

    from social_pipeline.core.publish import publish_copy
    from social_pipeline.definitions import defs
    from social_pipeline.warehouse.connection import connect

    root = tmp_path_factory.mktemp("trained")
    paths = {"db": str(root / "warehouse.duckdb"), "bi": str(root / "bi.duckdb"), "models": str(root / "models")}
    warehouse = WarehouseResource(database=paths["db"])
    collect(
        {"warehouse": warehouse, "source": SimulatedSourceResource(clock=str(CLOCK), history_days=42)},
        first="2026-10-07-12:00",
        last="2026-11-18-11:00",
    )
    result = defs.resolve_job_def("ml_training").execute_in_process(
        resources={"warehouse": warehouse, "file_stores": file_stores_under(root, models_dir=paths["models"])},
        instance=dg.DagsterInstance.ephemeral(),
    )
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
