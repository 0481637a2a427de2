"""Crash safety of `social-pipeline run`: a run killed mid-write, run again, equals a clean run."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parents[2]


def _table_dump(path):
    con = duckdb.connect(path, read_only=True)
    try:
        dump = {}
        for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('raw','analytics') ORDER BY 1, 2"
        ).fetchall():
            frame = con.execute(f"SELECT * FROM {schema}.{name}").df()
            # Write times differ between two runs, and a report states when it was generated in its text.
            frame = frame.drop(
                columns=[
                    c
                    for c in (
                        "ingested_at",
                        "written_at",
                        "source_written_at",
                        "generated_at",
                        "report_json",
                        "report_markdown",
                    )
                    if c in frame
                ]
            )
            # Every column sorts: rows tied on the keys (a user's content types in a week) keep no order of their own.
            dump[f"{schema}.{name}"] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
        return dump
    finally:
        con.close()


def _run_cli(db, days, tmp_path, stdout=subprocess.DEVNULL):
    env = {
        **os.environ,
        "SOCIAL_PIPELINE_DB": str(db),
        "SOCIAL_PIPELINE_BI_DB": str(tmp_path / "bi.duckdb"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen(
        [sys.executable, "-m", "social_pipeline.app.cli", "run", "--days", str(days), "--as-of", "2026-11-18 12:00"],
        cwd=REPO,
        env=env,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        text=True,
    )


# Long enough for a complete week: the runs after the collection then have rows of their own to write.
HISTORY_DAYS_TO_KILL = 10


def test_sigkill_mid_write_then_rerun_equals_a_clean_run(tmp_path, cli_outputs):
    clean, crashed = tmp_path / "clean.duckdb", tmp_path / "crashed.duckdb"
    # The clean run and the one to kill, side by side: each writes a warehouse and a BI copy of its own.
    (tmp_path / "clean").mkdir()
    clean_run = _run_cli(clean, HISTORY_DAYS_TO_KILL, tmp_path / "clean")
    victim = _run_cli(crashed, HISTORY_DAYS_TO_KILL, tmp_path, stdout=subprocess.PIPE)
    # Past the first data: the collection run has committed (the CLI says so), the weekly run (a complete
    # week lies in the history) is writing.
    # (A file-size threshold depended on the DuckDB version: a large uncommitted write grows the file too.)
    for line in victim.stdout:
        if line.lstrip().startswith("hourly_collection:"):
            break
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL, "the run finished before a mid-run write was caught"
    assert clean_run.wait(timeout=240) == 0

    # The crash left raw rows behind, and not yet everything a finished run writes.
    expected, partial = _table_dump(str(clean)), _table_dump(str(crashed))
    assert len(partial.get("raw.posts", [])) > 0
    assert any(len(partial.get(name, [])) != len(expected[name]) for name in expected)

    assert _run_cli(crashed, HISTORY_DAYS_TO_KILL, tmp_path).wait(timeout=240) == 0
    got = _table_dump(str(crashed))
    assert list(expected) == list(got)
    for name in expected:
        pd.testing.assert_frame_equal(expected[name], got[name], obj=name)
