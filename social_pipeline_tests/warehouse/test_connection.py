"""The warehouse schema is created or migrated once, when the file's stored version is not the code's:
a connection to an up-to-date file runs no DDL, so a run that only reads (the checks) leaves the file
as it was, and read-only connections work beside other readers."""

import hashlib
import os
import subprocess
import sys
from datetime import datetime

import dagster as dg
import duckdb
import pytest

from social_pipeline.core.schema import create_statements, schema_version
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect, ensure_schema, stored_schema_version
from social_pipeline_tests.helpers import (
    ANALYTICS_CHECKS,
    GOOD,
    HALF_LIVES_AFTER_MIGRATION,
    HALF_LIVES_QUERY,
    insert,
    run_analytics,
    write_lifecycle_rows_without_half_lives,
)


def fingerprint(path: str) -> tuple[str, int]:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest(), os.stat(path).st_mtime_ns


def test_a_new_file_is_created_at_the_codes_version_and_then_only_read(db_path):
    con = connect(db_path)
    assert stored_schema_version(con) == schema_version()
    assert con.execute("SELECT count(*) FROM ops.schema_version").fetchall() == [(1,)]
    con.close()
    before = fingerprint(db_path)
    con = connect(db_path)
    assert ensure_schema(con) is False  # already at this version: nothing applied
    con.close()
    assert fingerprint(db_path) == before


def test_a_checks_only_run_leaves_an_up_to_date_warehouse_untouched(db_path):
    insert(db_path, *GOOD)
    assert run_analytics(db_path).success
    before = fingerprint(db_path)
    result = dg.materialize(
        [*ANALYTICS_CHECKS],
        selection=dg.AssetSelection.checks(*ANALYTICS_CHECKS),
        resources={"warehouse": WarehouseResource(database=db_path)},
    )
    assert result.success and len(result.get_asset_check_evaluations()) == 4
    assert fingerprint(db_path) == before


def test_an_older_file_without_a_version_is_migrated_by_the_first_run(db_path):
    """A warehouse from before the newer columns (and before ops.schema_version): the run's first
    connection adds them and stamps the version; the rows already stored stay."""
    con = duckdb.connect(db_path)
    con.execute("CREATE SCHEMA raw")
    con.execute(
        "CREATE TABLE raw.posts (post_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, text VARCHAR, "
        "published_at TIMESTAMP NOT NULL, source VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL)"
    )
    con.execute("INSERT INTO raw.posts VALUES ('p1', 'u1', 'hi', TIMESTAMP '2026-11-16 10:00', 'test', now())")
    con.close()
    result = run_analytics(db_path)
    assert result.success
    con = duckdb.connect(db_path, read_only=True)
    assert con.execute("SELECT post_id, published_time_known, content_type FROM raw.posts").fetchall() == [
        ("p1", True, None)
    ]  # the added column's DEFAULT fills the stored row
    assert stored_schema_version(con) == schema_version()
    # The run's assets worked on the migrated tables: the post without metrics has no snapshot yet.
    assert con.execute("SELECT count(*) FROM analytics.post_performance").fetchall() == [(0,)]
    con.close()


def test_a_changed_schema_in_code_is_applied_once_over_the_stored_version(db_path):
    con = connect(db_path)
    con.execute("ALTER TABLE raw.posts DROP COLUMN num_media_items")  # as if the column were new in code
    con.execute("UPDATE ops.schema_version SET version = 'older'")
    con.close()
    insert(db_path, *GOOD)  # its connection migrates: the column is back, the version current
    con = duckdb.connect(db_path, read_only=True)
    assert "num_media_items" in [c[0] for c in con.execute("DESCRIBE raw.posts").fetchall()]
    assert stored_schema_version(con) == schema_version()
    assert con.execute("SELECT count(*) FROM ops.schema_version").fetchall() == [(1,)]
    con.close()
    assert ensure_schema(duckdb.connect(db_path)) is False


def test_a_failed_migration_leaves_the_file_as_it_was(db_path):
    """The statements and the version are one transaction: a statement that fails applies none."""
    con = connect(db_path)
    con.execute("UPDATE ops.schema_version SET version = 'older'")
    con.execute("ALTER TABLE raw.posts DROP COLUMN num_media_items")  # its ADD COLUMN comes first
    # A view where a table is expected: ALTER TABLE ops.unfinished_post_fetches ... fails, later on.
    con.execute("DROP TABLE ops.unfinished_post_fetches")
    con.execute("CREATE VIEW ops.unfinished_post_fetches AS SELECT 1 AS source")
    with pytest.raises(duckdb.CatalogException, match="ALTER VIEW"):
        ensure_schema(con)
    assert "num_media_items" not in [c[0] for c in con.execute("DESCRIBE raw.posts").fetchall()]
    assert stored_schema_version(con) == "older"
    con.close()


