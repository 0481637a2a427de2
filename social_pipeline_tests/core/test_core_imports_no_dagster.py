"""core/ is the pure domain logic: importing any of its modules loads no Dagster (DESIGN.md)."""

import pkgutil
import subprocess
import sys

import social_pipeline.core


def test_no_core_module_imports_dagster():
    modules = [f"social_pipeline.core.{m.name}" for m in pkgutil.iter_modules(social_pipeline.core.__path__)]
    assert "social_pipeline.core.inbox_files" in modules and "social_pipeline.core.write_conflicts" in modules
    # A fresh interpreter: this test process has Dagster loaded already.
    script = ("import importlib, sys\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n"
              "    loaded = sorted(m for m in sys.modules if m == 'dagster' or m.startswith(('dagster.', 'dagster_')))\n"
              "    assert not loaded, f'{name} loads {loaded[:3]}'\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
