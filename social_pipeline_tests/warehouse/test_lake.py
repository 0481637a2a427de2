"""The DuckLake warehouse (catalog in a real PostgreSQL the tests start, data files in tmp_path): it
attaches with no network, gives the file's results, and takes writers in several processes at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from contextlib import nullcontext
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from social_pipeline.core.schema import TABLES
from social_pipeline.warehouse import lake as lake_backend
from social_pipeline.warehouse.connection import connect
from social_pipeline.warehouse.write_conflicts import WriteConflictsExhausted, is_write_conflict, write_transaction
from social_pipeline_tests.helpers import (
    HALF_LIVES_AFTER_MIGRATION,
    HALF_LIVES_QUERY,
    write_lifecycle_rows_without_half_lives,
)

REPOSITORY = Path(__file__).resolve().parents[2]
SAMPLES = REPOSITORY / "data" / "inbox-samples"
# A Monday noon: 8 days of history hold one complete week (2026-11-09), so every job has work.
AS_OF = pd.Timestamp("2026-11-16 12:00")
HISTORY_DAYS = 8
# Set when the row was written, trained or built: the only columns allowed to differ between two runs.
WRITE_TIME_COLUMNS = {
    "ingested_at",
    "written_at",
    "source_written_at",
    "generated_at",
    "built_at",
    "loaded_at",
    "updated_at",
    "failed_at",
    "applied_at",
}


def other_process_connection(database: str, data_path: str) -> duckdb.DuckDBPyConnection:
    """What a second process has: its own DuckDB instance with the lake attached (connect() shares one
    instance per process, within which DuckDB's own MVCC would answer instead of the lake's commit)."""
    con = duckdb.connect(":memory:", config=lake_backend.OFFLINE_CONFIG)
    lake_backend.load_lake_extensions(con)
    con.execute(f"ATTACH '{database}' AS lake (DATA_PATH '{data_path}')")
    con.execute("USE lake")
    return con


def test_lake_attaches_with_no_network_and_no_extension_cache(lake, tmp_path):
    """A clean machine: an empty HOME (no ~/.duckdb extension cache) and every proxy pointed at a closed
    port. The lake attaches from the wheels' files, and `connect` resolves raw.*, analytics.*, ml.*."""
    home = tmp_path / "home"
    home.mkdir()
    closed = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "http_proxy": closed,
        "https_proxy": closed,
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "no_proxy": "",
    }
    script = textwrap.dedent("""
        import json
        from social_pipeline import connect
        con = connect()
        con.execute("INSERT INTO raw.accounts VALUES ('alice', 'Europe/Berlin', 'test', TIMESTAMP '2026-11-01')")
        reader = connect(read_only=True)
        print(json.dumps({
            "accounts": reader.execute("SELECT user_id, timezone FROM raw.accounts").fetchall(),
            "catalog": reader.execute("SELECT current_database()").fetchone()[0],
            "schemas": sorted(r[0] for r in reader.execute(
                "SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_catalog = 'lake'").fetchall()),
            "loaded": sorted(r[0] for r in reader.execute(
                "SELECT extension_name FROM duckdb_extensions() WHERE loaded AND install_path = ''").fetchall()),
            "engagements": reader.execute("SELECT engagements(1, 2, 3, NULL)").fetchone()[0],
        }))
    """)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["accounts"] == [["alice", "Europe/Berlin"]]
    assert seen["catalog"] == "lake"
    assert seen["schemas"] == ["analytics", "ml", "ops", "raw"]
    assert {"ducklake", "postgres_scanner"} <= set(seen["loaded"])
    assert seen["engagements"] == 6
    assert not (home / ".duckdb").exists()  # nothing was installed, nothing downloaded
    # The Parquet files (or inlined rows) are the lake's, not a DuckDB file's.
    assert not list(Path(lake["data_path"]).parent.glob("*.duckdb"))


def test_a_read_only_connection_never_writes(lake):
    connect().close()  # the schema
    reader = connect(read_only=True)
    with pytest.raises(duckdb.InvalidInputException, match="read-only"):
        reader.execute("INSERT INTO raw.accounts VALUES ('bob', 'UTC', 'test', TIMESTAMP '2026-11-01')")
    with pytest.raises(duckdb.InvalidInputException, match="read-only"):
        reader.execute("CREATE TABLE raw.scratch (a INTEGER)")


def test_a_lake_from_before_stored_half_lives_gets_them_on_migration(lake):
    con = connect()
    write_lifecycle_rows_without_half_lives(con)
    con.close()
    con = connect()
    assert con.execute(HALF_LIVES_QUERY).fetchall() == HALF_LIVES_AFTER_MIGRATION
    con.close()


