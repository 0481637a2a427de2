"""core/ is the pure domain logic: importing any of its modules, or calling them, loads no Dagster (DESIGN.md)."""

import pkgutil
import subprocess
import sys

import social_pipeline.core

DAGSTER_SIDE = "('dagster', 'dagster_duckdb', 'social_pipeline.resources', 'social_pipeline.defs', " \
               "'social_pipeline.definitions')"
CHECK = ("def check(what):\n"
         f"    loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_duckdb') "
         f"or m.startswith({DAGSTER_SIDE}))\n"
         "    assert not loaded, f'{what} loads {loaded[:3]}'\n")


def run_fresh(script: str) -> None:
    # A fresh interpreter: this test process has Dagster loaded already.
    result = subprocess.run([sys.executable, "-c", "import importlib, sys\n" + CHECK + script],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_core_module_imports_dagster():
    modules = [f"social_pipeline.core.{m.name}" for m in pkgutil.iter_modules(social_pipeline.core.__path__)]
    assert "social_pipeline.core.metrics" in modules and "social_pipeline.core.schema" in modules
    run_fresh(f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n"
              "    check(name)\n")


def test_writing_and_reading_the_warehouse_loads_no_dagster(tmp_path):
    """The calls behind notebooks, the CLI's ingest and the HTTP API, made for real on a DuckDB file."""
    database = str(tmp_path / "w.duckdb")
    run_fresh(
        "import pandas as pd\n"
        "from social_pipeline.core.write_conflicts import write_transaction\n"
        "from social_pipeline.resources.warehouse import connect\n"
        "from social_pipeline.resources.sources import SimulatedSource\n"
        f"con = connect({database!r})\n"
        "posts = SimulatedSource(num_accounts=1).fetch_posts(\n"
        "    ['alice_data'], pd.Timestamp('2025-01-01'), pd.Timestamp('2025-01-15'))\n"
        "written = write_transaction(con, lambda c: c.execute(\n"
        "    \"CREATE TABLE t AS SELECT * FROM posts\").fetchall(), 'main.t')\n"
        "assert con.execute('SELECT count(*) FROM t').fetchone()[0] == len(posts) > 0\n"
        "con.close()\n"
        "check('connect, SimulatedSource.fetch_posts and write_transaction')\n")
