"""The ingestion data-quality checks fail on bad rows, in real Dagster runs; a blocking failure stops downstream."""

import dagster as dg

from social_pipeline.defs.common import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from social_pipeline.defs.ingestion.checks import counts_are_non_negative
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import (
    ASSETS,
    GOOD,
    LAST_KEY,
    evaluation,
    insert,
    materialized,
    run_analytics,
    with_hours,
)


def test_a_drop_in_likes_warns_names_the_post_and_does_not_block(db_path):
    insert(db_path, *GOOD)
    insert(
        db_path,
        [("p2", "2026-11-16 10:00")],
        [("p2", "2026-11-16 11:00", 100, 9, "ok"), ("p2", "2026-11-16 12:00", 120, 8, "ok")],
    )  # an unlike
    result = run_analytics(db_path)
    check = evaluation(result, "cumulative_metrics_never_decrease")
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.description == "1 posts whose metrics decreased: p2 (likes at 2026-11-16 12:00:00)"
    assert check.metadata["offending_count"].value == 1
    # Not blocking: the run goes on and post_performance is still built.
    assert result.success and "post_performance" in materialized(result)


def test_a_drop_older_than_the_lookback_no_longer_fails(db_path):
    insert(
        db_path,
        [("p1", "2026-11-01 10:00")],
        [
            ("p1", "2026-11-01 11:00", 100, 6, "ok"),
            ("p1", "2026-11-01 12:00", 120, 5, "ok"),  # an unlike
            ("p1", "2026-11-16 12:00", 150, 5, "ok"),
        ],
    )  # 15 days later: the drop is old news
    check = evaluation(run_analytics(db_path), "cumulative_metrics_never_decrease")
    assert check.passed


def test_a_drop_in_impressions_is_an_error(db_path):
    insert(
        db_path,
        [("p3", "2026-11-16 10:00")],
        [("p3", "2026-11-16 11:00", 100, 5, "ok"), ("p3", "2026-11-16 12:00", 90, 5, "ok")],
    )
    check = evaluation(run_analytics(db_path), "cumulative_metrics_never_decrease")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "p3 (impressions at" in check.description


def test_a_negative_count_stops_the_downstream_analytics(resources, db_path):
    selection = [*ASSETS, counts_are_non_negative]
    tags = {PARTITION_RANGE_START_TAG: LAST_KEY, PARTITION_RANGE_END_TAG: LAST_KEY}
    # Control: the same run on clean data builds everything.
    clean = dg.materialize(selection, resources=resources, tags=tags, instance=with_hours(LAST_KEY))
    assert "post_performance" in materialized(clean)
    assert evaluation(clean, "counts_are_non_negative").passed

    insert(db_path, metrics=[("bad", "2026-11-16 12:00", -3, 1, "ok")])  # an older collection
    result = dg.materialize(
        selection, resources=resources, tags=tags, raise_on_error=False, instance=with_hours(LAST_KEY)
    )
    check = evaluation(result, "counts_are_non_negative")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["first_offenders"].value == ["bad"]
    assert not result.success
    assert "raw_tweet_metrics" in materialized(result)
    assert not {"post_snapshots", "post_performance"} & materialized(result)


def test_a_drop_from_the_last_snapshot_before_the_lookback_is_caught(db_path):
    """The lookback's first snapshot is compared with the one before the lookback (9 likes, then 8)."""
    insert(
        db_path,
        [("p4", "2026-11-01 10:00")],
        [("p4", "2026-11-01 11:00", 100, 9, "ok"), ("p4", "2026-11-16 12:00", 150, 8, "ok")],
    )
    check = evaluation(run_analytics(db_path), "cumulative_metrics_never_decrease")
    assert not check.passed
    assert check.description == "1 posts whose metrics decreased: p4 (likes at 2026-11-16 12:00:00)"


def _decreases(db_path, posts, metrics):
    insert(db_path, posts, metrics)
    return evaluation(run_analytics(db_path), "cumulative_metrics_never_decrease")


def test_a_drop_against_a_snapshot_months_before_the_lookback_is_caught(db_path):
    """Newest snapshot 2026-11-16 12:00: the lookback starts 11-09 12:00. p5's last snapshot before it
    is two months older (a gap in its collections, 10 likes), p6's is a day before it (4 likes, after 9
    likes in September: that old drop is not reported, and 4 -> 5 is no drop), p7 is a date-only post
    whose midnight (11-02) follows a snapshot taken 11-01 11:30 (7 likes, then 6)."""
    check = _decreases(
        db_path,
        [("p5", "2026-09-01 10:00"), ("p6", "2026-09-01 10:00"), ("p7", "2026-11-02 00:00")],
        [
            ("p5", "2026-09-10 00:00", 300, 10, "ok"),
            ("p5", "2026-11-16 12:00", 400, 9, "ok"),
            ("p6", "2026-09-10 00:00", 300, 9, "ok"),
            ("p6", "2026-11-08 12:00", 350, 4, "ok"),
            ("p6", "2026-11-16 12:00", 400, 5, "ok"),
            ("p7", "2026-11-01 11:30", 100, 7, "ok"),
            ("p7", "2026-11-16 12:00", 200, 6, "ok"),
        ],
    )
    assert not check.passed
    assert check.description == (
        "2 posts whose metrics decreased: p5 (likes at 2026-11-16 12:00:00), p7 (likes at 2026-11-16 12:00:00)"
    )


def test_a_late_row_before_the_lookback_is_compared_on_the_next_run(db_path):
    """p8 had 5 likes in September and 6 now; a late collection of 11-05 (8 likes, written after the first
    run) sits just before the lookback: the next run sees 8 -> 6."""
    assert _decreases(
        db_path,
        [("p8", "2026-09-01 10:00")],
        [("p8", "2026-09-10 00:00", 300, 5, "ok"), ("p8", "2026-11-16 12:00", 400, 6, "ok")],
    ).passed
    check = _decreases(db_path, [], [("p8", "2026-11-05 00:00", 350, 8, "ok")])
    assert check.description == "1 posts whose metrics decreased: p8 (likes at 2026-11-16 12:00:00)"


def test_a_replaced_collection_before_the_lookback_is_compared_with_its_new_figures(db_path):
    """p9's collection of 11-05 is collected again (its raw rows replaced, as a re-run does) with 9 likes
    instead of 4: the first snapshot of the lookback (7 likes) now follows a higher figure."""
    assert _decreases(
        db_path,
        [("p9", "2026-09-01 10:00")],
        [("p9", "2026-11-05 00:00", 300, 4, "ok"), ("p9", "2026-11-16 12:00", 400, 7, "ok")],
    ).passed
    con = connect(db_path)
    try:
        con.execute("DELETE FROM raw.tweet_metrics WHERE post_id = 'p9' AND collected_at = '2026-11-05 00:00'")
    finally:
        con.close()
    check = _decreases(db_path, [], [("p9", "2026-11-05 00:00", 300, 9, "ok")])
    assert check.description == "1 posts whose metrics decreased: p9 (likes at 2026-11-16 12:00:00)"
