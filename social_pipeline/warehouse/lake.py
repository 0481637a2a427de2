"""The DuckLake backend: the catalog in PostgreSQL, the data as Parquet files in a folder or object store.

`SOCIAL_PIPELINE_DB=ducklake:postgres:<libpq connection string>` (DuckDB's own ATTACH syntax) selects it;
`SOCIAL_PIPELINE_LAKE_DATA_PATH` names where the data files go. The lake is attached as `lake` and made
the default catalog (USE), so `raw.*`, `analytics.*` and `ml.*` resolve as in a DuckDB file.

The ducklake and postgres extensions come from their PyPI wheels (duckdb-extension-ducklake,
duckdb-extension-postgres) and are loaded by path with autoinstall and autoload off: a machine without
internet attaches the lake, and nothing is ever downloaded at run time.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

import duckdb

from social_pipeline.core.metrics import MACROS_SQL
from social_pipeline.core.sql_files import scalar
from social_pipeline.warehouse.duckdb_settings import apply_duckdb_settings

LAKE_PREFIX = "ducklake:"
LAKE_ALIAS = "lake"
DATA_PATH_VARIABLE = "SOCIAL_PIPELINE_LAKE_DATA_PATH"
# Writer runs at once in the `duckdb_warehouse` pool on a lake (a DuckDB file: one). More overlap means
# more conflicting commits, each retried whole; four lets collection, inbox, reporting and training overlap.
LAKE_WRITER_RUNS = 4
# No extension is fetched or loaded behind our back: the two the lake needs are loaded by path.
OFFLINE_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class LakeConfigurationError(ValueError):
    """SOCIAL_PIPELINE_DB names a lake that cannot be attached as configured."""


def is_lake(database: str) -> bool:
    return database.startswith(LAKE_PREFIX)


def catalog_of(database: str) -> str:
    """What follows `ducklake:`, e.g. `postgres:host=... dbname=...`."""
    return database[len(LAKE_PREFIX) :]


def lake_data_path() -> str:
    path = os.environ.get(DATA_PATH_VARIABLE, "").strip()
    if not path:
        raise LakeConfigurationError(
            f"SOCIAL_PIPELINE_DB names a DuckLake warehouse but {DATA_PATH_VARIABLE} is not set: set it to the "
            "folder (or object-store URL, e.g. s3://bucket/lake/) where the lake keeps its Parquet files"
        )
    return path


def _wheel_extension(module_name: str, file_name: str) -> Path:
    """The extension file a duckdb-extension-* wheel installed, for the running DuckDB's version."""
    try:
        module = __import__(module_name)
    except ImportError as exc:
        raise LakeConfigurationError(
            f"the DuckLake warehouse needs the {module_name.replace('_', '-')} package "
            f"(pip install {module_name.replace('_', '-')}=={duckdb.__version__})"
        ) from exc
    path = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}" / file_name
    if not path.exists():
        raise LakeConfigurationError(
            f"{module_name.replace('_', '-')} has no extension for DuckDB {duckdb.__version__} ({path} is missing): "
            f"install the version matching DuckDB"
        )
    return path


def _postgres_scanner_path(wheel_file: Path) -> Path:
    """The postgres wheel's file under the name DuckDB loads it by (`postgres_scanner`, whose entry point
    the file carries): a link in a folder of ours, as the wheel's folder may not be writable."""
    for base in (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"), Path(tempfile.gettempdir())):
        folder = base / "social_pipeline" / f"duckdb-extensions-v{duckdb.__version__}-{os.getuid()}"
        link = folder / "postgres_scanner.duckdb_extension"
        try:
            if link.resolve() == wheel_file.resolve() and link.exists():
                return link
            folder.mkdir(parents=True, exist_ok=True)
            # Another process may do the same at once: link under a private name, then rename over.
            staging = folder / f".postgres_scanner.{os.getpid()}.duckdb_extension"
            staging.unlink(missing_ok=True)
            staging.symlink_to(wheel_file)
            os.replace(staging, link)
            return link
        except OSError:
            continue
    raise LakeConfigurationError(
        "no writable folder for the postgres_scanner extension link "
        "(tried $XDG_CACHE_HOME or ~/.cache, and the temp folder)"
    )


def load_lake_extensions(con: duckdb.DuckDBPyConnection) -> None:
    ducklake = _wheel_extension("duckdb_extension_ducklake", "ducklake.duckdb_extension")
    postgres = _postgres_scanner_path(_wheel_extension("duckdb_extension_postgres", "postgres.duckdb_extension"))
    con.execute(f"LOAD '{ducklake}'")
    con.execute(f"LOAD '{postgres}'")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# One DuckDB instance per process and lake, with the extensions loaded and the lake attached once
# (about a second); every connection is a cursor on it, with its own transactions. Keyed by process id:
# an instance does not survive fork.
_instances: dict[tuple, duckdb.DuckDBPyConnection] = {}
_instances_lock = threading.Lock()


def _lake_instance(database: str, data_path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    key = (os.getpid(), database, data_path, read_only)
    with _instances_lock:
        instance = _instances.get(key)
        if instance is None:
            instance = duckdb.connect(":memory:", config=OFFLINE_CONFIG)
            try:
                apply_duckdb_settings(instance)
                load_lake_extensions(instance)
                options = [f"DATA_PATH {_quoted(data_path)}"] + (["READ_ONLY"] if read_only else [])
                instance.execute(f"ATTACH {_quoted(database)} AS {LAKE_ALIAS} ({', '.join(options)})")
            except BaseException:
                instance.close()
                raise
            _instances[key] = instance
        return instance


def connect_lake(database: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection in which the lake is attached as `lake` and selected. A read-only connection's lake
    is attached READ_ONLY: it reads a consistent snapshot per transaction and cannot write."""
    con = _lake_instance(database, lake_data_path(), read_only).cursor()
    con.execute(f"USE {LAKE_ALIAS}")
    return con


def temporary_macro_statements() -> list[str]:
    """The metric macros (core/metrics.py) as the connection's own TEMP macros. In the lake's catalog
    CREATE OR REPLACE MACRO would commit a new snapshot on every connection, and a concurrent writer's
    commit could conflict with it; a read-only connection could not create them at all."""
    return [
        s.strip().replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO", 1)
        for s in MACROS_SQL.split(";")
        if s.strip()
    ]


def redacted(database: str) -> str:
    """The warehouse's name for printing: a lake's connection string without its password."""
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", database, flags=re.IGNORECASE)


def is_lake_connection(con: duckdb.DuckDBPyConnection) -> bool:
    return scalar(con, "SELECT current_database()") == LAKE_ALIAS
