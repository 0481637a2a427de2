"""`make bench` sections for the DuckLake warehouse (a PostgreSQL server of the bench's own, data files in a
temporary folder) against the DuckDB file, measured in the same run:

* lake_concurrency: writer and reader processes at once for a fixed time. Writers replace one collection
  partition per transaction (the hourly collection's DELETE + INSERT) through write_transaction, opening
  the warehouse per transaction as an asset does; readers open it read-only and aggregate. On the file a
  second process meets DuckDB's lock (counted, then waited out); on the lake it must never.
* lake_cost: the same `social-pipeline run` history (the whole graph) on the file and on the lake, timed
  alternately; the lake's cost is its wall time over the file's.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

WRITERS, READERS = 2, 2
ROWS_PER_WRITE = 500
PARTITIONS_PER_WRITER = 5
# Time for every process to import the package and open its first connection before the common start.
STARTUP_SECONDS = 15.0


def _server():
    # The tests' throwaway server: the bench runs from the repository, as `make bench` does.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from social_pipeline_tests.helpers import PostgresServer

    return PostgresServer()


def _lake_env(server, work: Path, name: str) -> dict:
    return {
        "SOCIAL_PIPELINE_DB": f"ducklake:postgres:{server.create_database(name)}",
        "SOCIAL_PIPELINE_LAKE_DATA_PATH": str(work / f"{name}_data"),
    }


# ----- one process of the concurrency bench ------------------------------------------------------
def _wait_for(start_at: float) -> float:
    """Every process starts its clock at the same moment, after its imports and first connection
    (the extensions' load and the lake's attach are a per-process cost, not a per-transaction one)."""
    con = _open_or_locked(read_only=True)  # None: a DuckDB file another process holds, nothing to warm
    if con is not None:
        con.close()
    time.sleep(max(0.0, start_at - time.time()))
    return time.monotonic()


def _open_or_locked(read_only: bool):
    """A connection, or None when another process holds the DuckDB file (after a short wait)."""
    import duckdb

    from social_pipeline.warehouse.connection import connect, is_lock_error

    try:
        return connect(read_only=read_only)
    except duckdb.IOException as exc:
        if not is_lock_error(exc):
            raise
        time.sleep(0.05)
        return None


def writer(index: int, start_at: float, seconds: float) -> dict:
    """Replace this writer's partitions, one per transaction, round robin, for `seconds`."""
    from social_pipeline.warehouse.write_conflicts import write_transaction

    commits = lock_errors = 0
    conflicts = []

    class CountConflicts(logging.Handler):
        def emit(self, record):
            conflicts.append(record.getMessage())

    # write_transaction logs each retry through get_dagster_logger("social_pipeline.warehouse").
    logging.getLogger("dagster.builtin.social_pipeline.warehouse").addHandler(CountConflicts(logging.WARNING))
    deadline = _wait_for(start_at) + seconds
    number = 0
    while time.monotonic() < deadline:
        key = f"bench-{index}-{number % PARTITIONS_PER_WRITER}"
        con = _open_or_locked(read_only=False)
        if con is None:
            lock_errors += 1
            continue
        try:

            def replace(c, key=key):
                c.execute("DELETE FROM raw.tweet_metrics WHERE partition_key = $key", {"key": key})
                c.execute(
                    "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, source, "
                    "partition_key, written_at) SELECT 'p' || range, now()::TIMESTAMP, range * 10, range, "
                    "'bench', $key, now()::TIMESTAMP FROM range($rows)",
                    {"key": key, "rows": ROWS_PER_WRITE},
                )

            write_transaction(con, replace, f"bench partition {key}", claims=("raw.tweet_metrics",))
            commits += 1
        finally:
            con.close()
        number += 1
    return {"commits": commits, "lock_errors": lock_errors, "conflicts_retried": len(conflicts)}


def reader(start_at: float, seconds: float) -> dict:
    reads = lock_errors = 0
    deadline = _wait_for(start_at) + seconds
    while time.monotonic() < deadline:
        con = _open_or_locked(read_only=True)
        if con is None:
            lock_errors += 1
            continue
        try:
            con.execute(
                "SELECT partition_key, count(*), sum(impressions) FROM raw.tweet_metrics GROUP BY ALL"
            ).fetchall()
            reads += 1
        finally:
            con.close()
    return {"reads": reads, "lock_errors": lock_errors}


