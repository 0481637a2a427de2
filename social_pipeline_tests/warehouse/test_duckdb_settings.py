"""Every connection the pipeline opens carries DuckDB's memory limit (and threads) from the environment."""

from pathlib import Path

import pytest

from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline.warehouse.duckdb_settings import MEMORY_LIMIT_VARIABLE, THREADS_VARIABLE, DuckDBSettingsError


def settings(con) -> tuple:
    return con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()[0]


def test_the_default_limit_is_2gb_on_a_plain_and_a_dagster_connection(db_path, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    monkeypatch.setenv(THREADS_VARIABLE, "1")
    with connect(db_path) as con:
        assert settings(con) == ("1.8 GiB", 1)  # DuckDB prints 2 GB (2 * 10^9 bytes) in GiB
    with WarehouseResource(database=db_path).get_connection() as con:
        assert settings(con) == ("1.8 GiB", 1)
    with connect(db_path, read_only=True) as con:
        assert settings(con)[0] == "1.8 GiB"


def test_the_limit_and_threads_come_from_the_environment(db_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "4GiB")
    monkeypatch.setenv(THREADS_VARIABLE, "2")
    with WarehouseResource(database=db_path).get_connection() as con:
        assert settings(con) == ("4.0 GiB", 2)
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "1500 MB")
    with connect(db_path) as con:
        assert settings(con) == ("1.3 GiB", 2)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (MEMORY_LIMIT_VARIABLE, "2 gigs", "SOCIAL_PIPELINE_DUCKDB_MEMORY_LIMIT='2 gigs' is not a memory size"),
        (MEMORY_LIMIT_VARIABLE, "0GB", "SOCIAL_PIPELINE_DUCKDB_MEMORY_LIMIT='0GB' is not a memory size"),
        (THREADS_VARIABLE, "zero", "SOCIAL_PIPELINE_DUCKDB_THREADS='zero' is not a number of threads"),
        (THREADS_VARIABLE, "0", "SOCIAL_PIPELINE_DUCKDB_THREADS='0' is not a number of threads"),
    ],
)
def test_a_bad_value_is_refused_by_name_before_the_file_is_opened(tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    database = str(tmp_path / "never.duckdb")
    with pytest.raises(DuckDBSettingsError, match=message):
        connect(database)
    with pytest.raises(DuckDBSettingsError, match=message), WarehouseResource(database=database).get_connection():
        pass
    assert not Path(database).exists()


def test_an_asof_join_whose_left_side_duckdb_underestimates_is_not_planned_as_a_nested_loop(db_path):
    """post_lifecycle's ages come from a list parameter, which DuckDB estimates at one row: with its default
    threshold (64) the ASOF join over every refreshed post ran as a nested loop (18 s instead of 0.3 s for
    10,000 posts). Every connection plans it as the sorted ASOF join, with the same answer."""
    from social_pipeline.core.lifecycle import lifecycle_params
    from social_pipeline.defs.analytics.lifecycle import sql

    with connect(db_path) as con:
        con.execute("CREATE TEMP TABLE lifecycle_refresh (post_id VARCHAR)")
        con.execute("CREATE TEMP VIEW lifecycle_snapshots AS SELECT * FROM analytics.post_snapshots")
        plan = "".join(row[1] for row in con.execute("EXPLAIN " + sql("post_lifecycle"), lifecycle_params()).fetchall())
    assert "ASOF_JOIN" in plan  # with the default it is rewritten into a nested loop and an arg_max
