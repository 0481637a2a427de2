"""post_follower_gain: the followers each post brought, from X's per-post count or the account's figures."""

import dagster as dg

from social_pipeline.core.follower_gain import FOLLOWER_GAIN_SQL, refresh_follower_gain
from social_pipeline.core.follower_gain import sql as follower_gain_sql
from social_pipeline.defs.common import (
    WAREHOUSE_POOL,
    asset_labels,
    code_version,
    table_definition_metadata,
    table_metadata,
)
from social_pipeline.defs.ingestion.assets import inbox_files, raw_account_snapshots, raw_posts, raw_tweet_metrics
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.write_conflicts import write_transaction


@dg.asset(
    deps=[raw_account_snapshots, raw_posts, raw_tweet_metrics, inbox_files],
    group_name="analytics",
    kinds={"duckdb", "sql"},
    pool=WAREHOUSE_POOL,
    description="One row per post: the followers it brought (`followers_gained`) and how that was found "
    "(`method`): X's own `New follows` where the newer export gives it, else the account's follower "
    "change over the 24 h after publication less its usual growth (the median change of its hours "
    "without a post). An hourly run reads only the new follower figures and the posts whose 24 h are "
    "still open (`history_scanned` says when every figure was read again).",
    metadata=table_definition_metadata("analytics.post_follower_gain"),
    code_version=code_version("2", *(follower_gain_sql(name) for name in FOLLOWER_GAIN_SQL)),
    **asset_labels("data_platform", "analytics", "hourly"),
)
def post_follower_gain(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    def replace(con):
        read = refresh_follower_gain(con)
        meta = table_metadata(
            con,
            "analytics.post_follower_gain",
            "post_id IN (SELECT post_id FROM follower_gain_posts)",
            order_by="followers_gained DESC, post_id",
        )
        con.execute("DROP TABLE follower_gain_posts")
        methods = dict(con.execute("SELECT method, count(*) FROM analytics.post_follower_gain GROUP BY ALL").fetchall())
        return meta, methods, read

    with warehouse.get_connection() as con:
        meta, methods, read = write_transaction(con, replace, "analytics.post_follower_gain")
    for method in ("x_export_new_follows", "account_snapshots"):
        meta[f"posts_by_{method}"] = dg.MetadataValue.int(int(methods.get(method, 0)))
    meta["history_scanned"] = dg.MetadataValue.bool(read["history_scanned"])
    meta["new_follower_figures"] = dg.MetadataValue.int(read["new_figures"])
    meta["posts_read"] = dg.MetadataValue.int(read["posts_read"])
    meta["posts_recomputed"] = dg.MetadataValue.int(read["posts_recomputed"])
    return dg.MaterializeResult(metadata=meta)
