"""Data-quality checks on the collection and snapshot assets.

Blocking checks stop bad data from flowing downstream in the same run (to the report
and the models). Freshness of the collection is a FreshnessPolicy on raw_tweet_metrics.
"""

import dagster as dg

from .assets.analytics import post_performance, post_snapshots
from .assets.ingestion import raw_tweet_metrics
from .core.metrics import COUNT_COLUMNS
from .resources.warehouse import WarehouseResource

MAX_NAMED = 10


def _result(passed: bool, offenders, what: str, severity=dg.AssetCheckSeverity.ERROR) -> dg.AssetCheckResult:
    named = [str(o) for o in offenders[:MAX_NAMED]]
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        description=None if passed else f"{len(offenders)} {what}: {', '.join(named)}"
        + (" ..." if len(offenders) > MAX_NAMED else ""),
        metadata={"offending_count": len(offenders), "first_offenders": dg.MetadataValue.json(named)},
    )


@dg.asset_check(asset=raw_tweet_metrics, blocking=True, description="Every stored count is >= 0.")
def counts_are_non_negative(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    negative = " OR ".join(f"{c} < 0" for c in COUNT_COLUMNS)
    with warehouse.get_connection() as con:
        rows = con.execute(
            f"SELECT DISTINCT post_id FROM raw.tweet_metrics WHERE {negative} ORDER BY 1"
        ).fetchall()
    return _result(not rows, [r[0] for r in rows], "posts with negative counts")


@dg.asset_check(
    asset=post_snapshots,
    blocking=True,
    description="Cumulative metrics (impressions, likes, retweets, replies, quotes) never decrease "
    "from one snapshot of a post to the next; names the posts that do.",
)
def cumulative_metrics_never_decrease(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    columns = ["impressions", "likes", "retweets", "replies", "quotes"]
    lagged = ", ".join(f"{c}, lag({c}) OVER w AS prev_{c}" for c in columns)
    dropped = " OR ".join(f"{c} < prev_{c}" for c in columns)
    with warehouse.get_connection() as con:
        rows = con.execute(
            f"""
            SELECT post_id, min(snapshot_time) AS first_drop
            FROM (SELECT post_id, snapshot_time, {lagged} FROM analytics.post_snapshots
                  WINDOW w AS (PARTITION BY post_id ORDER BY snapshot_time))
            WHERE {dropped}
            GROUP BY post_id ORDER BY post_id
            """
        ).fetchall()
    return _result(not rows, [f"{post} (at {when})" for post, when in rows], "posts whose metrics decreased")


@dg.asset_check(asset=post_snapshots, blocking=True, description="engagement_rate_pct lies within 0-100.")
def engagement_rate_within_bounds(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        rows = con.execute(
            "SELECT DISTINCT post_id FROM analytics.post_snapshots "
            "WHERE engagement_rate_pct < 0 OR engagement_rate_pct > 100 OR engagement_rate_pct IS NULL ORDER BY 1"
        ).fetchall()
    return _result(not rows, [r[0] for r in rows], "posts with an engagement rate outside 0-100")


@dg.asset_check(
    asset=post_performance,
    description="Every post published before the latest collection has at least one snapshot "
    "(unless the source reported it deleted, protected or not found).",
)
def every_post_has_a_snapshot(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        rows = con.execute(
            """
            SELECT p.post_id FROM raw.posts AS p
            WHERE p.published_at < (SELECT max(snapshot_time) FROM analytics.post_snapshots)
              AND p.post_id NOT IN (SELECT post_id FROM analytics.post_performance)
              AND p.post_id NOT IN (SELECT post_id FROM raw.tweet_metrics WHERE status <> 'ok')
            ORDER BY 1
            """
        ).fetchall()
    return _result(not rows, [r[0] for r in rows], "posts without any snapshot", dg.AssetCheckSeverity.WARN)


defs = dg.Definitions(
    asset_checks=[
        counts_are_non_negative,
        cumulative_metrics_never_decrease,
        engagement_rate_within_bounds,
        every_post_has_a_snapshot,
    ],
)