def test_lake_without_data_path_names_the_variable(lake, monkeypatch):
    monkeypatch.delenv("SOCIAL_PIPELINE_LAKE_DATA_PATH")
    with pytest.raises(lake_backend.LakeConfigurationError, match="SOCIAL_PIPELINE_LAKE_DATA_PATH"):
        connect()


def test_concurrent_commits_on_one_table_conflict_and_the_loser_is_retried_whole(lake, caplog):
    con = connect()
    con.execute(
        "INSERT INTO raw.accounts VALUES ('alice', 'UTC', 'test', TIMESTAMP '2026-11-01'), "
        "('bob', 'UTC', 'test', TIMESTAMP '2026-11-01')"
    )
    other = other_process_connection(lake["database"], lake["data_path"])

    # What DuckLake reports: both wrote raw.accounts; the second commit is refused and its transaction is gone.
    other.execute("BEGIN")
    other.execute("DELETE FROM raw.accounts WHERE user_id = 'bob'")
    con.execute("BEGIN")
    con.execute("DELETE FROM raw.accounts WHERE user_id = 'alice'")
    con.execute("COMMIT")
    with pytest.raises(duckdb.TransactionException, match="Transaction conflict") as refused:
        other.execute("COMMIT")
    assert is_write_conflict(refused.value)
    assert con.execute("SELECT user_id FROM raw.accounts").fetchall() == [("bob",)]

    # write_transaction runs the whole transaction again on the winner's snapshot: nothing is lost.
    attempts = []

    def move_bob_to_berlin(c):
        attempts.append(c.execute("SELECT count(*) FROM raw.accounts").fetchone()[0])
        c.execute("DELETE FROM raw.accounts WHERE user_id = 'bob'")
        c.execute("INSERT INTO raw.accounts VALUES ('bob', 'Europe/Berlin', 'test', TIMESTAMP '2026-11-02')")
        if len(attempts) == 1:  # another process commits to the same table meanwhile
            other.execute("INSERT INTO raw.accounts VALUES ('carol', 'UTC', 'test', TIMESTAMP '2026-11-02')")
        return len(attempts)

    with caplog.at_level("WARNING"):
        assert write_transaction(con, move_bob_to_berlin, "raw.accounts") == 2
    assert attempts == [1, 2]  # the retry saw carol, committed by the winner
    assert sorted(con.execute("SELECT user_id, timezone FROM raw.accounts").fetchall()) == [
        ("bob", "Europe/Berlin"),
        ("carol", "UTC"),
    ]
    assert "raw.accounts: write conflict with another writer (attempt 1 of 8)" in caplog.text


def test_write_conflicts_are_retried_a_bounded_number_of_times(lake, monkeypatch):
    monkeypatch.setattr("social_pipeline.warehouse.write_conflicts.FIRST_WAIT_SECONDS", 0.001)
    con = connect()
    con.execute("INSERT INTO raw.accounts VALUES ('alice', 'UTC', 'test', TIMESTAMP '2026-11-01')")
    other = other_process_connection(lake["database"], lake["data_path"])
    attempts = []

    def always_beaten(c):
        attempts.append(1)
        c.execute("UPDATE raw.accounts SET timezone = 'Asia/Tokyo' WHERE user_id = 'alice'")
        other.execute("INSERT INTO raw.accounts VALUES ('x', 'UTC', 'test', TIMESTAMP '2026-11-02')")

    with pytest.raises(WriteConflictsExhausted, match="raw.accounts: lost 3 write conflicts in a row"):
        write_transaction(con, always_beaten, "raw.accounts", max_attempts=3)
    assert len(attempts) == 3
    # A failure that is no conflict is not retried.
    attempts.clear()
    with pytest.raises(duckdb.CatalogException):
        write_transaction(con, lambda c: attempts.append(c.execute("SELECT * FROM raw.nowhere")), "raw.nowhere")
    assert attempts == []


