"""The data-quality checks fail on bad rows, in real Dagster runs; a blocking failure stops downstream."""

import dagster as dg
import pytest

from social_pipeline.defs.common import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from social_pipeline.defs.analytics import assets as analytics
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect

from social_pipeline_tests.defs.ingestion.test_assets import ASSETS, LAST_KEY, with_hours
from social_pipeline.defs.analytics.checks import engagement_rate_within_bounds, engagement_rates_plausible, every_post_has_a_snapshot
from social_pipeline.defs.ingestion.checks import counts_are_non_negative, cumulative_metrics_never_decrease

ANALYTICS_CHECKS = [cumulative_metrics_never_decrease, engagement_rate_within_bounds,
                    engagement_rates_plausible, every_post_has_a_snapshot]


def insert(db_path, posts=(), metrics=()):
    """posts: (post_id, published_at); metrics: (post_id, collected_at, impressions, likes, status)."""
    con = connect(db_path)
    try:
        for post_id, published in posts:
            con.execute("INSERT INTO raw.posts (post_id, user_id, text, published_at, source, ingested_at) "
                        "VALUES (?, 'u1', 'hi', ?::TIMESTAMP, 'test', now())", [post_id, published])
        for post_id, collected, impressions, likes, status in metrics:
            con.execute(
                "INSERT INTO raw.tweet_metrics (post_id, collected_at, impressions, likes, retweets, replies, "
                "quotes, source, status, partition_key, written_at) "
                "VALUES (?, ?::TIMESTAMP, ?, ?, 1, 1, 0, 'test', ?, strftime(?::TIMESTAMP, '%Y-%m-%d-%H:00'), now())",
                [post_id, collected, impressions, likes, status, collected])
    finally:
        con.close()


def run_analytics(db_path):
    return dg.materialize([analytics.post_snapshots, analytics.post_performance, *ANALYTICS_CHECKS],
                          resources={"warehouse": WarehouseResource(database=db_path)}, raise_on_error=False)


def evaluation(result, name):
    [found] = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return found


def materialized(result):
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


GOOD = [("p1", "2026-11-16 10:00")], [("p1", "2026-11-16 11:00", 100, 5, "ok"), ("p1", "2026-11-16 12:00", 150, 6, "ok")]


def test_clean_rows_pass_every_check(db_path):
    insert(db_path, *GOOD)
    result = run_analytics(db_path)
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "cumulative_metrics_never_decrease": True, "engagement_rate_within_bounds": True,
        "engagement_rates_plausible": True, "every_post_has_a_snapshot": True}
    assert materialized(result) == {"post_snapshots", "post_performance"}


def test_a_drop_in_likes_warns_names_the_post_and_does_not_block(db_path):
    insert(db_path, *GOOD)
    insert(db_path, [("p2", "2026-11-16 10:00")],
           [("p2", "2026-11-16 11:00", 100, 9, "ok"), ("p2", "2026-11-16 12:00", 120, 8, "ok")])  # an unlike
    result = run_analytics(db_path)
    check = evaluation(result, "cumulative_metrics_never_decrease")
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.description == "1 posts whose metrics decreased: p2 (likes at 2026-11-16 12:00:00)"
    assert check.metadata["offending_count"].value == 1
    # Not blocking: the run goes on and post_performance is still built.
    assert result.success and "post_performance" in materialized(result)


def test_a_drop_older_than_the_lookback_no_longer_fails(db_path):
    insert(db_path, [("p1", "2026-11-01 10:00")],
           [("p1", "2026-11-01 11:00", 100, 6, "ok"), ("p1", "2026-11-01 12:00", 120, 5, "ok"),  # an unlike
            ("p1", "2026-11-16 12:00", 150, 5, "ok")])  # 15 days later: the drop is old news
    check = evaluation(run_analytics(db_path), "cumulative_metrics_never_decrease")
    assert check.passed


def test_a_drop_in_impressions_is_an_error(db_path):
    insert(db_path, [("p3", "2026-11-16 10:00")],
           [("p3", "2026-11-16 11:00", 100, 5, "ok"), ("p3", "2026-11-16 12:00", 90, 5, "ok")])
    check = evaluation(run_analytics(db_path), "cumulative_metrics_never_decrease")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "p3 (impressions at" in check.description


def test_real_but_implausible_rates_warn_are_flagged_and_do_not_block(db_path):
    insert(db_path, *GOOD)
    # p4: 7 engagements on 4 impressions (175%); p7: an old post, 5 likes on 0 impressions (the seed's 0%).
    insert(db_path, [("p4", "2026-11-16 10:00"), ("p7", "2013-05-02 10:00")],
           [("p4", "2026-11-16 12:00", 4, 5, "ok"), ("p7", "2026-11-16 12:00", 0, 5, "ok")])
    result = run_analytics(db_path)
    assert evaluation(result, "engagement_rate_within_bounds").passed
    check = evaluation(result, "engagement_rates_plausible")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.description == ("2 posts with implausible figures: p4 (7 engagements on 4 impressions), "
                                 "p7 (7 engagements on 0 impressions)")
    assert result.success and materialized(result) == {"post_snapshots", "post_performance"}
    con = connect(db_path, read_only=True)
    rows = con.execute("SELECT post_id, engagement_rate_pct, engagement_rate_flag FROM analytics.post_performance "
                       "ORDER BY post_id").fetchall()
    con.close()
    assert rows == [("p1", pytest.approx(8 / 150 * 100), None), ("p4", 175.0, "engagements_exceed_impressions"),
                    ("p7", 0.0, "engagements_without_impressions")]


def test_an_impossible_rate_still_blocks_post_performance(db_path):
    insert(db_path, *GOOD)
    insert(db_path, [("p8", "2026-11-16 10:00")], [("p8", "2026-11-16 12:00", 10, -20, "ok")])  # -18 / 10
    result = run_analytics(db_path)
    check = evaluation(result, "engagement_rate_within_bounds")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["first_offenders"].value == ["p8"]
    assert not result.success
    assert materialized(result) == {"post_snapshots"}


def test_a_post_without_snapshot_warns_unless_the_source_reported_it_gone(db_path):
    insert(db_path, *GOOD)
    insert(db_path, [("p5", "2026-11-16 09:00"), ("p6", "2026-11-16 09:00")],
           [("p6", "2026-11-16 11:00", None, None, "deleted")])
    result = run_analytics(db_path)
    check = evaluation(result, "every_post_has_a_snapshot")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["first_offenders"].value == ["p5"]  # p6 was deleted: not an offender
    assert result.success


def test_a_negative_count_stops_the_downstream_analytics(resources, db_path):
    selection = [*ASSETS, counts_are_non_negative]
    tags = {PARTITION_RANGE_START_TAG: LAST_KEY, PARTITION_RANGE_END_TAG: LAST_KEY}
    # Control: the same run on clean data builds everything.
    clean = dg.materialize(selection, resources=resources, tags=tags, instance=with_hours(LAST_KEY))
    assert "post_performance" in materialized(clean)
    assert evaluation(clean, "counts_are_non_negative").passed

    insert(db_path, metrics=[("bad", "2026-11-16 12:00", -3, 1, "ok")])  # an older collection
    result = dg.materialize(selection, resources=resources, tags=tags, raise_on_error=False,
                            instance=with_hours(LAST_KEY))
    check = evaluation(result, "counts_are_non_negative")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["first_offenders"].value == ["bad"]
    assert not result.success
    assert "raw_tweet_metrics" in materialized(result)
    assert not {"post_snapshots", "post_performance"} & materialized(result)
