"""ops.post_snapshot_collections: the raw collections post_snapshots has read, with their raw and snapshot
row counts. While its totals equal the two tables' row counts (which DuckDB keeps without a scan), no
collection lost rows outside those an hour's run reads, and an hourly refresh needs no scan of either
table's whole history to find removed collections. Any other write (by hand, a re-run that found
nothing) breaks the equality; the run then compares every key of both tables, as a full refresh does,
and rebuilds the counts."""

from __future__ import annotations

import duckdb

from .sql_files import scalar, sql_loader

sql = sql_loader(__file__)
COLLECTIONS_TABLE = "ops.post_snapshot_collections"
# The queries that keep it (part of post_snapshots' code version).
COLLECTIONS_SQL = (
    "post_snapshot_collections_known",
    "post_snapshot_collections_touched",
    "post_snapshot_collections_all",
)


def newest_snapshot_time(con):
    """max(snapshot_time) of analytics.post_snapshots. DuckDB answers it from the table's statistics only
    while no write since the last checkpoint touched the table; after one (within a run, the file stays
    open) it reads the whole column. So it is first asked from the newest post_performance row on, a
    bound at or below it whenever that table is up to date, which skips all but the newest row groups
    (rows lie in time order); the whole table is read only when that finds nothing."""
    # post_performance's first run creates the table. Asking the catalog first costs a round trip to a
    # lake's PostgreSQL (60 ms) on every call; a name DuckDB cannot bind leaves the transaction usable.
    try:
        bound = scalar(con, "SELECT max(latest_snapshot_time) FROM analytics.post_performance")
    except duckdb.CatalogException:
        bound = None
    if bound is not None:
        newest = scalar(
            con, "SELECT max(snapshot_time) FROM analytics.post_snapshots WHERE snapshot_time >= $b", {"b": bound}
        )
        if newest is not None:
            return newest
    return scalar(con, "SELECT max(snapshot_time) FROM analytics.post_snapshots")


def count_touched_collections(con, read_since=None) -> None:
    """The temp table touched_collections(partition_key, raw_rows): the raw row counts, now, of the
    collections in refresh_keys and of those with raw rows written from `read_since` on (any status)."""
    touched = "SELECT partition_key FROM refresh_keys"
    if read_since is not None:
        touched += " UNION SELECT partition_key FROM raw.tweet_metrics WHERE written_at >= $read_since"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE touched_collections AS SELECT partition_key, count(*) AS raw_rows "
        f"FROM raw.tweet_metrics WHERE partition_key IN ({touched}) GROUP BY ALL",
        {} if read_since is None else {"read_since": read_since},
    )


def collections_known(con) -> bool:
    """True when ops.post_snapshot_collections, with touched_collections' counts in place of its own,
    adds up to both tables' row counts: every collection outside touched_collections is as last read."""
    return bool(scalar(con, sql("post_snapshot_collections_known")))


def record_collections(con, known: bool) -> None:
    """Bring ops.post_snapshot_collections up to date after post_snapshots wrote: the touched collections'
    counts (refreshed_collections: those rewritten, written_collections: their new snapshot counts), or,
    when the table was not `known`, every collection's, counted from both tables."""
    if known:
        con.execute(f"CREATE OR REPLACE TEMP TABLE collection_counts AS {sql('post_snapshot_collections_touched')}")
        con.execute(
            f"DELETE FROM {COLLECTIONS_TABLE} WHERE partition_key IN (SELECT partition_key FROM collection_counts)"
        )
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE collection_counts AS {sql('post_snapshot_collections_all')}")
        con.execute(f"DELETE FROM {COLLECTIONS_TABLE}")
    con.execute(f"INSERT INTO {COLLECTIONS_TABLE} BY NAME SELECT * FROM collection_counts")
    con.execute("DROP TABLE collection_counts")
