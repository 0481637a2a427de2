"""Checks on the analytics tables: rates within bounds, every post snapshotted, the seed's rules."""

import dagster as dg

from social_pipeline.core.metrics import estimated_recruiter_reach
from social_pipeline.core.snapshot_collections import newest_snapshot_time
from social_pipeline.core.sql_files import scalar
from social_pipeline.defs.analytics.assets import (
    best_posting_times,
    engagement_by_content_type,
    post_performance,
    post_snapshots,
    recruiter_metrics,
    user_summary,
)
from social_pipeline.defs.checks_common import _result
from social_pipeline.resources.warehouse import WarehouseResource


@dg.asset_check(
    asset=post_snapshots,
    blocking=True,
    description="engagement_rate_pct is never negative or "
    "non-finite: figures that cannot be real (NULL is unknown, where a source did not report impressions "
    "or an engagement count). A rate above 100% can be real and only warns (engagement_rates_plausible).",
)
def engagement_rate_within_bounds(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        rows = con.execute(
            # -inf is below 0, and DuckDB orders NaN above +inf: two comparisons catch all three, and the
            # column's statistics let the scan skip every row group whose rates all lie within [0, inf).
            "SELECT DISTINCT post_id FROM analytics.post_snapshots "
            "WHERE engagement_rate_pct < 0 OR engagement_rate_pct >= 'inf'::DOUBLE ORDER BY 1"
        ).fetchall()
        unknown = scalar(con, "SELECT count(*) FROM analytics.post_snapshots WHERE engagement_rate_pct IS NULL")
    return _result(
        not rows,
        [r[0] for r in rows],
        "posts with a negative or non-finite engagement rate",
        extra_metadata={"snapshots_with_unknown_rate": int(unknown)},
    )


@dg.asset_check(
    asset=post_snapshots,
    description="Warns, naming the posts, when a post's latest figures are real "
    "but implausible (engagement_rate_flag): more engagements than impressions (X counts a repost's "
    "retweets from the original), or engagements on 0 impressions (old posts). Not blocking: the figures "
    "are what X reported, kept with the formula's rate.",
)
def engagement_rates_plausible(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        rows = con.execute(
            """
            SELECT post_id, engagement_rate_flag, engagements, impressions FROM analytics.post_snapshots
            -- Only posts with a flagged snapshot can have flagged latest figures: the others are not ranked.
            WHERE post_id IN (SELECT post_id FROM analytics.post_snapshots WHERE engagement_rate_flag IS NOT NULL)
            QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY snapshot_time DESC) = 1
                AND engagement_rate_flag IS NOT NULL
            ORDER BY post_id
            """
        ).fetchall()
    return _result(
        not rows,
        [
            f"{post} ({engagements} engagements on {impressions} impressions)"
            for post, _, engagements, impressions in rows
        ],
        "posts with implausible figures",
        dg.AssetCheckSeverity.WARN,
    )


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
            WHERE p.published_at < $newest
              AND p.post_id NOT IN (SELECT post_id FROM analytics.post_performance)
            ORDER BY 1
            """,
            {"newest": newest_snapshot_time(con)},
        ).fetchall()
        # Only the posts without a row are looked up in the raw collections (a scan of every collection).
        if rows:
            rows = con.execute(
                "SELECT post_id FROM unnest($posts) AS t(post_id) WHERE post_id NOT IN "
                "(SELECT post_id FROM raw.tweet_metrics WHERE status <> 'ok' AND post_id IN (SELECT unnest($posts))) "
                "ORDER BY 1",
                {"posts": [r[0] for r in rows]},
            ).fetchall()
    return _result(not rows, [r[0] for r in rows], "posts without any snapshot", dg.AssetCheckSeverity.WARN)


def _rate_check(asset, table: str, column: str):
    @dg.asset_check(
        asset=asset,
        name=f"{column}_within_0_100",
        blocking=True,
        description=f"{table}.{column} lies within 0-100 (a percentage). Blocks on a NULL or negative "
        "average, which cannot be real; only warns above 100, which a post X really reported with more "
        "engagements than impressions (engagement_rate_flag) gives.",
    )
    def check(warehouse: WarehouseResource):
        with warehouse.get_connection() as con:
            impossible = scalar(con, f"SELECT count(*) FROM {table} WHERE {column} IS NULL OR {column} < 0")
            above = scalar(con, f"SELECT count(*) FROM {table} WHERE {column} > 100")
            extremes = con.execute(f"SELECT min({column}), max({column}) FROM {table}").fetchall()[0]
        return dg.AssetCheckResult(
            passed=impossible == 0 and above == 0,
            severity=dg.AssetCheckSeverity.ERROR if impossible else dg.AssetCheckSeverity.WARN,
            description=None
            if impossible == 0 and above == 0
            else f"{impossible} rows NULL or negative, {above} above 100 (periods with a flagged post)",
            metadata={
                "rows_out_of_range": int(impossible + above),
                "rows_impossible": int(impossible),
                "rows_above_100": int(above),
                "min": float(extremes[0] or 0),
                "max": float(extremes[1] or 0),
            },
        )

    return check


@dg.asset_check(
    asset=best_posting_times, blocking=True, description="Every ranked slot has at least 2 posts (the seed's rule)."
)
def best_time_slots_have_two_posts(warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        bad = scalar(con, "SELECT count(*) FROM analytics.best_posting_times WHERE posts_count < 2")
    return dg.AssetCheckResult(passed=bad == 0, metadata={"slots_with_fewer_than_2_posts": int(bad)})


@dg.asset_check(
    asset=recruiter_metrics,
    blocking=True,
    description="estimated_recruiter_reach = int(profile_views_30d * 0.10), "
    "checked against the Python formula in core/metrics.py.",
)
def recruiter_reach_matches_formula(warehouse: WarehouseResource):
    with warehouse.get_connection() as con:
        rows = con.execute(
            "SELECT profile_views_30d, estimated_recruiter_reach FROM analytics.recruiter_metrics"
        ).fetchall()
    wrong = [(views, reach) for views, reach in rows if reach != estimated_recruiter_reach(views)]
    return dg.AssetCheckResult(passed=not wrong, metadata={"rows_checked": len(rows), "rows_wrong": len(wrong)})


# The weekly tables' rates are averages of per-post rates: above 100 is possible (flagged posts), negative is not.
WEEKLY_RATE_CHECKS = [
    _rate_check(user_summary, "analytics.user_summary", "avg_engagement_rate_pct"),
    _rate_check(engagement_by_content_type, "analytics.engagement_by_content_type", "avg_engagement_rate_pct"),
    _rate_check(best_posting_times, "analytics.best_posting_times", "avg_engagement_rate_pct"),
]