def lake_instance(postgres_server, tmp_path, monkeypatch) -> dg.DagsterInstance:
    """deploy/dagster.yaml as shipped, in a DAGSTER_HOME of the test's, on the test server: an empty
    DAGSTER_PG_HOST leaves the host to libpq's PGHOST, here the server's socket folder."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPOSITORY / "deploy" / "dagster.yaml", home / "dagster.yaml")
    database = f"dagster_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_').lower()}"
    postgres_server.create_database(database)
    for name, value in {
        "DAGSTER_PG_HOST": "",
        "PGHOST": str(postgres_server.socket_dir),
        "DAGSTER_PG_DB": database,
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_HOME": str(home),
    }.items():
        monkeypatch.setenv(name, value)
    return dg.DagsterInstance.from_config(str(home))


@dg.asset
def one_row() -> int:
    return 1


@pytest.mark.parametrize("port", [6432, None])
def test_deploy_instance_reaches_postgresql_on_the_port_in_dagster_pg_port(
    postgres_server, tmp_path, monkeypatch, port
):
    """deploy/dagster.yaml as shipped: DAGSTER_PG_PORT names the server's port (a pooler's 6432 here, a
    server of its own); unset, the port is 5432 (the session's server)."""
    from social_pipeline_tests.helpers import PostgresServer

    with PostgresServer(port=port) if port else nullcontext(postgres_server) as server:
        if port:
            monkeypatch.setenv("DAGSTER_PG_PORT", str(port))
        else:
            monkeypatch.delenv("DAGSTER_PG_PORT", raising=False)
        instance = lake_instance(server, tmp_path, monkeypatch)
        assert dg.materialize([one_row], instance=instance).success
        [run] = instance.get_runs()
        assert (run.status, instance.get_latest_materialization_event(one_row.key).run_id) == (
            dg.DagsterRunStatus.SUCCESS,
            run.run_id,
        )
        assert f".s.PGSQL.{port or 5432}" in {p.name for p in server.socket_dir.iterdir()}
        instance.dispose()


def test_a_dagster_pg_port_that_is_no_port_is_named(monkeypatch):
    from social_pipeline.deploy_storage import port_from_env

    monkeypatch.setenv("DAGSTER_PG_PORT", "pgbouncer")
    with pytest.raises(ValueError, match=r"DAGSTER_PG_PORT='pgbouncer' is not a port number \(1-65535\)"):
        port_from_env()
    monkeypatch.setenv("DAGSTER_PG_PORT", " ")
    assert port_from_env() == 5432


def table_rows(database: str, table: str) -> pd.DataFrame:
    con = connect(database, read_only=True)
    try:
        frame = con.execute(f"SELECT * FROM {table}").df()
    finally:
        con.close()
    frame = frame.drop(columns=[c for c in frame.columns if c in WRITE_TIME_COLUMNS])
    if "report_json" in frame:  # a report states when it was generated, in its JSON and its Markdown
        # Sums of floats may differ in their last bits (DuckDB adds in parallel, in any order).
        reports = [json.loads(r, parse_float=lambda text: round(float(text), 9)) for r in frame.pop("report_json")]
        generated = [r.pop("generated_at") for r in reports]
        frame["report_json"] = [json.dumps(r, sort_keys=True) for r in reports]
        frame["report_markdown"] = [
            m.replace(g, "<generated>") for m, g in zip(frame["report_markdown"], generated, strict=True)
        ]
    return frame.sort_values(list(frame.columns)).reset_index(drop=True) if len(frame) else frame


def test_whole_graph_on_the_lake_with_a_postgres_instance_equals_the_file(
    lake, postgres_server, tmp_path, monkeypatch, cli_outputs
):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    from social_pipeline.app.cli import materialize_all

    instance = lake_instance(postgres_server, tmp_path, monkeypatch)
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"

    on_lake = materialize_all(AS_OF, HISTORY_DAYS, log=lambda line: None, instance=instance, database=lake["database"])
    assert [r["job"] for r in on_lake] == [
        "hourly_collection",
        "weekly_reporting",
        "ml_training",
        "prediction_feedback",
    ]  # no BI copy: the lake is read live
    assert all(r["success"] for r in on_lake)
    # The runs and their events are in PostgreSQL, as the webserver and daemon would find them.
    runs = instance.get_runs()
    assert sorted(r.job_name for r in runs) == sorted(r["job"] for r in on_lake)
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    assert instance.get_latest_materialization_event(dg.AssetKey("weekly_report")) is not None

    file_db = str(tmp_path / "file" / "warehouse.duckdb")
    monkeypatch.setenv("SOCIAL_PIPELINE_REPORTS_DIR", str(tmp_path / "file-reports"))
    monkeypatch.setenv("SOCIAL_PIPELINE_MODELS_DIR", str(tmp_path / "file-models"))
    on_file = materialize_all(
        AS_OF, HISTORY_DAYS, log=lambda line: None, instance=dg.DagsterInstance.ephemeral(), database=file_db
    )
    assert all(r["success"] for r in on_file)

    compared = 0
    for table in [*TABLES, "analytics.post_performance"]:
        lake_rows, file_rows = table_rows(lake["database"], table), table_rows(file_db, table)
        # Paths name each warehouse's own report folder; everything else must be equal.
        path_columns = [c for c in lake_rows.columns if c.endswith("_path")]
        pd.testing.assert_frame_equal(
            lake_rows.drop(columns=path_columns), file_rows.drop(columns=path_columns), check_dtype=False, obj=table
        )
        compared += len(lake_rows) > 0
    assert compared >= 10  # the tables the graph writes on this history are not empty


def test_post_snapshots_reads_rows_committed_after_a_later_stamped_one(db_path):
    """Two writers: one stamps its collection at 09:00 but commits after another's 12:00 collection has
    already been read by post_snapshots. The next post_snapshots run still reads the 09:00 one (a
    high-water mark on written_at skipped it for good)."""
    from social_pipeline.defs.analytics.assets import post_snapshots
    from social_pipeline_tests.helpers import add_post

    warehouse = dg_warehouse(db_path)
    con = connect(db_path)
    add_post(
        con, "late_stamp_later_commit_2", "alice", "2026-11-09 08:00", 100, likes=5, collected_at="2026-11-10 12:00"
    )
    con.close()
    assert dg.materialize([post_snapshots], resources={"warehouse": warehouse}).success
    con = connect(db_path)
    add_post(
        con, "early_stamp_later_commit_1", "alice", "2026-11-09 07:00", 200, likes=7, collected_at="2026-11-10 09:00"
    )
    con.close()
    result = dg.materialize([post_snapshots], resources={"warehouse": warehouse})
    assert result.success
    assert result.asset_materializations_for_node("post_snapshots")[0].metadata["collections_refreshed"].value == 1
    rows = table_rows(db_path, "analytics.post_snapshots")
    assert rows[["post_id", "impressions", "likes"]].values.tolist() == [
        ["early_stamp_later_commit_1", 200, 7],
        ["late_stamp_later_commit_2", 100, 5],
    ]
    # Nothing new: nothing is refreshed.
    again = dg.materialize([post_snapshots], resources={"warehouse": warehouse})
    assert again.asset_materializations_for_node("post_snapshots")[0].metadata["collections_refreshed"].value == 0


def dg_warehouse(database: str):
    from social_pipeline.resources.warehouse import WarehouseResource

    return WarehouseResource(database=database)


READER_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from social_pipeline import AnalyticsCollector, connect
    stop, result = Path(sys.argv[1]), {"reads": 0, "errors": [], "torn_reads": 0, "counts": []}
    collector = AnalyticsCollector(as_of="2026-11-16 12:00")
    while not stop.exists():
        try:
            con = connect(read_only=True)
            con.execute("BEGIN")  # one snapshot: a commit meanwhile must not show inside it
            first = con.execute("SELECT count(*) FROM raw.tweet_metrics").fetchone()[0]
            time.sleep(0.05)
            second = con.execute("SELECT count(*) FROM raw.tweet_metrics").fetchone()[0]
            con.execute("COMMIT")
            con.close()
            result["torn_reads"] += first != second
            result["counts"].append(second)
            collector.get_user_analytics_summary("alice_data")
            collector.identify_best_posting_times("duckpond_eng")
            result["reads"] += 1
        except Exception as exc:
            result["errors"].append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.1)
    print(json.dumps(result))
