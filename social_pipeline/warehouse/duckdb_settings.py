"""DuckDB's memory limit and threads for every connection the pipeline opens (a DuckDB file or a lake):
from `SOCIAL_PIPELINE_DUCKDB_MEMORY_LIMIT` (default 2GB) and `SOCIAL_PIPELINE_DUCKDB_THREADS` (default:
DuckDB's, one per core). Past the limit DuckDB spills to its temp folder instead of growing."""

from __future__ import annotations

import os
import re

import duckdb

MEMORY_LIMIT_VARIABLE = "SOCIAL_PIPELINE_DUCKDB_MEMORY_LIMIT"
THREADS_VARIABLE = "SOCIAL_PIPELINE_DUCKDB_THREADS"
# DuckDB's own default is 80% of the machine's memory; 2 GB keeps a run's whole process under 4 GB.
DEFAULT_MEMORY_LIMIT = "2GB"
# DuckDB plans an ASOF join as a nested loop when it expects at most this many rows on the left; it
# expects one row from a list parameter unnested (post_lifecycle's ages), so 50,000 rows ran as a loop.
FIXED_SETTINGS: dict[str, str | int] = {"asof_loop_join_threshold": 0}
_MEMORY_LIMIT = re.compile(r"^\s*(\d+(\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


class DuckDBSettingsError(ValueError):
    """A DuckDB setting in the environment is not a value DuckDB can take."""


def duckdb_settings() -> dict[str, str | int]:
    """The settings to apply, read from the environment; a bad value is refused by name."""
    memory_limit = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip() or DEFAULT_MEMORY_LIMIT
    match = _MEMORY_LIMIT.match(memory_limit)
    if match is None or float(match.group(1)) <= 0:
        raise DuckDBSettingsError(
            f"{MEMORY_LIMIT_VARIABLE}={memory_limit!r} is not a memory size: give a positive number and a unit, "
            f"e.g. 2GB, 1500MB or 4GiB (default {DEFAULT_MEMORY_LIMIT})"
        )
    settings: dict[str, str | int] = {**FIXED_SETTINGS, "memory_limit": memory_limit.replace(" ", "")}
    threads = os.environ.get(THREADS_VARIABLE, "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise DuckDBSettingsError(
                f"{THREADS_VARIABLE}={threads!r} is not a number of threads: give a whole number of 1 or more "
                "(unset: one per core)"
            )
        settings["threads"] = int(threads)
    return settings


def apply_duckdb_settings(con: duckdb.DuckDBPyConnection) -> None:
    """Set the memory limit (and threads) on the connection's database instance."""
    for name, value in duckdb_settings().items():
        con.execute(f"SET {name} = '{value}'")