def _processes(env: dict, seconds: float) -> list[dict]:
    command = [sys.executable, "-m", "bench.lake"]
    full_env = {**os.environ, **env}
    full_env.pop("DAGSTER_HOME", None)
    start_at = str(time.time() + STARTUP_SECONDS)
    started = [
        subprocess.Popen(
            [*command, "writer", str(i), start_at, str(seconds)],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    started += [
        subprocess.Popen(
            [*command, "reader", "0", start_at, str(seconds)],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(READERS)
    ]
    results = []
    for process in started:
        out, err = process.communicate(timeout=seconds * 20 + 120)
        if process.returncode != 0:
            raise RuntimeError(f"bench process failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def lake_concurrency(work: Path, quick: bool) -> list[dict]:
    from social_pipeline.warehouse.connection import connect

    seconds = 5.0 if quick else 15.0
    rows = []
    with _server() as server:
        backends = {
            "duckdb file": {"SOCIAL_PIPELINE_DB": str(work / "concurrency.duckdb")},
            "ducklake (postgres catalog)": _lake_env(server, work, "bench_concurrency"),
        }
        for name, env in backends.items():
            os.environ.update(env)
            connect().close()  # the schema, before the clock starts
            results = _processes(env, seconds)
            writers, readers = results[:WRITERS], results[WRITERS:]
            rows.append(
                {
                    "backend": name,
                    "writers": WRITERS,
                    "readers": READERS,
                    "seconds": seconds,
                    "commits_per_s": sum(w["commits"] for w in writers) / seconds,
                    "slowest_writer_commits_per_s": min(w["commits"] for w in writers) / seconds,
                    "reads_per_s": sum(r["reads"] for r in readers) / seconds,
                    "slowest_reader_reads_per_s": min(r["reads"] for r in readers) / seconds,
                    "lock_errors": sum(p["lock_errors"] for p in results),
                    "conflicts_retried": sum(w["conflicts_retried"] for w in writers),
                }
            )
        for var in ("SOCIAL_PIPELINE_DB", "SOCIAL_PIPELINE_LAKE_DATA_PATH"):
            os.environ.pop(var, None)
    lake = rows[1]
    assert lake["lock_errors"] == 0, f"lock errors on the lake: {lake}"
    for row in rows:
        row["commits_vs_file"] = row["commits_per_s"] / rows[0]["commits_per_s"] if rows[0]["commits_per_s"] else None
        row["reads_vs_file"] = row["reads_per_s"] / rows[0]["reads_per_s"] if rows[0]["reads_per_s"] else None
    return rows


# ----- the same analytics run on both ------------------------------------------------------------
def _run(env: dict, days: int) -> float:
    full_env = {**os.environ, **env}
    full_env.pop("DAGSTER_HOME", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "social_pipeline.app.cli", "run", "--days", str(days), "--as-of", "2026-11-16 12:00"],
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"social-pipeline run failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def lake_cost(work: Path, quick: bool) -> list[dict]:
    days, repeats = (8, 1) if quick else (14, 2)
    ratios, file_s, lake_s = [], [], []
    with _server() as server:
        for repeat in range(repeats):
            outputs = {
                var: str(work / f"cost_{repeat}_{var.lower()}")
                for var in ("SOCIAL_PIPELINE_REPORTS_DIR", "SOCIAL_PIPELINE_MODELS_DIR", "SOCIAL_PIPELINE_OPS_DIR")
            }
            on_file = _run(
                {
                    **outputs,
                    "SOCIAL_PIPELINE_DB": str(work / f"cost_{repeat}.duckdb"),
                    "SOCIAL_PIPELINE_BI_DB": str(work / f"cost_{repeat}_bi.duckdb"),
                },
                days,
            )
            on_lake = _run({**outputs, **_lake_env(server, work, f"bench_cost_{repeat}")}, days)
            file_s.append(on_file)
            lake_s.append(on_lake)
            ratios.append(on_lake / on_file)
    return [
        {
            "what": f"social-pipeline run --days {days} (whole graph, subprocess)",
            "repeats": repeats,
            "file_s_mean": sum(file_s) / repeats,
            "lake_s_mean": sum(lake_s) / repeats,
            "lake_vs_file_mean": sum(ratios) / repeats,
            "lake_vs_file_worst": max(ratios),
            "note": "the file's run includes publishing its BI copy; the lake has none (read live)",
        }
    ]


if __name__ == "__main__":
    role, index, start, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    outcome = writer(index, start, seconds) if role == "writer" else reader(start, seconds)
    print(json.dumps(outcome))
