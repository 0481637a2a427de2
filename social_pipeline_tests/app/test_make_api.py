"""`make api` installs only what serving needs: the package with its `[api]` extra, not the test tooling."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_make_api_installs_the_api_extra_not_the_dev_tools(tmp_path):
    # -n prints the recipes without running them; a fresh VENV makes every install step due.
    printed = subprocess.run(
        ["make", "-n", "api", f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"\[api\]|--extra[ =]api", printed), printed
    assert "[dev]" not in printed and "playwright" not in printed, printed
    assert "uvicorn social_pipeline.app.http_api:app" in printed
