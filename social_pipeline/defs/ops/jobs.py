"""Publishing the BI copy."""

import dagster as dg

from social_pipeline.defs.ops.assets import bi_warehouse_copy

publish_bi_copy_job = dg.define_asset_job(
    "publish_bi_copy", selection=[bi_warehouse_copy], description="Publish the BI copy of the warehouse."
)
