"""post_performance refreshes only the posts an hour changed: new snapshots, a changed zone, a removed collection."""

from collections.abc import Mapping

import dagster as dg
import pandas as pd
import pytest

from social_pipeline.core.analytics_queries import sql_text
from social_pipeline.core.timezones import store_account_timezones
from social_pipeline.defs.analytics.assets import post_performance, post_snapshots
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import add_post

# A row post_performance never writes: a refresh that rewrites an untouched post replaces it.
UNTOUCHED = "left alone"


@pytest.fixture
def warehouse(db_path):
    con = connect(db_path)
    # p1 and p2 of u1, p3 of u2 (published 09:00 UTC), one collection each on 2026-11-16.
    add_post(con, "p1", "u1", "2026-11-16 08:00", 100, likes=5, collected_at="2026-11-16 10:00")
    add_post(con, "p2", "u1", "2026-11-16 08:30", 200, likes=8, collected_at="2026-11-16 10:00")
    add_post(con, "p3", "u2", "2026-11-16 09:00", 300, likes=9, collected_at="2026-11-16 10:00")
    con.close()
    warehouse = WarehouseResource(database=db_path)
    refresh(warehouse)
    return warehouse


def refresh(warehouse) -> Mapping:
    result = dg.materialize([post_snapshots, post_performance], resources={"warehouse": warehouse})
    assert result.success
    return result.asset_materializations_for_node("post_performance")[0].metadata


def mark_untouched(warehouse, post_ids):
    with warehouse.get_connection() as con:
        con.execute(
            "UPDATE analytics.post_performance SET text = $t WHERE post_id IN (SELECT unnest($ids))",
            {"t": UNTOUCHED, "ids": post_ids},
        )


