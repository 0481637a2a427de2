"""Publish a read-only copy of the warehouse for BI tools, atomically.

DuckDB lets one process write a file, and a reader holding the file open blocks writers.
So BI reads a copy: the warehouse is copied into a new file with a unique name, then
renamed over the published path. A reader that opened the old copy keeps reading the
old file (same inode on POSIX) and sees the old state; a reader opening after the
rename sees the new state. Never a mix.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from .files import write_atomically


def publish_copy(con: duckdb.DuckDBPyConnection, target: str | os.PathLike) -> dict:
    """Copy every schema of the database behind `con` to `target`, then swap it in atomically."""
    target = Path(target)
    source_db = con.execute("SELECT current_database()").fetchall()[0][0]
    alias = f"bi_{uuid.uuid4().hex[:8]}"
    table_rows: dict[str, int] = {}

    def copy_into(staging: Path) -> None:
        con.execute(f"ATTACH '{staging}' AS {alias}")
        try:
            con.execute(f'COPY FROM DATABASE "{source_db}" TO {alias}')
            tables = [
                f"{schema}.{name}"
                for schema, name in con.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = $alias ORDER BY ALL",
                    {"alias": alias},
                ).fetchall()
            ]
            # What BI finds in the copy: the rows of each table.
            table_rows.update(
                {table: con.execute(f"SELECT count(*) FROM {alias}.{table}").fetchall()[0][0] for table in tables}
            )
        finally:
            con.execute(f"DETACH {alias}")

    write_atomically(target, copy_into)
    return {"path": str(target), "tables": len(table_rows), "table_rows": table_rows, "bytes": target.stat().st_size}
