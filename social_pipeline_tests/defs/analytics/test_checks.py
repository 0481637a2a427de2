"""The analytics data-quality checks fail on bad rows, in real Dagster runs; a blocking failure stops downstream."""

import dagster as dg
import pytest

from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import GOOD, evaluation, insert, materialized, run_analytics


def test_clean_rows_pass_every_check(db_path):
    insert(db_path, *GOOD)
    result = run_analytics(db_path)
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "cumulative_metrics_never_decrease": True,
        "engagement_rate_within_bounds": True,
        "engagement_rates_plausible": True,
        "every_post_has_a_snapshot": True,
    }
    assert materialized(result) == {"post_snapshots", "post_performance"}


def test_real_but_implausible_rates_warn_are_flagged_and_do_not_block(db_path):
    insert(db_path, *GOOD)
    # p4: 7 engagements on 4 impressions (175%); p7: an old post, 5 likes on 0 impressions (the seed's 0%).
    insert(
        db_path,
        [("p4", "2026-11-16 10:00"), ("p7", "2013-05-02 10:00")],
        [("p4", "2026-11-16 12:00", 4, 5, "ok"), ("p7", "2026-11-16 12:00", 0, 5, "ok")],
    )
    result = run_analytics(db_path)
    assert evaluation(result, "engagement_rate_within_bounds").passed
    check = evaluation(result, "engagement_rates_plausible")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.description == (
        "2 posts with implausible figures: p4 (7 engagements on 4 impressions), p7 (7 engagements on 0 impressions)"
    )
    assert result.success and materialized(result) == {"post_snapshots", "post_performance"}
    con = connect(db_path, read_only=True)
    rows = con.execute(
        "SELECT post_id, engagement_rate_pct, engagement_rate_flag FROM analytics.post_performance ORDER BY post_id"
    ).fetchall()
    con.close()
    assert rows == [
        ("p1", pytest.approx(8 / 150 * 100), None),
        ("p4", 175.0, "engagements_exceed_impressions"),
        ("p7", 0.0, "engagements_without_impressions"),
    ]


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
    insert(
        db_path,
        [("p5", "2026-11-16 09:00"), ("p6", "2026-11-16 09:00")],
        [("p6", "2026-11-16 11:00", None, None, "deleted")],
    )
    result = run_analytics(db_path)
    check = evaluation(result, "every_post_has_a_snapshot")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["first_offenders"].value == ["p5"]  # p6 was deleted: not an offender
    assert result.success
