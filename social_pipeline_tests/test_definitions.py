"""The project uses Dagster's non-deprecated API: loading the definitions warns of nothing in the project's
own code (test_public_apis_only.py holds every module to public APIs). Loading them imports none of the
heavy libraries only some runs use: every CLI command, run worker and code server loads the definitions."""

import functools
import json
import subprocess
import sys
from pathlib import Path

import social_pipeline

PACKAGE = Path(social_pipeline.__file__).resolve().parent

# Imports the definitions in a fresh interpreter (this one has them imported already) and prints
# every warning raised meanwhile, where it points, and the top-level packages then imported.
LOAD_AND_RECORD = """
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import social_pipeline.definitions
    social_pipeline.definitions.defs.get_repository_def()
print(json.dumps({"warnings": [{"category": w.category.__name__, "file": w.filename, "line": w.lineno,
                                "message": str(w.message)} for w in caught],
                  "packages": sorted({name.split(".")[0] for name in sys.modules})}))
"""
# Seconds each to import, used only where a model is fitted or loaded, Bluesky is called, the HTTP API
# serves or X is called: those functions import them.
HEAVY_PACKAGES = ["atproto", "atproto_client", "fastapi", "httpx", "joblib", "scipy", "sklearn", "tweepy"]


@functools.cache
def loaded_definitions() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", LOAD_AND_RECORD], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_loading_the_definitions_warns_of_no_deprecation_in_the_projects_code():
    caught = loaded_definitions()["warnings"]
    ours = [w for w in caught if Path(w["file"]).resolve().is_relative_to(PACKAGE)]
    assert [w for w in ours if "Deprecat" in w["category"] or "deprecated" in w["message"]] == []


def test_loading_the_definitions_imports_no_heavy_package():
    packages = loaded_definitions()["packages"]
    assert {"dagster", "duckdb", "pandas", "social_pipeline"} <= set(packages)
    assert [p for p in HEAVY_PACKAGES if p in packages] == []
