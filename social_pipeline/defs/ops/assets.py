"""The BI copy of the warehouse."""

import dagster as dg
import pandas as pd

from social_pipeline.core.publish import bi_path, publish_copy
from social_pipeline.defs.common import WAREHOUSE_POOL, asset_labels, code_version, preview_table
from social_pipeline.resources.lake import is_lake
from social_pipeline.resources.warehouse import WarehouseResource


@dg.asset(
    group_name="ops",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="A read-only copy of the warehouse for BI tools at `SOCIAL_PIPELINE_BI_DB` "
    "(default `data/bi/warehouse.duckdb`), swapped in atomically after each successful run. "
    "Readers of the copy never block the pipeline and are never blocked by it.",
    code_version=code_version("1"),
    **asset_labels("data_platform", "ops", "after_each_run"),
)
def bi_warehouse_copy(warehouse: WarehouseResource) -> dg.MaterializeResult:
    if is_lake(warehouse.database):
        raise dg.Failure(description="The warehouse is a DuckLake: BI tools read it live (social_pipeline.connect("
                                     "read_only=True)), with snapshot isolation; it has no BI copy to publish.")
    with warehouse.get_connection() as con:
        published = publish_copy(con, bi_path())
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(published["path"]),
            "tables": published["tables"],
            # The copy is a whole database, not one table: its tables and their rows.
            "table_rows": preview_table(pd.DataFrame(list(published["table_rows"].items()), columns=["table", "rows"])),
            "total_rows": sum(published["table_rows"].values()),
            "size_mb": round(published["bytes"] / 1e6, 2),
        }
    )
