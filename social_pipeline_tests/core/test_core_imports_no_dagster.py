"""core/, warehouse/ and sources/ are plain Python, and the HTTP API never loads Dagster: importing any of
their modules, or calling them, loads neither Dagster nor the Dagster-side packages (DESIGN.md, Layout)."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import social_pipeline.core
import social_pipeline.sources
import social_pipeline.warehouse

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "inbox-samples"
DAGSTER_SIDE = (
    "('dagster', 'dagster_duckdb', 'social_pipeline.resources', 'social_pipeline.defs', 'social_pipeline.definitions')"
)
CHECK = (
    "def check(what):\n"
    f"    loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_duckdb') "
    f"or m.startswith({DAGSTER_SIDE}))\n"
    "    assert not loaded, f'{what} loads {loaded[:3]}'\n"
)


def run_fresh(script: str) -> None:
    # A fresh interpreter: this test process has Dagster loaded already.
    result = subprocess.run(
        [sys.executable, "-c", "import importlib, sys\n" + CHECK + script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


def plain_modules() -> list[str]:
    """Every module of the Dagster-free packages, and the HTTP API's two modules."""
    packages = [social_pipeline.core, social_pipeline.warehouse, social_pipeline.sources]
    return [f"{package.__name__}.{m.name}" for package in packages for m in pkgutil.iter_modules(package.__path__)] + [
        "social_pipeline.app.serving",
        "social_pipeline.app.http_api",
    ]


def test_no_plain_module_imports_dagster():
    modules = plain_modules()
    assert {
        "social_pipeline.core.metrics",
        "social_pipeline.warehouse.write_conflicts",
        "social_pipeline.sources.x_api",
        "social_pipeline.sources.inbox_files",
    } <= set(modules)
    run_fresh(f"for name in {modules!r}:\n    importlib.import_module(name)\n    check(name)\n")


def test_writing_and_reading_the_warehouse_loads_no_dagster(tmp_path):
    """The calls behind notebooks, the CLI's ingest and the HTTP API, made for real on a DuckDB file."""
    database = str(tmp_path / "w.duckdb")
    export = SAMPLES / "tweet_activity_metrics_alice_data_20261101_20261122_en.csv"
    run_fresh(
        "import os\n"
        f"os.environ['SOCIAL_PIPELINE_DB'] = {database!r}\n"
        "import pandas as pd\n"
        "from fastapi.testclient import TestClient\n"
        "from social_pipeline.app.http_api import app\n"
        "from social_pipeline.sources.inbox_files import ingest_file\n"
        "from social_pipeline.sources.simulated import SimulatedSource\n"
        "from social_pipeline.warehouse.connection import connect\n"
        "from social_pipeline.warehouse.file_stores import reader_database\n"
        "from social_pipeline.warehouse.write_conflicts import write_transaction\n"
        "con = connect()\n"
        "posts = SimulatedSource(num_accounts=1).fetch_posts(\n"
        "    ['alice_data'], pd.Timestamp('2025-01-01'), pd.Timestamp('2025-01-15'))\n"
        "write_transaction(con, lambda c: c.execute('CREATE TABLE t AS SELECT * FROM posts'), 'main.t')\n"
        "assert con.execute('SELECT count(*) FROM t').fetchone()[0] == len(posts) > 0\n"
        f"outcome = ingest_file(con, {str(export)!r})\n"
        "assert (outcome.status, outcome.users) == ('ingested', ['alice_data']), outcome\n"
        "con.close()\n"
        f"assert reader_database({database!r}) == {database!r}  # no BI copy yet\n"
        "health = TestClient(app).get('/health')\n"
        "assert (health.status_code, health.json()['models_ready']) == (200, False), health.text\n"
        "check('connect, SimulatedSource.fetch_posts, write_transaction, ingest_file and GET /health')\n"
    )
