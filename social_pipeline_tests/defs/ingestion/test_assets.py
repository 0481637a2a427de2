"""Real Dagster runs of the ingestion and analytics assets on a temporary DuckDB file."""

import dagster as dg
import duckdb
import pandas as pd
import pytest

from social_pipeline.core.collection import collection_keys
from social_pipeline.core.metrics import engagement_rate_pct, weighted_engagement_score
from social_pipeline.defs.analytics import assets as analytics
from social_pipeline.defs.common import HOURLY_PARTITIONS, add_partition_keys
from social_pipeline.defs.ingestion import assets as ingestion
from social_pipeline.defs.ml.sensors import retrain_on_new_labels
from social_pipeline.resources.sources import SimulatedSourceResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.sources.simulated import SimulatedSource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import CLOCK, FIRST_KEY, LAST_KEY, collect, file_stores_under, with_hours


def table(db_path, sql):
    con = duckdb.connect(db_path, read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture
def collected(resources, db_path):
    collect(resources)
    return db_path


def test_history_lands_with_correct_values(collected):
    posts = table(collected, "SELECT * FROM raw.posts")
    expected_posts = SimulatedSource().fetch_posts(SimulatedSource().user_ids(), CLOCK - pd.Timedelta(days=3), CLOCK)
    assert sorted(posts.post_id) == sorted(expected_posts.post_id)
    assert len(posts) > 10

    snapshots = table(collected, "SELECT * FROM analytics.post_snapshots")
    raw = table(collected, "SELECT * FROM raw.tweet_metrics WHERE status = 'ok'")
    assert len(snapshots) == len(raw) > 0
    assert not snapshots.duplicated(["post_id", "snapshot_time"]).any()
    # Every collection is one of the 72 hourly ones, and only of posts already published.
    assert snapshots.snapshot_time.min() >= pd.Timestamp("2026-11-15 13:00")
    assert snapshots.snapshot_time.max() == CLOCK
    assert (snapshots.snapshot_time.dt.minute == 0).all()
    assert (snapshots.hours_since_published > 0).all()

    # The formulas, recomputed in Python row by row, agree with the SQL. The Bluesky account counts no
    # impressions: its rate is per follower at posting time (the newest hourly figure at or before it).
    followers = table(collected, "SELECT user_id, collected_at, followers FROM raw.account_snapshots")
    published = posts[["post_id", "user_id", "published_at"]].sort_values("published_at")
    at_post = (
        pd.merge_asof(
            published,
            followers.sort_values("collected_at"),
            left_on="published_at",
            right_on="collected_at",
            by="user_id",
        )
        .set_index("post_id")
        .followers
    )
    assert set(snapshots.engagement_basis) == {"impressions", "followers"}
    assert (snapshots.engagement_basis == snapshots.network.map({"x": "impressions", "bluesky": "followers"})).all()
    expected_rate = [
        engagement_rate_pct(
            r.likes, r.retweets, r.replies, r.quotes, r.impressions if r.network == "x" else at_post[r.post_id]
        )
        for r in snapshots.itertuples()
    ]
    expected_score = [
        weighted_engagement_score(r.likes, r.retweets, r.replies, r.quotes) for r in snapshots.itertuples()
    ]
    assert snapshots.engagement_rate_pct.tolist() == pytest.approx(expected_rate)
    assert snapshots.weighted_engagement_score.tolist() == expected_score

    # The figures are the simulated source's at each collection time.
    sample = snapshots.sort_values(["snapshot_time", "post_id"]).iloc[[0, len(snapshots) // 2, -1]]
    truth = SimulatedSource().simulation.metrics_at(sample.post_id, sample.snapshot_time)
    assert sample.impressions.tolist() == truth.impressions.tolist()
    assert sample.likes.tolist() == truth.likes.tolist()

    performance = table(collected, "SELECT * FROM analytics.post_performance")
    assert len(performance) == performance.post_id.nunique() == len(posts)
    latest = snapshots.sort_values("snapshot_time").groupby("post_id").tail(1).set_index("post_id")
    joined = performance.set_index("post_id").join(latest, suffixes=("", "_latest"))
    assert (joined.impressions == joined.impressions_latest).all()
    assert (joined.latest_snapshot_time == CLOCK).all()  # every post younger than 7 days: hourly
    assert (joined.day_of_week_utc == joined.published_at.dt.day_of_week).all()
    assert (joined.hour_utc == joined.published_at.dt.hour).all()

    accounts = table(collected, "SELECT * FROM raw.account_snapshots")
    assert len(accounts) == 4 * 72
    activity = table(collected, "SELECT * FROM raw.profile_activity")
    assert sorted(activity.snapshot_date.astype(str).unique()) == ["2026-11-15", "2026-11-16", "2026-11-17"]


def test_rerunning_a_partition_replaces_it(collected, resources):
    tables = [
        "raw.posts",
        "raw.tweet_metrics",
        "raw.account_snapshots",
        "raw.profile_activity",
        "analytics.post_snapshots",
        "analytics.post_performance",
    ]
    order = {
        "raw.posts": "post_id",
        "raw.tweet_metrics": "post_id, collected_at",
        "raw.account_snapshots": "user_id, collected_at",
        "raw.profile_activity": "user_id, snapshot_date",
        "analytics.post_snapshots": "post_id, snapshot_time",
        "analytics.post_performance": "post_id",
    }
    volatile = ["ingested_at", "written_at", "source_written_at"]

    def snapshot():
        return {
            t: table(collected, f"SELECT * FROM {t} ORDER BY {order[t]}").drop(columns=volatile, errors="ignore")
            for t in tables
        }

    before = snapshot()
    collect(resources, "2026-11-17-05:00", "2026-11-17-05:00")
    collect(resources, LAST_KEY, LAST_KEY)
    after = snapshot()
    for name in tables:
        pd.testing.assert_frame_equal(before[name], after[name], obj=name)


def test_rerunning_a_day_key_replaces_exactly_the_rows_of_its_hours(resources, db_path):
    # 2026-11-15 12:00 .. CLOCK as make run keys it: 12 hours, the days 2026-11-16 and -17, 12 hours.
    keys = collection_keys(pd.Timestamp("2026-11-15 12:00"), CLOCK)
    assert keys[11:14] == ["2026-11-15-23:00", "2026-11-16", "2026-11-17"] and len(keys) == 26
    instance = dg.DagsterInstance.ephemeral()
    add_partition_keys(instance, HOURLY_PARTITIONS, keys)
    collect(resources, keys[0], keys[-1], instance=instance)
    query = (
        "SELECT partition_key, count(*) AS n, max(written_at) AS written FROM raw.tweet_metrics GROUP BY 1 ORDER BY 1"
    )
    before = table(db_path, query)
    collect(resources, "2026-11-16", "2026-11-16", assets=[ingestion.raw_tweet_metrics], instance=instance)
    after = table(db_path, query)
    # Rows stay stamped with their collection hour; each hour keeps its count.
    pd.testing.assert_frame_equal(before.drop(columns="written"), after.drop(columns="written"))
    rewritten = set(after.partition_key[after.written > before.written.max()])
    assert rewritten == {f"2026-11-16-{h:02d}:00" for h in range(24)}


def test_zero_impressions_and_missing_quotes_by_hand(db_path):
    con = connect(db_path)
    con.execute("""
        INSERT INTO raw.posts (post_id, user_id, text, content_type, media_type, num_media_items,
                               published_at, source, ingested_at)
        VALUES ('p1', 'u1', 'hello', 'text', 'none', 0, TIMESTAMP '2026-11-16 10:00', 'test', now()),
               ('p2', 'u1', 'again', 'image', 'image', 1, TIMESTAMP '2026-11-16 11:30', 'test', now())
    """)
    con.execute("""
        INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes,
                                       source, status, partition_key, written_at)
        VALUES ('p1', TIMESTAMP '2026-11-16 12:00', 0, 0, 0, 0, 0, 'test', 'ok', '2026-11-16-11:00', now()),
               ('p2', TIMESTAMP '2026-11-16 12:00', 200, 7, 2, 1, NULL, 'test', 'ok', '2026-11-16-11:00', now()),
               ('p2', TIMESTAMP '2026-11-16 13:00', NULL, NULL, NULL, NULL, NULL, 'test', 'deleted',
                '2026-11-16-12:00', now())
    """)
    con.close()
    dg.materialize(
        [analytics.post_snapshots, analytics.post_performance],
        resources={"warehouse": WarehouseResource(database=db_path)},
    )
    rows = table(db_path, "SELECT * FROM analytics.post_snapshots ORDER BY post_id").set_index("post_id")
    assert list(rows.index) == ["p1", "p2"]  # the 'deleted' report is not a snapshot
    assert rows.loc["p1", "engagement_rate_pct"] == 0.0
    assert rows.loc["p2", "engagements"] == 10
    assert rows.loc["p2", "engagement_rate_pct"] == pytest.approx(5.0)
    assert rows.loc["p2", "weighted_engagement_score"] == 7 + 4 + 3
    assert rows.loc["p2", "hours_since_published"] == pytest.approx(0.5)
    assert pd.isna(rows.loc["p2", "quotes"])  # unknown stays unknown


class BrokenSource(SimulatedSource):
    """Reports metrics for a post without an id: the insert fails part-way through the write."""

    def fetch_metrics(self, requests):
        batch = super().fetch_metrics(requests)
        batch.frame.loc[batch.frame.index[-1], "post_id"] = None
        return batch


class BrokenSourceResource(SimulatedSourceResource):
    def get_source(self):
        return BrokenSource()


def test_failed_write_leaves_tables_as_they_were(collected, db_path):
    before = table(db_path, "SELECT * FROM raw.tweet_metrics ORDER BY post_id, collected_at")
    result = dg.materialize(
        [ingestion.raw_tweet_metrics],
        resources={
            "warehouse": WarehouseResource(database=db_path),
            "source": BrokenSourceResource(clock=str(CLOCK), history_days=3),
        },
        partition_key=LAST_KEY,
        raise_on_error=False,
        instance=with_hours(LAST_KEY),
    )
    assert not result.success
    after = table(db_path, "SELECT * FROM raw.tweet_metrics ORDER BY post_id, collected_at")
    pd.testing.assert_frame_equal(before, after)


class NegativeSource(SimulatedSource):
    def fetch_metrics(self, requests):
        batch = super().fetch_metrics(requests)
        batch.frame["likes"] = batch.frame["likes"].astype("Int64") * -1 - 1
        return batch


class NegativeSourceResource(SimulatedSourceResource):
    def get_source(self):
        return NegativeSource()


def test_negative_counts_are_refused_and_logged(collected, db_path):
    instance = with_hours(LAST_KEY)
    result = dg.materialize(
        [ingestion.raw_tweet_metrics],
        resources={
            "warehouse": WarehouseResource(database=db_path),
            "source": NegativeSourceResource(clock=str(CLOCK), history_days=3),
        },
        partition_key=LAST_KEY,
        instance=instance,
    )
    rows = table(db_path, f"SELECT * FROM raw.tweet_metrics WHERE partition_key = '{LAST_KEY}'")
    assert len(rows) > 0 and rows.likes.isna().all()
    assert rows[rows.network == "x"].impressions.notna().all()
    assert rows[rows.network == "bluesky"].impressions.isna().all()
    events = result.get_asset_materialization_events()[0].materialization.metadata
    assert events["rejected_counts"].value == len(rows)
    warnings = [e.user_message for e in instance.all_logs(result.run_id) if "rejected count" in e.user_message]
    assert warnings and "is negative" in warnings[0]


def test_definitions_load_and_validate():
    from social_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "raw_posts",
        "raw_tweet_metrics",
        "raw_account_snapshots",
        "raw_profile_activity",
        "post_snapshots",
        "post_performance",
    } <= keys
    job = defs.resolve_job_def("hourly_collection")
    assert job.partitions_def is not None


def test_posts_reported_unavailable_are_not_requested_again(resources, db_path):
    collect(resources, FIRST_KEY, "2026-11-18-10:00")
    con = connect(db_path)
    due_last_hour = [
        r[0]
        for r in con.execute(
            "SELECT post_id FROM raw.tweet_metrics WHERE collected_at = TIMESTAMP '2026-11-18 11:00' ORDER BY 1"
        ).fetchall()
    ]
    deleted, protected, missing, came_back = due_last_hour[:4]
    for post_id, status in [(deleted, "deleted"), (protected, "protected"), (missing, "not_found")]:
        con.execute(
            "UPDATE raw.tweet_metrics SET status = ? WHERE post_id = ? AND collected_at = TIMESTAMP '2026-11-18 11:00'",
            [status, post_id],
        )
    # Protected once, then readable again in the latest report: still collected.
    con.execute(
        "UPDATE raw.tweet_metrics SET status = 'protected' WHERE post_id = ? "
        "AND collected_at = TIMESTAMP '2026-11-18 10:00'",
        [came_back],
    )
    con.close()

    for _ in range(2):  # a re-run of the partition asks for the same posts
        result = dg.materialize(
            [ingestion.raw_tweet_metrics], resources=resources, partition_key=LAST_KEY, instance=with_hours(LAST_KEY)
        )
        requested = table(db_path, f"SELECT post_id FROM raw.tweet_metrics WHERE partition_key = '{LAST_KEY}'")
        assert set(requested.post_id) == set(due_last_hour) - {deleted, protected, missing}
        assert came_back in set(requested.post_id)
        metadata = result.get_asset_materialization_events()[0].materialization.metadata
        assert metadata["posts_due"].value == len(due_last_hour) - 3


def test_date_only_posts_have_no_age_and_no_settled_label(db_path, tmp_path):
    from social_pipeline.core.publish import publish_copy

    con = connect(db_path)
    # Both published on 2026-11-13; the export gives d1 only its date (stored as midnight).
    con.execute("""
        INSERT INTO raw.posts (post_id, user_id, text, published_at, published_time_known, source, ingested_at)
        VALUES ('t1', 'u1', 'timed', TIMESTAMP '2026-11-13 10:00', TRUE, 'test', now()),
               ('d1', 'u1', 'dated', TIMESTAMP '2026-11-13 00:00', FALSE, 'test', now())
    """)
    # Both collected 72.5 h after t1's publication: 82.5 h after d1's assumed midnight.
    con.execute("""
        INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, quotes,
                                       source, status, partition_key, written_at)
        SELECT post_id, TIMESTAMP '2026-11-16 10:30', 100, 5, 1, 1, 0, 'test', 'ok', '2026-11-16-09:00', now()
        FROM (VALUES ('t1'), ('d1')) AS v(post_id)
    """)
    con.close()
    result = dg.materialize(
        [analytics.post_snapshots, analytics.post_performance],
        resources={"warehouse": WarehouseResource(database=db_path)},
    )
    assert result.success
    snapshots = table(db_path, "SELECT * FROM analytics.post_snapshots").set_index("post_id")
    assert snapshots.loc["t1", "hours_since_published"] == pytest.approx(72.5)
    assert pd.isna(snapshots.loc["d1", "hours_since_published"])
    performance = table(db_path, "SELECT * FROM analytics.post_performance").set_index("post_id")
    assert pd.isna(performance.loc["d1", "hours_since_published"]) and pd.isna(performance.loc["d1", "hour_utc"])
    assert performance.loc["d1", "impressions"] == 100  # its figures are still there
    assert performance.loc["t1", "hours_since_published"] == pytest.approx(72.5)

    # The retrain sensor counts t1 as newly settled, not d1 (the training set cannot use it).
    bi = tmp_path / "bi.duckdb"
    con = connect(db_path)
    publish_copy(con, bi)
    con.close()
    skipped = retrain_on_new_labels(
        dg.build_sensor_context(resources={"file_stores": file_stores_under(tmp_path, bi_database=str(bi))})
    )
    assert skipped.skip_message.startswith("1 newly settled posts")
