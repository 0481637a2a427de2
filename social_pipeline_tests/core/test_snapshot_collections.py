"""The newest snapshot time, read from the newest post_performance row on, equals the table's maximum
whether post_performance is up to date, behind, ahead of the snapshots (some removed) or not yet built,
and the caller's transaction stays usable."""

from datetime import datetime

import pytest

from social_pipeline.core.snapshot_collections import newest_snapshot_time
from social_pipeline.warehouse.connection import connect


@pytest.mark.parametrize(
    "performance_latest",
    [None, "2026-11-16 12:00", "2026-11-16 10:00", "2026-11-16 13:00"],
    ids=["empty", "up to date", "behind", "ahead of removed snapshots"],
)
def test_the_newest_snapshot_time_is_the_tables_maximum(db_path, performance_latest):
    con = connect(db_path)
    con.execute(
        "INSERT INTO analytics.post_snapshots (post_id, user_id, snapshot_time) VALUES "
        "('p1', 'u1', '2026-11-16 09:00'), ('p1', 'u1', '2026-11-16 12:00'), ('p2', 'u1', '2026-11-16 11:00')"
    )
    if performance_latest is not None:  # post_performance's first run creates the table
        con.execute(
            "CREATE TABLE analytics.post_performance AS SELECT 'p1' AS post_id, $t::TIMESTAMP AS latest_snapshot_time",
            {"t": performance_latest},
        )
    con.execute("BEGIN")  # callers ask inside their write transaction: it stays usable
    assert newest_snapshot_time(con) == datetime(2026, 11, 16, 12)
    con.execute("INSERT INTO ops.post_snapshot_collections VALUES ('k', 1, 1)")
    con.execute("COMMIT")
    assert con.execute("SELECT count(*) FROM ops.post_snapshot_collections").fetchall() == [(1,)]
    con.close()
