"""post_lifecycle on a hand-built history with gaps: ages, shares, half-life and incremental refresh."""

import dagster as dg
import pandas as pd
import pytest

from social_pipeline.defs.analytics.assets import post_snapshots
from social_pipeline.defs.analytics.lifecycle import post_lifecycle
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import connect
from social_pipeline_tests.helpers import LIFECYCLE_HISTORY as HISTORY
from social_pipeline_tests.helpers import LIFECYCLE_YOUNG_PUBLISHED as YOUNG_PUBLISHED
from social_pipeline_tests.helpers import add_lifecycle_post, add_lifecycle_snapshot


@pytest.fixture
def warehouse(db_path):
    con = connect(db_path)
    for post_id, published_at, snapshots in HISTORY:
        add_lifecycle_post(con, post_id, published_at)
        for age, impressions in snapshots:
            add_lifecycle_snapshot(con, post_id, published_at, age, impressions)
    con.close()
    return WarehouseResource(database=db_path)


def add_snapshot(db_path, *args, **kwargs):
    """One more raw snapshot (add_lifecycle_snapshot's arguments) written on a connection of its own."""
    con = connect(db_path)
    add_lifecycle_snapshot(con, *args, **kwargs)
    con.close()


def run(warehouse):
    result = dg.materialize([post_snapshots, post_lifecycle], resources={"warehouse": warehouse})
    assert result.success
    return result.asset_materializations_for_node("post_lifecycle")[0].metadata


def rows(warehouse, query):
    with warehouse.get_connection() as con:
        return con.execute(query).fetchall()


def test_ages_come_from_the_newest_snapshot_at_or_before_each_age(warehouse):
    run(warehouse)
    lifecycle = rows(
        warehouse,
        "SELECT post_id, age_hours, snapshot_age_hours, impressions, engagements "
        "FROM analytics.post_lifecycle ORDER BY post_id, age_hours",
    )
    assert lifecycle == [
        # a: the 72 h figures are those of 30 h, the 168 h ones those of 100 h (the 170 h snapshot is later).
        ("a", 1, 0.5, 50, 5),
        ("a", 3, 2.0, 200, 20),
        ("a", 6, 5.5, 400, 40),
        ("a", 24, 23.0, 700, 70),
        ("a", 72, 30.0, 800, 80),
        ("a", 168, 100.0, 950, 95),
        ("b", 1, 1.0, 100, 10),
        ("b", 3, 3.0, 300, 30),
        ("b", 6, 6.0, 500, 50),
        ("b", 24, 24.0, 800, 80),
        ("b", 72, 72.0, 900, 90),
        ("b", 168, 168.0, 1000, 100),
        # c has been observed up to 2 h: only its 1 h row exists.
        ("c", 1, 0.5, 10, 1),
    ]


def test_typical_curve_is_the_median_share_and_half_life_the_median_post(warehouse):
    run(warehouse)
    curve = rows(
        warehouse,
        "SELECT age_hours, posts, round(median_share_of_week_impressions, 6), "
        "round(p10_share_of_week_impressions, 6), round(p90_share_of_week_impressions, 6), "
        "half_life_hours FROM analytics.account_lifecycle_curves WHERE user_id = 'u1' "
        "ORDER BY age_hours",
    )
    # a's shares are x / 950, b's x / 1000. A share counts where the snapshot is within 15 minutes or a
    # tenth of the age: a's 1 h (0.5 h), 3 h (2 h) and 72 h (30 h) rows are too far from their age.
    both = {age: sorted([a / 950, b / 1000]) for age, a, b in [(6, 400, 500), (24, 700, 800), (168, 950, 1000)]}
    expected = {age: (2, sum(s) / 2, s[0] + 0.1 * (s[1] - s[0]), s[0] + 0.9 * (s[1] - s[0])) for age, s in both.items()}
    expected |= {age: (1, share, share, share) for age, share in [(1, 0.1), (3, 0.3), (72, 0.9)]}
    # Half-lives: a reaches 475 first at its 23 h snapshot, b 500 at 6 h; the median is 14.5 h.
    assert curve == [(age, n, *(round(v, 6) for v in shares), 14.5) for age, (n, *shares) in sorted(expected.items())]


def test_each_posts_half_life_is_stored_on_its_week_row(warehouse):
    run(warehouse)
    # a reaches half of its 950 (475) first at its 23 h snapshot, b half of 1000 at 6 h; c has no week row.
    assert rows(
        warehouse,
        "SELECT post_id, age_hours, half_life_hours FROM analytics.post_lifecycle "
        "WHERE half_life_hours IS NOT NULL OR age_hours = 168 ORDER BY post_id",
    ) == [("a", 168, 23.0), ("b", 168, 6.0)]


