"""The warehouse: dagster-duckdb's resource plus our schema and one-transaction writes, on a DuckDB file
(the embedded default) or a DuckLake (`ducklake:postgres:...`, resources/lake.py)."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from ..core.clock import utc_now
from ..core.schema import create_statements, rename_old_columns, schema_version
from social_pipeline.resources.lake import connect_lake, ensure_lake_schema, is_lake, temporary_macro_statements
from social_pipeline.core import write_conflicts
from social_pipeline.core.sql_files import scalar  # noqa: F401 (re-exported for the assets)
from social_pipeline.core.write_conflicts import retry_conflicts, write_transaction

write_conflicts.LOG = dg.get_dagster_logger("social_pipeline.warehouse")

DEFAULT_DB_PATH = "data/warehouse.duckdb"
# The writers take their retried transactions from here.
__all__ = ["WarehouseResource", "connect", "ensure_schema", "retry_conflicts", "scalar", "transaction",
           "write_transaction"]


def database_path() -> str:
    """`SOCIAL_PIPELINE_DB`, else data/warehouse.duckdb (relative to the working directory)."""
    return os.environ.get("SOCIAL_PIPELINE_DB") or DEFAULT_DB_PATH


def is_local_file(database: str) -> bool:
    return not (database == ":memory:" or database.startswith(("md:", "motherduck:")) or is_lake(database))


def stored_schema_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The schema version the file was last created or migrated to; None before the first (or an older file)."""
    # Asked of the catalog first: a missing table would make DuckDB look for a Python variable of its name.
    if not scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                       "AND schema_name = 'ops' AND table_name = 'schema_version'"):
        return None
    return scalar(con, "SELECT max(version) FROM ops.schema_version")


def ensure_schema(con: duckdb.DuckDBPyConnection, lake: bool = False) -> bool:
    """Create or migrate the schema, in one transaction, when the file's stored version is not this
    code's; True when it did. A file already at this version is only read (two small queries), never written."""
    version = schema_version()
    if lake:
        # A lake adds only what its catalog lacks (resources/lake.py), then records the version as a file does.
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
        rename_old_columns(con)
        for statement in create_statements():
            con.execute(statement)
        _record_version(con, version)
    return True


def _record_version(con: duckdb.DuckDBPyConnection, version: str) -> None:
    con.execute("DELETE FROM ops.schema_version")
    con.execute("INSERT INTO ops.schema_version VALUES (?, ?)", [version, utc_now()])


class WarehouseResource(DuckDBResource):
    """DuckDBResource that creates the file's folder, and creates or migrates the warehouse schema
    once per run: on the run's first connection (a sensor that only reads `database` opens none)."""

    _schema_checked: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Dagster gives each run (each step process) its own set-up copy: each checks the schema once.
        self._schema_checked = False

    @contextmanager
    def get_connection(self):
        if is_lake(self.database):
            con = connect(self.database, check_schema=not self._schema_checked)
            self._schema_checked = True
            try:
                yield con
            finally:
                con.close()
            return
        if is_local_file(self.database):
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        # dagster-duckdb closes its connection only on success; a failed write must not
        # leave the file open (and locked) in a long-lived process.
        con = super().get_connection().__enter__()
        try:
            if not self._schema_checked:
                ensure_schema(con)
                self._schema_checked = True
            yield con
        finally:
            con.close()


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


def connect(database: str | None = None, read_only: bool = False,
            check_schema: bool = True) -> duckdb.DuckDBPyConnection:
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
    con = duckdb.connect(database, read_only=read_only)
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
    started = time.monotonic()
    while True:
        try:
            duckdb.connect(database).close()
            return
        except duckdb.IOException as exc:
            if not is_lock_error(exc) or time.monotonic() - started >= wait_seconds:
                raise
        time.sleep(poll_seconds)


