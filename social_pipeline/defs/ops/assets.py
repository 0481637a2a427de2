"""The BI copy of the warehouse."""

import dagster as dg
import pandas as pd

from social_pipeline.core.publish import publish_copy
from social_pipeline.defs.common import WAREHOUSE_POOL, asset_labels, code_version, preview_table
from social_pipeline.resources.files import FileStoresResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.lake import is_lake

# Every other asset that writes the warehouse: the copy holds all their tables, so each is a dependency
# (by key, so this module imports no domain). A test holds the list to the asset graph.
WAREHOUSE_WRITERS = [
    "raw_posts",
    "raw_tweet_metrics",
    "raw_account_snapshots",
    "raw_profile_activity",
    "inbox_files",
    "post_snapshots",
    "post_performance",
    "post_lifecycle",
    "post_alerts",
    "post_follower_gain",
    "user_summary",
    "engagement_by_content_type",
    "best_posting_times",
    "recruiter_metrics",
    "weekly_report",
    "training_dataset",
    "reach_model",
    "likes_model",
    "prediction_log",
    "prediction_outcomes",
]

# Republished once after the warehouse changed: any writer updated since the copy was last requested
# or published, and no writer (nor the copy) still in progress, so a run's steps give one copy at its
# end, not one per step. The copy is not its own dependency: publishing it requests nothing. Its run
# is in WAREHOUSE_POOL like every writer's, so it queues behind a running writer.
AFTER_WAREHOUSE_WRITES = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after the warehouse changed, no writer in progress")


@dg.asset(
    deps=WAREHOUSE_WRITERS,
    automation_condition=AFTER_WAREHOUSE_WRITES,
    group_name="ops",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="A read-only copy of the warehouse for BI tools at `SOCIAL_PIPELINE_BI_DB` "
    "(default `data/bi/warehouse.duckdb`), swapped in atomically after the warehouse changed (declarative "
    "automation: any asset that writes the warehouse updated, and none in progress). Readers of the copy "
    "never block the pipeline and are never blocked by it.",
    code_version=code_version("1"),
    **asset_labels("data_platform", "ops", "after_each_run"),
    output_required=False,  # nothing to copy on a lake
)
def bi_warehouse_copy(context: dg.AssetExecutionContext, warehouse: WarehouseResource, file_stores: FileStoresResource):
    if is_lake(warehouse.database):
        # BI tools read a lake live (social_pipeline.connect(read_only=True)), with snapshot isolation.
        context.log.info("the warehouse is a DuckLake: no BI copy to publish")
        return
    with warehouse.get_connection() as con:
        published = publish_copy(con, file_stores.bi_database_path())
    yield dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(published["path"]),
            "tables": published["tables"],
            # The copy is a whole database, not one table: its tables and their rows.
            "table_rows": preview_table(pd.DataFrame(list(published["table_rows"].items()), columns=["table", "rows"])),
            "total_rows": sum(published["table_rows"].values()),
            "size_mb": round(published["bytes"] / 1e6, 2),
        }
    )
