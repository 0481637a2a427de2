"""A post's lifecycle: its figures at fixed ages, each account's typical curve, and early alerts.

The ages and the rule that turns a young post's figures into an alert live here; the set-based
work runs as SQL beside the assets (defs/analytics/sql/, defs/ops/sql/)."""

from __future__ import annotations

from statistics import NormalDist

from .sql_files import sql_loader

sql = sql_loader(__file__)

LIFECYCLE_TABLE = "analytics.post_lifecycle"
# The ages (hours after publication) at which post_lifecycle reads each post.
LIFECYCLE_AGES_HOURS = (1, 3, 6, 24, 72, 168)
# The account's typical curve is a share of the impressions at this age (7 days).
WEEK_AGE_HOURS = 168
# Young posts are compared with their expectation at the ages up to this one.
ALERT_MAX_AGE_HOURS = 24
# An age whose newest snapshot is older than this (a gap in the collections) is not alerted on:
# the figures are of an earlier age and would read as `behind`.
ALERT_MAX_SNAPSHOT_LAG_HOURS = 1.0
# A crossing found more than this long after its snapshot (history loaded in bulk, a pipeline that
# was down) is recorded but not sent: nobody can act on it any more.
ALERT_SEND_WITHIN_HOURS = 24
# The alert band's coverage: the share of the posts that go as predicted whose impressions at an age
# lie inside it. The prediction's p10-p90 and the curve's 10th-90th percentile shares are 80 %
# intervals; an 80 % band would put a fifth of ordinary posts outside it at every age checked.
ALERT_BAND_COVERAGE = 0.975
# Normal quantiles (in log units) of the band drawn and of the 80 % intervals read.
ALERT_BAND_Z = NormalDist().inv_cdf(0.5 + ALERT_BAND_COVERAGE / 2)
INTERVAL_Z = NormalDist().inv_cdf(0.9)
# A reach model's p10-p90 is read as holding what it held of its held-out posts, within these bounds.
ALERT_INTERVAL_COVERAGE_RANGE = (0.5, 0.95)
DIRECTIONS = ("ahead", "behind")


def lifecycle_params(max_age_hours: int = WEEK_AGE_HOURS) -> dict:
    """The query parameters of the lifecycle SQL."""
    return {"ages_hours": list(LIFECYCLE_AGES_HOURS), "week_age_hours": max_age_hours}


def store_half_lives(con, week_age_hours: int = WEEK_AGE_HOURS) -> None:
    """Write the half-life on the week rows of the temp table lifecycle_rows, from the snapshots in the
    temp view lifecycle_snapshots. Stored per post, so an account's curve is recomputed from
    analytics.post_lifecycle alone, never from the whole snapshot history."""
    con.execute(sql("lifecycle_half_lives"), {"week_age_hours": week_age_hours})


def fill_half_lives(con) -> None:
    """Every stored post's half-life, for a warehouse whose post_lifecycle rows predate the column."""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW lifecycle_snapshots AS "
        "SELECT * FROM analytics.post_snapshots WHERE hours_since_published >= 0"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE lifecycle_rows AS SELECT * FROM {LIFECYCLE_TABLE} WHERE age_hours = $week",
        {"week": WEEK_AGE_HOURS},
    )
    store_half_lives(con)
    con.execute(
        f"UPDATE {LIFECYCLE_TABLE} AS l SET half_life_hours = r.half_life_hours FROM lifecycle_rows AS r "
        "WHERE l.post_id = r.post_id AND l.age_hours = r.age_hours AND r.half_life_hours IS NOT NULL"
    )
    con.execute("DROP TABLE lifecycle_rows")
    con.execute("DROP VIEW lifecycle_snapshots")
