"""The warehouse resource keeps a DuckDB file open across a run's steps: DuckDB checkpoints a file when
its last connection closes, at a cost that grows with the file, so the file is checkpointed once, when the
run ends, not after every step. Outside a run each connection is closed with its use."""

from pathlib import Path

import dagster as dg
import duckdb

from social_pipeline.resources.warehouse import WarehouseResource


@dg.asset
def writes_a_row(warehouse: WarehouseResource) -> None:
    with warehouse.get_connection() as con:
        con.execute("CREATE TABLE IF NOT EXISTS ops.probe (a INTEGER)")
        con.execute("INSERT INTO ops.probe VALUES (1)")


@dg.asset(deps=[writes_a_row])
def reads_it_back(warehouse: WarehouseResource) -> dg.MaterializeResult:
    # The first step's write is still in the write-ahead log: its connection's close did not checkpoint.
    wal_after_first_step = Path(warehouse.database + ".wal").exists()
    with warehouse.get_connection() as con:
        rows = con.execute("SELECT count(*) FROM ops.probe").fetchall()[0][0]
    return dg.MaterializeResult(metadata={"wal_after_first_step": wal_after_first_step, "rows": rows})


def test_a_runs_steps_share_the_open_file_and_its_end_checkpoints_it(db_path):
    result = dg.materialize([writes_a_row, reads_it_back], resources={"warehouse": WarehouseResource(database=db_path)})
    meta = result.asset_materializations_for_node("reads_it_back")[0].metadata
    assert meta["rows"].value == 1
    assert meta["wal_after_first_step"].value is True
    # The run's end closed the file: checkpointed (no log left) and free for another process.
    assert not Path(db_path + ".wal").exists()
    with duckdb.connect(db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ops.probe").fetchall() == [(1,)]


def test_outside_a_run_each_connection_closes_the_file(db_path):
    warehouse = WarehouseResource(database=db_path)
    with warehouse.get_connection() as con:
        con.execute("CREATE TABLE ops.probe AS SELECT 1 AS a")
    assert not Path(db_path + ".wal").exists()
    with duckdb.connect(db_path, read_only=True) as con:
        assert con.execute("SELECT a FROM ops.probe").fetchall() == [(1,)]


@dg.asset
def writes_then_waits_on_a_source(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        con.execute("CREATE TABLE ops.probe AS SELECT 1 AS a")
    warehouse.release()
    # Meanwhile the file is closed: another reader (here a plain read-only connection) opens it.
    with duckdb.connect(warehouse.database, read_only=True) as reader:
        seen = reader.execute("SELECT count(*) FROM ops.probe").fetchall()[0][0]
    with warehouse.get_connection() as con:  # and the step's next connection opens it again
        con.execute("INSERT INTO ops.probe VALUES (2)")
    return dg.MaterializeResult(metadata={"seen_while_released": seen})


def test_a_step_releases_the_file_while_it_waits_on_a_source(db_path):
    result = dg.materialize(
        [writes_then_waits_on_a_source], resources={"warehouse": WarehouseResource(database=db_path)}
    )
    assert (
        result.asset_materializations_for_node("writes_then_waits_on_a_source")[0].metadata["seen_while_released"].value
        == 1
    )
    with duckdb.connect(db_path, read_only=True) as con:
        assert con.execute("SELECT a FROM ops.probe ORDER BY a").fetchall() == [(1,), (2,)]
