"""Data-quality checks on the collected counts. Blocking checks stop bad data from flowing
downstream in the same run."""

import dagster as dg
import pandas as pd

from social_pipeline.core.metrics import COUNT_COLUMNS
from social_pipeline.core.snapshot_collections import newest_snapshot_time
from social_pipeline.core.sql_files import sql_loader
from social_pipeline.defs.analytics.assets import post_snapshots
from social_pipeline.defs.checks_common import _result
from social_pipeline.defs.ingestion.assets import raw_tweet_metrics
from social_pipeline.resources.warehouse import WarehouseResource

sql = sql_loader(__file__)


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
    "collections, so one real unlike warns for a week rather than forever. Reads "
    "analytics.post_metric_drops, which post_snapshots keeps up to date.",
)
def cumulative_metrics_never_decrease(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        newest = newest_snapshot_time(con)
        rows = []
        if newest is not None:
            lookback_start = pd.Timestamp(newest) - pd.Timedelta(days=DECREASE_LOOKBACK_DAYS)
            rows = con.execute(sql("metric_decreases"), {"lookback_start": lookback_start}).fetchall()
    # Impressions are views: they cannot be taken back, so a drop there is a data error.
    impressions_dropped = any("impressions" in metrics for _, _, metrics in rows)
    return _result(
        not rows,
        [f"{post} ({', '.join(metrics)} at {when})" for post, when, metrics in rows],
        "posts whose metrics decreased",
        dg.AssetCheckSeverity.ERROR if impressions_dropped else dg.AssetCheckSeverity.WARN,
    )
