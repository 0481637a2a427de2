"""The file stores and the source as resources: one place decides each default, the environment
fills them only at the edges (definitions.py, the CLI / API / seed API), and no asset module reads it."""

import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from social_pipeline.resources.files import FileStoresResource, file_stores_for_definitions
from social_pipeline.resources.source_choice import source_resource_from_env
from social_pipeline.resources.sources import (
    SimulatedSourceResource,
    XApiSourceResource,
    x_api_source_from_env,
)
from social_pipeline.warehouse.file_stores import file_stores_from_env

PACKAGE = Path(__file__).resolve().parents[2] / "social_pipeline"
FILE_STORE_VARS = (
    "SOCIAL_PIPELINE_DB",
    "SOCIAL_PIPELINE_BI_DB",
    "SOCIAL_PIPELINE_REPORTS_DIR",
    "SOCIAL_PIPELINE_MODELS_DIR",
    "SOCIAL_PIPELINE_OPS_DIR",
    "SOCIAL_PIPELINE_INBOX",
)


@pytest.mark.parametrize(
    "database,bi,reports",
    [
        (None, "data/bi/warehouse.duckdb", "data/reports"),
        ("data/warehouse.duckdb", "data/bi/warehouse.duckdb", "data/reports"),
        ("data/other.duckdb", "data/bi/other.duckdb", "data/reports-other"),
        ("md:analytics", "data/bi/warehouse.duckdb", "data/reports"),
    ],
)
def test_defaults_follow_the_warehouse_name(database, bi, reports):
    stores = FileStoresResource(**({"warehouse_database": database} if database else {}))
    assert (stores.bi_database_path(), stores.reports_path()) == (bi, Path(reports))
    assert (stores.models_path(), stores.ops_path(), stores.inbox_path()) == (
        Path("data/models"),
        Path("data/ops"),
        Path("data/inbox"),
    )
    assert (stores.predictions_log_path(), stores.run_failures_path()) == (
        Path("data/ops/predictions"),
        Path("data/ops/run_failures.jsonl"),
    )


def test_explicit_settings_win():
    stores = FileStoresResource(
        warehouse_database="data/other.duckdb", bi_database="/srv/bi/x.duckdb", reports_dir="/srv/reports"
    )
    assert (stores.bi_database_path(), stores.reports_path()) == ("/srv/bi/x.duckdb", Path("/srv/reports"))


def test_the_definitions_take_set_variables_as_env_vars_resolved_when_a_run_starts(monkeypatch):
    for var in FILE_STORE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", "data/other.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_OPS_DIR", "/srv/ops-at-load")
    stores = file_stores_for_definitions()
    assert isinstance(stores.ops_dir, dg.EnvVar) and stores.ops_dir.env_var_name == "SOCIAL_PIPELINE_OPS_DIR"
    assert stores.models_dir == "data/models"  # unset: the default, not an EnvVar that would fail the run
    monkeypatch.setenv("SOCIAL_PIPELINE_OPS_DIR", "/srv/ops-at-run")

    @dg.asset
    def where(file_stores: FileStoresResource) -> dict:
        return {
            "ops": str(file_stores.ops_path()),
            "reports": str(file_stores.reports_path()),
            "bi": file_stores.bi_database_path(),
        }

    result = dg.materialize([where], resources={"file_stores": stores})
    assert result.output_for_node("where") == {
        "ops": "/srv/ops-at-run",
        "reports": "data/reports-other",
        "bi": "data/bi/other.duckdb",
    }
    # The entry points outside Dagster read the same variables into the same resource, now.
    assert file_stores_from_env().ops_path() == Path("/srv/ops-at-run")
    assert file_stores_from_env().reports_path() == Path("data/reports-other")


def test_the_source_is_a_resource_instance_per_deployment(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "secret-bearer-token-123")
    monkeypatch.setenv("X_MAX_RETRIES", "2")
    monkeypatch.setenv("X_READ_TIMEOUT_SECONDS", "4.5")
    monkeypatch.delenv("X_CONSUMER_KEY", raising=False)
    assert type(source_resource_from_env("simulated")) is SimulatedSourceResource
    source = x_api_source_from_env()
    assert type(source_resource_from_env("x_api")) is XApiSourceResource
    # Secrets stay dg.EnvVar references until a run resolves them; unset ones stay None.
    assert isinstance(source.x_bearer_token, dg.EnvVar) and source.x_consumer_key is None
    resolved = source.process_config_and_initialize()
    assert (resolved.x_bearer_token, resolved.x_max_retries, resolved.x_read_timeout_seconds) == (
        "secret-bearer-token-123",
        2,
        4.5,
    )
    assert "secret-bearer-token-123" not in repr(resolved)
    with pytest.raises(
        ValueError,
        match=r"SOCIAL_PIPELINE_SOURCE='twitter' is not a known source; use one of: "
        r"simulated, x_api",
    ):
        source_resource_from_env("twitter")


def test_the_code_location_binds_the_source_its_environment_names(tmp_path):
    probe = (
        "from social_pipeline.definitions import defs; "
        "print(type(defs.resources['source']).__name__, defs.resources['file_stores'].inbox_dir.env_var_name)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "SOCIAL_PIPELINE_SOURCE": "x_api",
        "SOCIAL_PIPELINE_INBOX": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=PACKAGE.parent, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["XApiSourceResource", "SOCIAL_PIPELINE_INBOX"], done.stderr[-2000:]


def test_no_asset_or_core_module_reads_the_environment():
    readers = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for folder in ("defs", "core")
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"os\.environ|os\.getenv|getenv\(", line)
    ]
    assert readers == []