def test_only_posts_with_new_snapshots_are_recomputed(warehouse, db_path):
    first = run(warehouse)
    assert first["posts_refreshed"].value == 3
    assert run(warehouse)["posts_refreshed"].value == 0
    add_snapshot(db_path, "c", YOUNG_PUBLISHED, 3.5, 60, written_at=YOUNG_PUBLISHED + pd.Timedelta(hours=4))
    again = run(warehouse)
    assert again["posts_refreshed"].value == 1
    assert rows(
        warehouse,
        "SELECT age_hours, snapshot_age_hours, impressions FROM analytics.post_lifecycle "
        "WHERE post_id = 'c' ORDER BY age_hours",
    ) == [(1, 0.5, 10), (3, 2.0, 40)]


def test_a_post_past_its_week_is_compared_again_only_for_a_snapshot_within_the_week(warehouse, db_path):
    run(warehouse)
    published_a = HISTORY[0][1]
    later = YOUNG_PUBLISHED + pd.Timedelta(hours=5)
    # a (observed for its week) is collected again at 200 h: its rows read nothing past 168 h.
    add_snapshot(db_path, "a", published_a, 200, 1100, written_at=later)
    week_done = run(warehouse)
    assert (week_done["posts_compared"].value, week_done["posts_refreshed"].value) == (0, 0)
    # A late row at 50 h is within the week: a is compared and its 72 h row now reads it.
    add_snapshot(db_path, "a", published_a, 50, 850, written_at=later + pd.Timedelta(hours=1))
    late = run(warehouse)
    assert (late["posts_compared"].value, late["posts_refreshed"].value) == (1, 1)
    assert rows(
        warehouse,
        "SELECT snapshot_age_hours, impressions FROM analytics.post_lifecycle WHERE post_id = 'a' AND age_hours = 72",
    ) == [(50.0, 850)]


def test_curves_are_recomputed_only_for_a_change_to_a_post_observed_for_the_week(warehouse, db_path):
    run(warehouse)
    curves_query = "SELECT * FROM analytics.account_lifecycle_curves ORDER BY user_id, age_hours"
    # c is younger than the week: its new snapshot cannot change u1's curve.
    add_snapshot(db_path, "c", YOUNG_PUBLISHED, 3.5, 60, written_at=YOUNG_PUBLISHED + pd.Timedelta(hours=4))
    young = run(warehouse)
    assert (young["posts_refreshed"].value, young["accounts_refreshed"].value) == (1, 0)
    # a (observed for the week) gets an earlier 6 h figure: u1's curve is recomputed, as a full rebuild has it.
    published_a = HISTORY[0][1]
    add_snapshot(db_path, "a", published_a, 6, 450, written_at=YOUNG_PUBLISHED + pd.Timedelta(hours=5))
    week = run(warehouse)
    assert (week["posts_refreshed"].value, week["accounts_refreshed"].value) == (1, 1)
    incremental = rows(warehouse, curves_query)
    assert [r for r in incremental if r[1] == 6][0][2] == pytest.approx((450 / 950 + 500 / 1000) / 2)
    full = dg.materialize(
        [post_lifecycle],
        resources={"warehouse": warehouse},
        run_config={"ops": {"post_lifecycle": {"config": {"full_refresh": True}}}},
    )
    assert full.success
    assert rows(warehouse, curves_query) == incremental


def test_a_post_whose_time_was_refined_within_its_day_keeps_its_earlier_snapshots(warehouse, db_path):
    """Post c's publication moves from 07:00 to 20:00 of the same day (an export's date, then the exact
    time): its snapshots of 07:30 and 09:00 keep the ages they were written with (0.5 h and 2 h). A new
    snapshot at 21:00 (1 h after the new time, 60 impressions) refreshes c with all three."""
    run(warehouse)
    refined = YOUNG_PUBLISHED + pd.Timedelta(hours=13)
    con = connect(db_path)
    con.execute("UPDATE raw.posts SET published_at = $at WHERE post_id = 'c'", {"at": refined})
    add_lifecycle_snapshot(con, "c", refined, 1, 60, written_at=refined + pd.Timedelta(hours=2))
    con.close()
    assert run(warehouse)["posts_refreshed"].value == 1
    assert rows(
        warehouse,
        "SELECT age_hours, snapshot_age_hours, impressions, snapshots_used, observed_through_hours "
        "FROM analytics.post_lifecycle WHERE post_id = 'c' ORDER BY age_hours",
    ) == [(1, 1.0, 60, 3, 2.0)]


def test_the_metadata_counts_and_previews_the_rows_the_run_wrote(warehouse, db_path):
    """13 rows after the first run (a and b 6 each, c 1); a new 3.5 h snapshot of c rewrites c's 2 rows."""
    first = run(warehouse)
    assert (first["rows_written_this_run"].value, first["dagster/row_count"].value) == (13, 13)
    add_snapshot(db_path, "c", YOUNG_PUBLISHED, 3.5, 60, written_at=YOUNG_PUBLISHED + pd.Timedelta(hours=4))
    again = run(warehouse)
    assert (again["rows_written_this_run"].value, again["dagster/row_count"].value) == (2, 14)
    assert [(r.data["post_id"], r.data["age_hours"]) for r in again["preview"].records] == [("c", 3), ("c", 1)]
