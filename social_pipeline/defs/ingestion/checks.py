"""Data-quality checks on the collected counts. Blocking checks stop bad data from flowing
downstream in the same run."""

import dagster as dg

from social_pipeline.core.metrics import COUNT_COLUMNS
from social_pipeline.defs.analytics.assets import post_snapshots
from social_pipeline.defs.checks_common import _result
from social_pipeline.defs.ingestion.assets import raw_tweet_metrics
from social_pipeline.resources.warehouse import WarehouseResource


@dg.asset_check(asset=raw_tweet_metrics, blocking=True, description="Every stored count is >= 0.")
def counts_are_non_negative(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    negative = " OR ".join(f"{c} < 0" for c in COUNT_COLUMNS)
    with warehouse.get_connection() as con:
        rows = con.execute(f"SELECT DISTINCT post_id FROM raw.tweet_metrics WHERE {negative} ORDER BY 1").fetchall()
    return _result(not rows, [r[0] for r in rows], "posts with negative counts")


# A drop older than this (in collection time) no longer fails the check: it was reported already.
DECREASE_LOOKBACK_DAYS = 7


@dg.asset_check(
    asset=post_snapshots,
    description="Warns when a cumulative metric (likes, retweets, replies, quotes) drops from one "
    "snapshot of a post to the next, naming the posts; fails with ERROR when impressions drop. Not "
    "blocking: on X an unlike or a deleted reply lowers a count for real, and a blocking check over "
    "the whole history would then stop every later run. Looks at drops seen in the last 7 days of "
    "collections, so one real unlike warns for a week rather than forever.",
)
def cumulative_metrics_never_decrease(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    columns = ["impressions", "likes", "retweets", "replies", "quotes"]
    lagged = ", ".join(f"{c}, lag({c}) OVER w AS prev_{c}" for c in columns)
    dropped = ", ".join(f"CASE WHEN {c} < prev_{c} THEN '{c}' END" for c in columns)
    figures = ", ".join(columns)
    last_figures = ", ".join(f"'{c}': {c}" for c in ["snapshot_time", *columns])
    lookback_start = (
        f"(SELECT max(snapshot_time) FROM analytics.post_snapshots) - INTERVAL {DECREASE_LOOKBACK_DAYS} DAY"
    )
    with warehouse.get_connection() as con:
        rows = con.execute(
            f"""
            WITH recent AS (
                SELECT post_id, snapshot_time, {figures} FROM analytics.post_snapshots
                WHERE snapshot_time >= {lookback_start}
            ),
            -- A drop at the lookback's first snapshot needs the one before it: only that one is read, not the
            -- post's whole series (a post on the weekly cadence has a year of them).
            before AS (
                SELECT post_id, unnest(arg_max({{{last_figures}}}, snapshot_time))
                FROM analytics.post_snapshots
                WHERE snapshot_time < {lookback_start} AND post_id IN (SELECT post_id FROM recent)
                GROUP BY post_id
            )
            SELECT post_id, min(snapshot_time) AS first_drop,
                   list_sort(list_distinct(flatten(list(list_value({dropped}))))) AS metrics
            FROM (SELECT post_id, snapshot_time, {lagged}
                  FROM (SELECT * FROM recent UNION ALL BY NAME SELECT * FROM before)
                  WINDOW w AS (PARTITION BY post_id ORDER BY snapshot_time))
            WHERE ({" OR ".join(f"{c} < prev_{c}" for c in columns)})
              AND snapshot_time >= {lookback_start}
            GROUP BY post_id ORDER BY post_id
            """
        ).fetchall()
    # Impressions are views: they cannot be taken back, so a drop there is a data error.
    impressions_dropped = any("impressions" in metrics for _, _, metrics in rows)
    return _result(
        not rows,
        [f"{post} ({', '.join(metrics)} at {when})" for post, when, metrics in rows],
        "posts whose metrics decreased",
        dg.AssetCheckSeverity.ERROR if impressions_dropped else dg.AssetCheckSeverity.WARN,
    )