def performance(warehouse) -> dict:
    with warehouse.get_connection() as con:
        rows = con.execute(
            "SELECT post_id, text, impressions, likes, latest_snapshot_time, timezone, hour_local "
            "FROM analytics.post_performance ORDER BY post_id"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def add_collection(warehouse, post_id, collected_at, impressions, likes):
    with warehouse.get_connection() as con:
        con.execute(
            "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes, "
            "source, status, partition_key, written_at) VALUES ($id, $c, $i, $l, 0, 0, 0, 'test', 'ok', $key, $c)",
            {
                "id": post_id,
                "c": pd.Timestamp(collected_at),
                "i": impressions,
                "l": likes,
                "key": (pd.Timestamp(collected_at) - pd.Timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M"),
            },
        )


def test_a_new_hour_rewrites_only_the_posts_it_collected(warehouse):
    mark_untouched(warehouse, ["p1", "p2", "p3"])
    add_collection(warehouse, "p1", "2026-11-16 11:00", 150, 7)
    meta = refresh(warehouse)
    rows = performance(warehouse)
    # p1 is recomputed from its new snapshot; p2 and p3 were not written at all.
    assert rows["p1"] == ("post p1", 150, 7, pd.Timestamp("2026-11-16 11:00").to_pydatetime(), "UTC", 8)
    assert rows["p2"][0] == UNTOUCHED and rows["p3"][0] == UNTOUCHED
    assert meta["posts_refreshed"].value == 1
    assert meta["rows_written_this_run"].value == 1
    assert meta["dagster/row_count"].value == 3


def test_a_run_without_new_collections_writes_nothing(warehouse):
    mark_untouched(warehouse, ["p1", "p2", "p3"])
    meta = refresh(warehouse)
    assert [row[0] for row in performance(warehouse).values()] == [UNTOUCHED] * 3
    assert meta["posts_refreshed"].value == 0


def test_a_changed_zone_refreshes_that_accounts_posts(warehouse):
    mark_untouched(warehouse, ["p1", "p2", "p3"])
    with warehouse.get_connection() as con:
        store_account_timezones(con, {"u2": "Asia/Kolkata"}, "test", pd.Timestamp("2026-11-16 12:00"))
    meta = refresh(warehouse)
    rows = performance(warehouse)
    # p3, published 09:00 UTC, is 14:30 in Kolkata: hour 14.
    assert rows["p3"][0] == "post p3" and rows["p3"][4:] == ("Asia/Kolkata", 14)
    assert rows["p1"][0] == UNTOUCHED and rows["p2"][0] == UNTOUCHED
    assert meta["posts_refreshed"].value == 1


def test_a_removed_collection_falls_back_to_the_posts_earlier_snapshot(warehouse):
    add_collection(warehouse, "p1", "2026-11-16 11:00", 150, 7)
    refresh(warehouse)
    mark_untouched(warehouse, ["p2", "p3"])
    # A re-run of the 11:00 collection (partition 2026-11-16-10:00) found nothing: its raw rows are gone.
    with warehouse.get_connection() as con:
        con.execute("DELETE FROM raw.tweet_metrics WHERE partition_key = '2026-11-16-10:00'")
    meta = refresh(warehouse)
    rows = performance(warehouse)
    assert rows["p1"][:4] == ("post p1", 100, 5, pd.Timestamp("2026-11-16 10:00").to_pydatetime())
    assert rows["p2"][0] == UNTOUCHED and rows["p3"][0] == UNTOUCHED
    assert meta["posts_refreshed"].value == 1


def refresh_snapshots(warehouse) -> Mapping:
    result = dg.materialize([post_snapshots], resources={"warehouse": warehouse})
    assert result.success
    return result.asset_materializations_for_node("post_snapshots")[0].metadata


def collections(warehouse) -> list[tuple]:
    with warehouse.get_connection() as con:
        return con.execute("SELECT * FROM ops.post_snapshot_collections ORDER BY partition_key").fetchall()


def test_an_hour_counts_its_collections_without_scanning_the_history(warehouse):
    # The fixture's first run (an empty table) counted its one collection: 3 raw rows, 3 snapshots.
    assert collections(warehouse) == [("2026-11-16-09:00", 3, 3)]
    add_collection(warehouse, "p1", "2026-11-16 11:00", 150, 7)
    with warehouse.get_connection() as con:  # p2 gone from X: a status row, no snapshot
        con.execute(
            "INSERT INTO raw.tweet_metrics (post_id, collected_at, source, status, partition_key, written_at) "
            "VALUES ('p2', '2026-11-16 11:00', 'test', 'unavailable', '2026-11-16-10:00', '2026-11-16 11:00')"
        )
    meta = refresh_snapshots(warehouse)
    assert meta["history_scanned"].value is False
    assert collections(warehouse) == [("2026-11-16-09:00", 3, 3), ("2026-11-16-10:00", 2, 1)]
    # Nothing new: the counts still add up and stay as they are.
    assert refresh_snapshots(warehouse)["history_scanned"].value is False
    assert collections(warehouse) == [("2026-11-16-09:00", 3, 3), ("2026-11-16-10:00", 2, 1)]


def test_rows_removed_outside_the_pipeline_make_a_run_compare_every_collection(warehouse):
    add_collection(warehouse, "p1", "2026-11-16 11:00", 150, 7)
    refresh_snapshots(warehouse)
    # The 11:00 collection's rows deleted by hand: the raw total no longer adds up.
    with warehouse.get_connection() as con:
        con.execute("DELETE FROM raw.tweet_metrics WHERE partition_key = '2026-11-16-10:00'")
    meta = refresh_snapshots(warehouse)
    assert meta["history_scanned"].value is True
    assert collections(warehouse) == [("2026-11-16-09:00", 3, 3)]
    with warehouse.get_connection() as con:
        assert con.execute("SELECT count(*) FROM analytics.post_snapshots").fetchall() == [(3,)]
    assert refresh_snapshots(warehouse)["history_scanned"].value is False


def test_incremental_rows_equal_a_full_rebuild(warehouse):
    add_collection(warehouse, "p1", "2026-11-16 11:00", 150, 7)
    add_collection(warehouse, "p3", "2026-11-16 12:00", 320, 11)
    with warehouse.get_connection() as con:
        store_account_timezones(con, {"u1": "Europe/Berlin"}, "test", pd.Timestamp("2026-11-16 12:00"))
    refresh(warehouse)
    add_collection(warehouse, "p2", "2026-11-16 13:00", 260, 12)
    refresh(warehouse)
    with warehouse.get_connection() as con:
        incremental = con.execute("SELECT * FROM analytics.post_performance ORDER BY post_id").df()
        full = con.execute(f"SELECT * FROM ({sql_text('post_performance')}) ORDER BY post_id").df()
    pd.testing.assert_frame_equal(incremental, full)
    assert incremental["impressions"].tolist() == [150, 260, 320]
    assert incremental["hour_local"].tolist() == [9, 9, 9]  # Berlin is UTC+1 in November


def test_full_refresh_rewrites_every_post(warehouse):
    mark_untouched(warehouse, ["p1", "p2", "p3"])
    result = dg.materialize(
        [post_performance],
        resources={"warehouse": warehouse},
        run_config={"ops": {"post_performance": {"config": {"full_refresh": True}}}},
    )
    assert result.success
    assert [row[0] for row in performance(warehouse).values()] == ["post p1", "post p2", "post p3"]
    assert result.asset_materializations_for_node("post_performance")[0].metadata["posts_refreshed"].value == 3


def test_a_full_refresh_in_batches_keeps_every_answer(db_path):
    con = connect(db_path)
    add_post(con, "p1", "u1", "2026-11-16 08:00", 100, likes=5, collected_at="2026-11-16 10:00")
    add_post(con, "p2", "u1", "2026-11-16 09:00", 40, likes=2, collected_at="2026-11-16 12:00")
    # p1 from a second source at 10:00 (no impressions), then hourly to 11:00 + 199 h: 200 collections,
    # past the week of hours that is always one batch.
    con.execute(
        "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes, "
        "source, status, partition_key, written_at) "
        "SELECT 'p1', c, i, 5, 0, 0, 0, s, 'ok', strftime(c - INTERVAL 1 HOUR, '%Y-%m-%d-%H:%M'), c FROM ("
        "  SELECT TIMESTAMP '2026-11-16 10:00' AS c, NULL AS i, 'another' AS s UNION ALL "
        "  SELECT TIMESTAMP '2026-11-16 10:00' + to_hours(h), 100 + h, 'test' FROM range(1, 200) AS r(h))"
    )
    con.close()
    warehouse = WarehouseResource(database=db_path)

    def full_refresh(batch_rows):
        config = {"full_refresh": True, "refresh_batch_rows": batch_rows}
        result = dg.materialize(
            [post_snapshots],
            resources={"warehouse": warehouse},
            run_config={"ops": {"post_snapshots": {"config": config}}},
        )
        with warehouse.get_connection() as con:
            rows = con.execute(
                "SELECT post_id, snapshot_time, impressions, likes, source FROM analytics.post_snapshots "
                "ORDER BY post_id, snapshot_time"
            ).fetchall()
            queued = con.execute(
                "SELECT post_id, max(snapshot_time_from) FROM ops.post_refresh_queue "
                "WHERE table_name = 'analytics.post_performance' GROUP BY post_id ORDER BY post_id"
            ).fetchall()
            # Rows stored in collection order, as hourly runs append them (DuckDB skips row groups by time).
            out_of_order = con.execute(
                "SELECT count(*) FROM (SELECT snapshot_time < lag(snapshot_time) OVER (ORDER BY rowid) AS earlier "
                "FROM analytics.post_snapshots) WHERE earlier"
            ).fetchall()[0][0]
        assert out_of_order == 0
        return result.asset_materializations_for_node("post_snapshots")[0].metadata, rows, queued

    # 202 raw rows in 200 collections, batches of 50: the last one's (202 - 1) // 50 = 4, so 5 batches.
    batched_meta, batched, queued = full_refresh(50)
    whole_meta, whole, _ = full_refresh(1_000)
    assert batched_meta["refresh_batches"].value == 5 and whole_meta["refresh_batches"].value == 1
    assert batched == whole
    at = pd.Timestamp
    assert len(batched) == 201  # p1's two rows at 10:00 are one snapshot
    assert batched[0] == ("p1", at("2026-11-16 10:00"), 100, 5, "test")  # the row with impressions wins
    assert batched[199] == ("p1", at("2026-11-16 10:00") + pd.Timedelta(hours=199), 299, 5, "test")
    assert batched[200] == ("p2", at("2026-11-16 12:00"), 40, 2, "test")
    assert batched_meta["rows_written_this_run"].value == 201 and batched_meta["dagster/row_count"].value == 201
    # Each post is queued with its newest snapshot, whichever batch held it.
    assert queued == [("p1", at("2026-11-16 10:00") + pd.Timedelta(hours=199)), ("p2", at("2026-11-16 12:00"))]


def test_a_batch_of_no_rows_is_refused_by_name(db_path):
    result = dg.materialize(
        [post_snapshots],
        resources={"warehouse": WarehouseResource(database=db_path)},
        run_config={"ops": {"post_snapshots": {"config": {"refresh_batch_rows": 0}}}},
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "refresh_batch_rows must be 1 or more, got 0" in str(failure.step_failure_data.error)


def metric_drops(warehouse) -> list[tuple]:
    with warehouse.get_connection() as con:
        return con.execute(
            "SELECT post_id, strftime(snapshot_time, '%H:%M'), metrics_dropped FROM analytics.post_metric_drops "
            "ORDER BY ALL"
        ).fetchall()


def test_drops_follow_late_rerun_and_removed_collections(warehouse):
    """p1: 100 impressions and 5 likes at 10:00, 150 / 3 at 12:00 (an unlike). A late 11:00 collection
    (90 / 2) moves the drop to 11:00; removing it again puts the drop back at 12:00."""
    add_collection(warehouse, "p1", "2026-11-16 12:00", 150, 3)
    refresh(warehouse)
    assert metric_drops(warehouse) == [("p1", "12:00", "likes")]
    refresh(warehouse)  # a run with nothing new records nothing twice
    assert metric_drops(warehouse) == [("p1", "12:00", "likes")]
    add_collection(warehouse, "p1", "2026-11-16 11:00", 90, 2)
    refresh(warehouse)
    assert metric_drops(warehouse) == [("p1", "11:00", "impressions,likes")]
    with warehouse.get_connection() as con:
        con.execute("DELETE FROM raw.tweet_metrics WHERE partition_key = '2026-11-16-10:00'")
    refresh(warehouse)
    assert metric_drops(warehouse) == [("p1", "12:00", "likes")]


def test_drops_of_a_batched_full_refresh_equal_the_hourly_ones(db_path):
    """p1 collected hourly for 200 hours with likes 10, 9, 8, 10, 9, 8, ...: a drop at every hour h with
    h % 3 in (1, 2), 199 - 66 = 133 drops, however the refresh is cut."""
    con = connect(db_path)
    add_post(con, "p1", "u1", "2026-11-16 08:00", 100, likes=10, collected_at="2026-11-16 10:00")
    con.close()
    warehouse = WarehouseResource(database=db_path)
    refresh(warehouse)
    for hour in range(1, 200):
        collected_at = pd.Timestamp("2026-11-16 10:00") + pd.Timedelta(hours=hour)
        add_collection(warehouse, "p1", collected_at, 100 + hour, 10 - hour % 3)
        if hour in (1, 2, 100):  # some hours one at a time, the rest in one run
            refresh(warehouse)
    refresh(warehouse)

    def drops():
        with warehouse.get_connection() as con:
            return con.execute("SELECT * FROM analytics.post_metric_drops ORDER BY snapshot_time").fetchall()

    hourly = drops()
    assert len(hourly) == 133 and {row[2] for row in hourly} == {"likes"}
    for batch_rows in (50, 1_000):
        config = {"full_refresh": True, "refresh_batch_rows": batch_rows}
        result = dg.materialize(
            [post_snapshots],
            resources={"warehouse": warehouse},
            run_config={"ops": {"post_snapshots": {"config": config}}},
        )
        meta = result.asset_materializations_for_node("post_snapshots")[0].metadata
        assert meta["refresh_batches"].value == (4 if batch_rows == 50 else 1)
        assert meta["metric_drops_written"].value == 133
        assert drops() == hourly
