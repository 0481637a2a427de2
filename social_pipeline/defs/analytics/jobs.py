"""Refreshing the post tables after new raw rows arrive outside a collection run (`social-pipeline ingest`)."""

import dagster as dg

from social_pipeline.defs.analytics.assets import post_performance, post_snapshots

post_tables_refresh_job = dg.define_asset_job(
    "post_tables_refresh",
    selection=dg.AssetSelection.assets(post_snapshots, post_performance),
    description="post_snapshots (incremental) and post_performance, brought up to date with the raw tables.",
    executor_def=dg.in_process_executor,
)
