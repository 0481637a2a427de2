"""Checks on the weekly report."""

import dagster as dg
import pandas as pd

from social_pipeline.core.sql_files import sql_loader
from social_pipeline.defs.reporting.assets import weekly_report
from social_pipeline.resources.warehouse import WarehouseResource

sql = sql_loader(__file__)


@dg.asset_check(
    asset=weekly_report,
    description="Every user active in a reported week (a post published or "
    "a profile day recorded in it) has a report row for that week.",
)
def reports_for_every_active_user(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    # The instance, not the table, says which weeks were reported: a week whose rows all vanished counts.
    materialized = sorted(context.instance.get_materialized_partitions(weekly_report.key))
    with warehouse.get_connection() as con:
        missing = con.execute(
            sql("missing_reports"), {"materialized_week_starts": [pd.Timestamp(w).date() for w in materialized]}
        ).df()
    return dg.AssetCheckResult(
        passed=missing.empty,
        metadata={
            "missing_reports": int(len(missing)),
            "weeks_materialized": len(materialized),
            "examples": dg.MetadataValue.md(missing.head(10).to_markdown(index=False) if len(missing) else "_none_"),
        },
    )