""")

RUN_SCRIPT = textwrap.dedent("""
    import sys
    import pandas as pd
    from social_pipeline.app.cli import materialize_all
    results = materialize_all(pd.Timestamp(sys.argv[1]), int(sys.argv[2]))
    sys.exit(0 if all(r["success"] for r in results) else 1)
""")


def test_ingest_two_runs_and_a_reader_at_once_on_the_lake(lake, tmp_path, cli_outputs):
    """`social-pipeline ingest` of three exports, two Dagster runs over overlapping hours and a reader
    (a read-only connection and AnalyticsCollector), each its own process, all at once on one lake."""
    connect().close()  # the schema, so that the reader has tables from its first read on
    stop = tmp_path / "stop-reading"
    env = {**os.environ, "DAGSTER_HOME": ""}
    env.pop("DAGSTER_HOME")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER_SCRIPT, str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    files = [str(SAMPLES / name) for name in sorted(os.listdir(SAMPLES))]
    writers = {
        "ingest": subprocess.Popen(
            [sys.executable, "-m", "social_pipeline.app.cli", "ingest", *files],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "run 1": subprocess.Popen(
            [sys.executable, "-c", RUN_SCRIPT, "2026-11-16 12:00", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "run 2": subprocess.Popen(
            [sys.executable, "-c", RUN_SCRIPT, "2026-11-16 00:00", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    }
    outputs = {name: process.communicate(timeout=600) for name, process in writers.items()}
    stop.touch()
    read_out, read_err = reader.communicate(timeout=120)
    for name, process in writers.items():
        assert process.returncode == 0, f"{name}: {outputs[name][1][-3000:]}"
    assert "locked" not in "".join(out + err for out, err in outputs.values())
    retried = sum(err.count("write conflict with another writer") for _, err in outputs.values())
    print(f"write conflicts retried: {retried}")
    assert reader.returncode == 0, read_err[-3000:]
    reads = json.loads(read_out.strip().splitlines()[-1])
    assert reads["errors"] == []
    assert reads["torn_reads"] == 0
    assert reads["reads"] >= 3
    assert len(set(reads["counts"])) >= 2  # it read the live lake while the writers committed

    con = connect(read_only=True)
    # Both runs' hours (2026-11-14 00:00 .. 2026-11-16 11:00) and the exports, each stored once.
    assert con.execute(
        "SELECT min(partition_key), max(partition_key) FROM raw.tweet_metrics WHERE source = 'simulated'"
    ).fetchall() == [("2026-11-14-00:00", "2026-11-16-11:00")]
    assert (
        con.execute(
            "SELECT count(*) FROM raw.tweet_metrics GROUP BY source, partition_key, post_id HAVING count(*) > 1"
        ).fetchall()
        == []
    )
    assert con.execute("SELECT count(*) FROM ops.ingested_files").fetchone()[0] == len(files)
    assert (
        con.execute(
            "SELECT count(DISTINCT post_id) FROM raw.posts WHERE user_id = 'alice_data' AND source <> 'simulated'"
        ).fetchone()[0]
        > 0
    )
    # No lost update: post_snapshots holds exactly what a full rebuild from the raw tables gives.
    from social_pipeline.core.analytics_queries import sql_text

    con.execute("CREATE OR REPLACE TEMP VIEW refresh_raw AS SELECT * FROM raw.tweet_metrics")
    rebuilt = con.execute(
        f"SELECT post_id, snapshot_time, impressions, likes FROM ({sql_text('post_snapshots')}) ORDER BY ALL"
    ).fetchall()
    stored = con.execute(
        "SELECT post_id, snapshot_time, impressions, likes FROM analytics.post_snapshots ORDER BY ALL"
    ).fetchall()
    assert len(stored) > 100
    assert stored == rebuilt


def test_writer_pool_is_one_run_on_a_file_and_lifted_on_a_lake(lake, db_path):
    from social_pipeline.app.cli import ensure_warehouse_pool
    from social_pipeline.defs.common import WAREHOUSE_POOL

    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as instance:
        ensure_warehouse_pool(instance, lake["database"])
        assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).slot_count == 4
        # The same instance turned to a DuckDB file: back to one writer run.
        ensure_warehouse_pool(instance, db_path)
        assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).slot_count == 1


def test_a_lake_connection_string_is_printed_without_its_password():
    assert lake_backend.redacted("ducklake:postgres:host=db.internal user=etl password=s3cr3t dbname=lake") == (
        "ducklake:postgres:host=db.internal user=etl password=*** dbname=lake"
    )
    assert lake_backend.redacted("ducklake:postgres:dbname=lake PASSWORD = 'a b'") == (
        "ducklake:postgres:dbname=lake PASSWORD = ***"
    )


def test_two_writers_that_only_insert_what_is_missing_store_it_once(lake):
    """Write skew: each checks "not stored yet" and inserts. DuckLake sees no colliding writes between two
    inserts and would commit both; the claim on raw.accounts makes the second run again, and find it."""
    con = connect()
    other = other_process_connection(lake["database"], lake["data_path"])
    insert_missing = (
        "INSERT INTO raw.accounts SELECT 'dora', 'UTC', 'test', TIMESTAMP '2026-11-02' "
        "WHERE 'dora' NOT IN (SELECT user_id FROM raw.accounts)"
    )
    attempts = []

    def add_dora(c):
        attempts.append(c.execute(insert_missing).fetchone()[0])
        if len(attempts) == 1:  # the other process does the same meanwhile, and commits first
            write_transaction(other, lambda o: o.execute(insert_missing), "raw.accounts")

    write_transaction(con, add_dora, "raw.accounts")
    assert attempts == [1, 0]  # the retry found dora stored and inserted nothing
    assert con.execute("SELECT count(*) FROM raw.accounts WHERE user_id = 'dora'").fetchone()[0] == 1
