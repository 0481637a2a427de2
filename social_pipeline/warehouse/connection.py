"""The warehouse connection, plain Python: a DuckDB file (the embedded default) or a DuckLake
(`ducklake:postgres:...`, warehouse/lake.py), with our schema created or migrated, and one-transaction writes.
Notebooks, the CLI and the HTTP API use it directly; resources/warehouse.py wraps it for Dagster."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import duckdb
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from social_pipeline.core.clock import utc_now
from social_pipeline.core.lifecycle import LIFECYCLE_TABLE, fill_half_lives
from social_pipeline.core.metric_drops import METRIC_DROPS_TABLE, fill_metric_drops
from social_pipeline.core.schema import (
    SCHEMAS,
    TABLES,
    add_column_statement,
    create_statements,
    create_table_statement,
    rename_old_columns,
    schema_version,
)
from social_pipeline.core.sql_files import scalar
from social_pipeline.warehouse.duckdb_settings import apply_duckdb_settings, duckdb_settings
from social_pipeline.warehouse.lake import connect_lake, is_lake, temporary_macro_statements
from social_pipeline.warehouse.write_conflicts import retry_conflicts, write_transaction

DEFAULT_DB_PATH = "data/warehouse.duckdb"


def database_path() -> str:
    """`SOCIAL_PIPELINE_DB`, else data/warehouse.duckdb (relative to the working directory)."""
    return os.environ.get("SOCIAL_PIPELINE_DB") or DEFAULT_DB_PATH


def is_local_file(database: str) -> bool:
    return not (database == ":memory:" or database.startswith(("md:", "motherduck:")) or is_lake(database))


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.table` exists in the connection's database (a file or the lake), asked of the catalog:
    a query on a missing table would make DuckDB look for a Python variable of its name."""
    schema, name = table.split(".")
    return bool(
        scalar(
            con,
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = $schema AND table_name = $name",
            {"schema": schema, "name": name},
        )
    )


def stored_schema_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The schema version the file was last created or migrated to; None before the first (or an older file)."""
    if not table_exists(con, "ops.schema_version"):
        return None
    return scalar(con, "SELECT max(version) FROM ops.schema_version")


def ensure_schema(con: duckdb.DuckDBPyConnection, lake: bool = False) -> bool:
    """Create or migrate the schema, in one transaction, when the file's stored version is not this
    code's; True when it did. A file already at this version is only read (two small queries), never written."""
    version = schema_version()
    if lake:
        # A lake adds only what its catalog lacks (ensure_lake_schema), then records the version as a file does.
        # Two processes renaming at once conflict; the loser retries and finds the columns renamed.
        retry_conflicts(lambda: rename_old_columns(con), what="the lake's schema")
        ensure_lake_schema(con)
        if stored_schema_version(con) == version:
            return False
        write_transaction(con, lambda con: _record_version(con, version), "ops.schema_version")
        return True
    if stored_schema_version(con) == version:
        return False
    with transaction(con):
        had_drops = table_exists(con, METRIC_DROPS_TABLE)
        lacked_half_lives = _lacks_column(con, LIFECYCLE_TABLE, "half_life_hours")
        rename_old_columns(con)
        for statement in create_statements():
            con.execute(statement)
        if not had_drops:
            fill_metric_drops(con)
        if lacked_half_lives:
            fill_half_lives(con)
        _record_version(con, version)
    return True


def ensure_lake_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The tables and columns of core/schema.py that the lake lacks, and only those: each statement is a
    catalog commit (and a round trip to PostgreSQL), so a lake already in shape costs one query. Two
    processes migrating at once conflict; the loser retries and finds the work done."""
    existing = con.execute(
        "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database()"
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in existing:
        columns.setdefault(table, set()).add(column)
    schemas = {
        row[0]
        for row in con.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()"
        ).fetchall()
    }
    statements = [f"CREATE SCHEMA IF NOT EXISTS {schema}" for schema in SCHEMAS if schema not in schemas]
    for table, table_columns in TABLES.items():
        if table not in columns:
            statements.append(create_table_statement(table))
            continue
        statements.extend(
            add_column_statement(table, name, sql_type)
            for name, sql_type in table_columns
            if name not in columns[table]
        )
    for statement in statements:
        retry_conflicts(lambda statement=statement: con.execute(statement), what="the lake's schema")
    if METRIC_DROPS_TABLE not in columns and "analytics.post_snapshots" in columns:
        write_transaction(con, fill_metric_drops, METRIC_DROPS_TABLE)
    if LIFECYCLE_TABLE in columns and "half_life_hours" not in columns[LIFECYCLE_TABLE]:
        write_transaction(con, fill_half_lives, LIFECYCLE_TABLE)


def _lacks_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """True when the stored table exists without the column (a file from before it)."""
    schema, name = table.split(".")
    found = con.execute(
        "SELECT count(*) FILTER (WHERE column_name = $column), count(*) FROM information_schema.columns "
        "WHERE table_schema = $schema AND table_name = $name",
        {"column": column, "schema": schema, "name": name},
    ).fetchall()[0]
    return found[1] > 0 and found[0] == 0


def _record_version(con: duckdb.DuckDBPyConnection, version: str) -> None:
    con.execute("DELETE FROM ops.schema_version")
    con.execute("INSERT INTO ops.schema_version VALUES (?, ?)", [version, utc_now()])


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """One transaction per asset write: a failure leaves every table as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def connect(
    database: str | None = None, read_only: bool = False, check_schema: bool = True
) -> duckdb.DuckDBPyConnection:
    """A plain connection for code outside Dagster (CLI, notebooks, the seed's API). For a lake: the lake
    attached and selected, so `raw.*`, `analytics.*` and `ml.*` resolve; read-only attaches it READ_ONLY."""
    database = database or database_path()
    if is_lake(database):
        con = connect_lake(database, read_only=read_only)
        for statement in temporary_macro_statements():
            con.execute(statement)
        if check_schema and not read_only:  # WarehouseResource asks once per run, as for a file
            ensure_schema(con, lake=True)
        return con
    if is_local_file(database) and not read_only:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    duckdb_settings()  # a bad setting is refused before the file is opened
    con = duckdb.connect(database, read_only=read_only)
    apply_duckdb_settings(con)
    if check_schema and not read_only:
        ensure_schema(con)
    return con


def is_lock_error(exc: BaseException) -> bool:
    """DuckDB's refusal to open a file another process holds (one writer process per file)."""
    return isinstance(exc, duckdb.IOException) and "Could not set lock" in str(exc)


def wait_until_unlocked(database: str, wait_seconds: float, poll_seconds: float = 1.0) -> None:
    """Return once no other process holds the DuckDB file, or raise its lock error after `wait_seconds`.
    Fails fast on each try, where DuckDBResource.get_connection backs off for ~100 s before giving up."""
    if not is_local_file(database) or not Path(database).exists():
        return
    # Policy for a held file: poll at a fixed pace until the deadline, then raise the last lock error.
    retrying = Retrying(
        retry=retry_if_exception(is_lock_error),
        stop=stop_after_delay(wait_seconds),
        wait=wait_fixed(poll_seconds),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            duckdb.connect(database).close()
