"""Jobs of the ingestion domain: hourly collection and one run per inbox file."""

import dagster as dg

# Partitioned by collection_hours, which Dagster takes from raw_tweet_metrics (the one partitioned asset).
hourly_collection_job = dg.define_asset_job(
    "hourly_collection",
    # inbox_files runs per dropped file (the inbox sensor's job), not per hour.
    selection=(dg.AssetSelection.groups("ingestion") - dg.AssetSelection.assets("inbox_files"))
    | dg.AssetSelection.assets(
        "post_snapshots", "post_performance", "post_lifecycle", "post_alerts", "post_follower_gain"
    ),
    description="Collect posts, metrics, followers and profile activity for an hour (or a range, in "
    "one run), then refresh post_snapshots, post_performance, post_lifecycle and post_follower_gain, "
    "and send the early alerts of young posts that left their expected band.",
    executor_def=dg.in_process_executor,
)


inbox_ingestion_job = dg.define_asset_job(
    "inbox_ingestion",
    selection=dg.AssetSelection.assets("inbox_files", "post_snapshots", "post_performance"),
    description="Ingest one dropped file, then bring post_snapshots and post_performance up to date.",
    executor_def=dg.in_process_executor,
)
