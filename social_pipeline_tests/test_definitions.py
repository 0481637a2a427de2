"""The project uses Dagster's public, non-deprecated API: loading the definitions warns of nothing in
the project's own code, and nothing but the instance's event-log plug-in imports Dagster's private modules."""

import json
import re
import subprocess
import sys
from pathlib import Path

import social_pipeline

PACKAGE = Path(social_pipeline.__file__).resolve().parent

# Imports the definitions in a fresh interpreter (this one has them imported already) and prints
# every warning raised meanwhile, where it points.
LOAD_AND_RECORD = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import social_pipeline.definitions
    social_pipeline.definitions.defs.get_repository_def()
print(json.dumps([{"category": w.category.__name__, "file": w.filename, "line": w.lineno,
                   "message": str(w.message)} for w in caught]))
"""


def test_loading_the_definitions_warns_of_no_deprecation_in_the_projects_code():
    out = subprocess.run([sys.executable, "-c", LOAD_AND_RECORD], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout
    caught = json.loads(out.strip().splitlines()[-1])
    ours = [w for w in caught if Path(w["file"]).resolve().is_relative_to(PACKAGE)]
    assert [w for w in ours if "Deprecat" in w["category"] or "deprecated" in w["message"]] == []


def test_only_the_batched_event_log_imports_dagster_internals():
    """instance_storage.py is an instance plug-in (dagster.yaml), not code the definitions load: Dagster
    has no public way to write a backfill's events in batches, and without it `make run` takes about
    three times as long (README, History backfills)."""
    private = re.compile(r"^\s*(from|import)\s+dagster(_\w+)?\._", re.MULTILINE)
    sources = [*PACKAGE.rglob("*.py"), *(PACKAGE.parent / "bench").rglob("*.py")]
    offenders = sorted(str(path.relative_to(PACKAGE.parent)) for path in sources
                       if private.search(path.read_text(encoding="utf-8")))
    assert offenders == ["social_pipeline/instance_storage.py"]
