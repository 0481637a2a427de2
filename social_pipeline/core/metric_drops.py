"""analytics.post_metric_drops: the snapshots whose cumulative figures fell from the post's previous one,
kept up to date with post_snapshots so the decrease check reads the drops, not the snapshots."""

from __future__ import annotations

import math

import pandas as pd

from .analytics_queries import sql_text
from .sql_files import scalar

METRIC_DROPS_TABLE = "analytics.post_metric_drops"
# The snapshot before a post's rewritten ones is looked for this far back first: posts past 30 days are
# collected weekly, so every collected post has one there unless its collections had a gap.
PREVIOUS_SNAPSHOT_NEAR_DAYS = 8
# Bounds no snapshot precedes: a post whose whole series is recomputed.
BEFORE_ANY_SNAPSHOT = pd.Timestamp("1900-01-01")
# About this many snapshots per statement when every post is recomputed: each statement's window sorts its rows.
ROWS_PER_STATEMENT = 4_000_000
# The queries that compute the drops (part of post_snapshots' code version).
METRIC_DROPS_SQL = ("metric_drops_series", "metric_drops_far_previous", "metric_drops_found")


def refresh_metric_drops(con, chunks: int = 1) -> int:
    """Recompute analytics.post_metric_drops for the posts in the temp table metric_drop_posts(post_id,
    snapshot_time_from): their drops at snapshots from snapshot_time_from on (NULL: at every snapshot),
    each compared with the snapshot before it. Posts are split by hash into `chunks` statements, so a
    refresh of every post sorts a part of the history at a time. Returns the drops written."""
    posts, unbounded, earliest_from = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE snapshot_time_from IS NULL), min(snapshot_time_from) "
        "FROM metric_drop_posts"
    ).fetchall()[0]
    if not posts:
        return 0
    con.execute(
        "DELETE FROM analytics.post_metric_drops AS d USING metric_drop_posts AS p WHERE d.post_id = p.post_id "
        "AND (p.snapshot_time_from IS NULL OR d.snapshot_time >= p.snapshot_time_from)"
    )
    scan_from = (
        BEFORE_ANY_SNAPSHOT
        if unbounded
        else pd.Timestamp(earliest_from) - pd.Timedelta(days=PREVIOUS_SNAPSHOT_NEAR_DAYS)
    )
    written = 0
    for chunk in range(chunks):
        in_chunk = "" if chunks == 1 else f"WHERE hash(post_id) % {int(chunks)} = {chunk}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE drop_chunk_posts AS SELECT * FROM metric_drop_posts {in_chunk}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE drop_series AS {sql_text('metric_drops_series')}", {"scan_from": scan_from}
        )
        if not unbounded:
            con.execute(f"INSERT INTO drop_series {sql_text('metric_drops_far_previous')}", {"scan_from": scan_from})
        written += scalar(
            con,
            "INSERT INTO analytics.post_metric_drops (post_id, snapshot_time, metrics_dropped) "
            f"{sql_text('metric_drops_found')}",
        )
    con.execute("DROP TABLE drop_chunk_posts")
    con.execute("DROP TABLE drop_series")
    return int(written)


def fill_metric_drops(con) -> int:
    """Compute analytics.post_metric_drops for every post of analytics.post_snapshots (a warehouse that
    had snapshots before the table existed), a few million snapshots per statement."""
    snapshots = scalar(con, "SELECT count(*) FROM analytics.post_snapshots")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE metric_drop_posts AS "
        "SELECT DISTINCT post_id, NULL::TIMESTAMP AS snapshot_time_from FROM analytics.post_snapshots"
    )
    written = refresh_metric_drops(con, chunks=max(1, math.ceil(snapshots / ROWS_PER_STATEMENT)))
    con.execute("DROP TABLE metric_drop_posts")
    return written