def test_read_only_connections_work_beside_another_reader_and_never_migrate(db_path):
    con = connect(db_path)
    con.execute("UPDATE ops.schema_version SET version = 'older'")
    con.close()
    before = fingerprint(db_path)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1], "
            "read_only=True); print('reading', flush=True); sys.stdin.read()",
            db_path,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "reading"
        con = connect(db_path, read_only=True)
        assert stored_schema_version(con) == "older"  # not migrated: a reader never writes
        assert con.execute("SELECT count(*) FROM raw.posts").fetchall() == [(0,)]
        con.close()
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert fingerprint(db_path) == before


def test_the_version_names_the_statements():
    assert schema_version() == hashlib.sha256("\n".join(create_statements()).encode()).hexdigest()[:16]
    assert len(schema_version()) == 16


def test_best_posting_times_from_before_the_local_and_utc_names_migrates_in_place(db_path):
    """A file whose best_posting_times still has day_of_week / hour / utc_hour (NOT NULL): they are renamed
    to day_of_week_local / hour_local / hour_utc with their rows, so no old NOT NULL column blocks a new row."""
    con = connect(db_path)
    for new, old in (("day_of_week_local", "day_of_week"), ("hour_local", "hour"), ("hour_utc", "utc_hour")):
        con.execute(f"ALTER TABLE analytics.best_posting_times RENAME COLUMN {new} TO {old}")
    con.execute(
        "INSERT INTO analytics.best_posting_times (user_id, rank, day_of_week, day_name, hour, timezone, "
        "utc_hour, window_start, window_end) VALUES ('u1', 1, 2, 'Wednesday', 9, 'America/New_York', 14, "
        "TIMESTAMP '2026-08-18', TIMESTAMP '2026-11-16')"
    )
    con.execute("UPDATE ops.schema_version SET version = 'older'")
    con.close()
    con = connect(db_path)  # migrates
    columns = [c[0] for c in con.execute("DESCRIBE analytics.best_posting_times").fetchall()]
    assert {"day_of_week_local", "hour_local", "hour_utc"} <= set(columns)
    assert not {"day_of_week", "hour", "utc_hour"} & set(columns)
    assert con.execute(
        "SELECT day_of_week_local, hour_local, hour_utc FROM analytics.best_posting_times"
    ).fetchall() == [(2, 9, 14)]
    con.execute(
        "INSERT INTO analytics.best_posting_times BY NAME SELECT 'u2' AS user_id, 1 AS rank, "
        "0 AS day_of_week_local, 18 AS hour_local, TIMESTAMP '2026-08-18' AS window_start, "
        "TIMESTAMP '2026-11-16' AS window_end"
    )
    assert stored_schema_version(con) == schema_version()
    con.close()
    assert ensure_schema(duckdb.connect(db_path)) is False  # a second connection finds nothing to do


def test_a_file_from_before_the_drops_table_gets_its_drops_on_migration(db_path):
    """A warehouse whose snapshots predate analytics.post_metric_drops: the migration records their drops
    (p1's likes 5 -> 3, p2 without a drop), so the decrease check does not miss them."""
    con = connect(db_path)
    con.execute(
        "INSERT INTO analytics.post_snapshots (post_id, user_id, snapshot_time, impressions, likes, retweets, "
        "replies, quotes) VALUES ('p1', 'u1', '2026-11-16 10:00', 100, 5, 0, 0, 0), "
        "('p1', 'u1', '2026-11-16 11:00', 120, 3, 0, 0, 0), ('p2', 'u1', '2026-11-16 10:00', 100, 5, 0, 0, 0)"
    )
    con.execute("DROP TABLE analytics.post_metric_drops")
    con.execute("UPDATE ops.schema_version SET version = 'older'")
    con.close()
    con = connect(db_path)
    assert con.execute("SELECT * FROM analytics.post_metric_drops").fetchall() == [
        ("p1", datetime(2026, 11, 16, 11), "likes")
    ]
    con.close()


def test_a_file_from_before_stored_half_lives_gets_them_on_migration(db_path):
    """post_lifecycle rows written before the half_life_hours column get each post's half-life."""
    con = connect(db_path)
    write_lifecycle_rows_without_half_lives(con)
    con.execute("UPDATE ops.schema_version SET version = 'older'")
    con.close()
    con = connect(db_path)
    assert con.execute(HALF_LIVES_QUERY).fetchall() == HALF_LIVES_AFTER_MIGRATION
    con.close()
