"""The warehouse as a Dagster resource: dagster-duckdb's DuckDBResource over the plain connection in
social_pipeline/warehouse/ (a DuckDB file or a DuckLake), checking the schema once per run."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from social_pipeline.warehouse import write_conflicts
from social_pipeline.warehouse.connection import connect, ensure_schema, is_local_file
from social_pipeline.warehouse.duckdb_settings import apply_duckdb_settings, duckdb_settings
from social_pipeline.warehouse.lake import is_lake

write_conflicts.LOG = dg.get_dagster_logger("social_pipeline.warehouse")


class WarehouseResource(DuckDBResource):
    """DuckDBResource that creates the file's folder, and creates or migrates the warehouse schema
    once per run: on the run's first connection (a sensor that only reads `database` opens none).

    Within a run, a file stays open from the first step that connects to the run's end, and each step
    gets its own connection to it: DuckDB checkpoints a file when its last connection closes, and a
    checkpoint costs more the larger the file (0.13 s at 100 million snapshots, for any write), so
    closing it after every step would pay that at every step. The run's end closes it."""

    _schema_checked: bool = PrivateAttr(default=False)
    _in_run: bool = PrivateAttr(default=False)
    _run_connection: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Dagster gives each run (each step process) its own set-up copy: each checks the schema once.
        self._schema_checked = False
        self._in_run = context.run is not None
        self._run_connection = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.release()

    def release(self) -> None:
        """Close the run's open file now, so other processes (the API, BI tools) can read it while a step
        waits on something else, such as a source's API; the step's next connection opens it again."""
        if self._run_connection is not None:
            self._run_connection.close()
            self._run_connection = None

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
        duckdb_settings()  # a bad setting is refused before the file is opened
        if self._in_run and self._run_connection is None:
            self._run_connection = super().get_connection().__enter__()
        # dagster-duckdb closes its connection only on success; a failed write must not
        # leave the file open (and locked) in a long-lived process.
        con = self._run_connection.cursor() if self._run_connection else super().get_connection().__enter__()
        try:
            apply_duckdb_settings(con)
            if not self._schema_checked:
                ensure_schema(con)
                self._schema_checked = True
            yield con
        finally:
            con.close()
