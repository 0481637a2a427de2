"""The BI copy of the warehouse: what it depends on, and a reader never blocked nor shown a mix."""

import dagster as dg
import duckdb

from social_pipeline.definitions import defs
from social_pipeline.defs.common import WAREHOUSE_POOL
from social_pipeline.defs.ops.assets import bi_warehouse_copy
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline_tests.helpers import collect, file_stores_under


def test_the_bi_copy_depends_on_every_asset_that_writes_the_warehouse():
    """The copy's dependencies are what its condition watches: a writer left out would change the
    warehouse without a new copy."""
    graph = defs.resolve_asset_graph()
    writers = {n.key for n in graph.asset_nodes if n.is_materializable and n.pools == {WAREHOUSE_POOL}}
    assert set(graph.get(bi_warehouse_copy.key).parent_keys) == writers - {bi_warehouse_copy.key}


def test_bi_reader_is_never_blocked_and_never_sees_a_mix(resources, db_path, tmp_path):
    bi_file = tmp_path / "bi" / "warehouse.duckdb"
    publish = {"warehouse": WarehouseResource(database=db_path), "file_stores": file_stores_under(tmp_path)}
    collect(resources, "2026-11-15-12:00", "2026-11-16-11:00")
    dg.materialize([bi_warehouse_copy], resources=publish)

    reader = duckdb.connect(str(bi_file), read_only=True)  # a BI tool holding the copy open
    old_counts = reader.execute(
        "SELECT (SELECT count(*) FROM analytics.post_snapshots), (SELECT count(*) FROM raw.tweet_metrics)"
    ).fetchall()[0]
    # A full run and a new publication while the reader stays open: neither side fails.
    collect(resources)
    dg.materialize([bi_warehouse_copy], resources=publish)
    still_old = reader.execute(
        "SELECT (SELECT count(*) FROM analytics.post_snapshots), (SELECT count(*) FROM raw.tweet_metrics)"
    ).fetchall()[0]
    assert still_old == old_counts
    assert old_counts[0] == old_counts[1]  # consistent: snapshots match the raw rows of the same state
    reader.close()

    fresh = duckdb.connect(str(bi_file), read_only=True)
    new_counts = fresh.execute(
        "SELECT (SELECT count(*) FROM analytics.post_snapshots), (SELECT count(*) FROM raw.tweet_metrics)"
    ).fetchall()[0]
    fresh.close()
    assert new_counts[0] == new_counts[1] > old_counts[0]
    assert [p.name for p in bi_file.parent.iterdir()] == ["warehouse.duckdb"]  # no staging files left
