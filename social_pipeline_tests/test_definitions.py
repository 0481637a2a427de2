"""The project uses Dagster's non-deprecated API: loading the definitions warns of nothing in the project's
own code (test_public_apis_only.py holds every module to public APIs)."""

import json
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
    out = subprocess.run(
        [sys.executable, "-c", LOAD_AND_RECORD], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    ).stdout
    caught = json.loads(out.strip().splitlines()[-1])
    ours = [w for w in caught if Path(w["file"]).resolve().is_relative_to(PACKAGE)]
    assert [w for w in ours if "Deprecat" in w["category"] or "deprecated" in w["message"]] == []
