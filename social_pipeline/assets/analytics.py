"""Group `analytics`: post snapshots and per-post performance, set-based SQL in DuckDB."""


import dagster as dg

from ..resources.warehouse import WarehouseResource, scalar, write_transaction
from .common import (
    WAREHOUSE_POOL,
    asset_labels,
    code_version,
    preview_table,
    sql,
    table_definition_metadata,
    table_metadata,
)
from .inbox import inbox_files
from .ingestion import raw_posts, raw_tweet_metrics


class PostSnapshotsConfig(dg.Config):
    full_refresh: bool = False


@dg.asset(
    deps=[raw_tweet_metrics, raw_posts, inbox_files],
    group_name="analytics",
    kinds={"duckdb", "sql"},
    pool=WAREHOUSE_POOL,
    description="One row per (post, collection): cumulative figures, engagements, "
    "`engagement_rate_pct` (0 when impressions is 0) and `weighted_engagement_score`. "
    "Incremental: a run recomputes only the collections written since the last run "
    "(set `full_refresh` to rebuild everything).",
    metadata=table_definition_metadata("analytics.post_snapshots"),
    code_version=code_version("1", sql("post_snapshots_refresh_keys"), sql("post_snapshots")),
    **asset_labels("data_platform", "analytics", "hourly"),
)
def post_snapshots(context: dg.AssetExecutionContext, config: PostSnapshotsConfig, warehouse: WarehouseResource):
    def write_post_snapshots(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE refresh_keys AS {sql('post_snapshots_refresh_keys')}",
                    {"full_refresh": config.full_refresh})
        refreshed = scalar(con, "SELECT count(*) FROM refresh_keys")
        con.execute("DELETE FROM analytics.post_snapshots WHERE partition_key IN (SELECT partition_key FROM refresh_keys)")
        # Collections whose raw rows are gone (a re-run that found nothing) go too.
        con.execute(
            "DELETE FROM analytics.post_snapshots WHERE partition_key NOT IN "
            "(SELECT DISTINCT partition_key FROM raw.tweet_metrics)"
        )
        con.execute(f"INSERT INTO analytics.post_snapshots BY NAME {sql('post_snapshots')}")
        meta = table_metadata(con, "analytics.post_snapshots", "partition_key IN (SELECT partition_key FROM refresh_keys)",
                              order_by="snapshot_time DESC, post_id")
        con.execute("DROP TABLE refresh_keys")
        return meta, refreshed

    with warehouse.get_connection() as con:
        meta, refreshed = write_transaction(con, write_post_snapshots, "analytics.post_snapshots")
    meta["collections_refreshed"] = dg.MetadataValue.int(int(refreshed))
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    deps=[post_snapshots],
    group_name="analytics",
    kinds={"duckdb", "sql"},
    pool=WAREHOUSE_POOL,
    description="One row per post: its latest snapshot plus `published_at`, `day_of_week` (0 = Monday), "
    "`hour` (UTC; NULL when the source gives only a date), `content_type`, `media_type` and `text`.",
    metadata=table_definition_metadata("analytics.post_performance"),
    code_version=code_version("1", sql("post_performance")),
    **asset_labels("data_platform", "analytics", "hourly"),
)
def post_performance(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    def write_post_performance(con):
        con.execute(f"CREATE OR REPLACE TABLE analytics.post_performance AS {sql('post_performance')}")
        meta = table_metadata(con, "analytics.post_performance", order_by="published_at DESC")
        per_user = con.execute(
            "SELECT user_id, count(*) AS posts, round(avg(engagement_rate_pct), 2) AS avg_engagement_rate_pct "
            "FROM analytics.post_performance GROUP BY ALL ORDER BY user_id"
        ).df()
        # Date-only posts (X's newer export) have hour NULL: hour-based analytics leave them out.
        without_hour = scalar(con, "SELECT count(*) FROM analytics.post_performance WHERE hour IS NULL")
        return meta, per_user, without_hour

    with warehouse.get_connection() as con:
        meta, per_user, without_hour = write_transaction(con, write_post_performance, "analytics.post_performance")
    meta["per_user"] = preview_table(per_user)
    meta["posts_without_hour"] = dg.MetadataValue.int(int(without_hour))
    return dg.MaterializeResult(metadata=meta)


defs = dg.Definitions(assets=[post_snapshots, post_performance])
