"""The weekly reporting job."""

import dagster as dg

from social_pipeline.defs.analytics.assets import (
    best_posting_times,
    engagement_by_content_type,
    recruiter_metrics,
    user_summary,
)
from social_pipeline.defs.reporting.assets import weekly_report

weekly_reporting_job = dg.define_asset_job(
    "weekly_reporting",
    selection=dg.AssetSelection.assets(
        user_summary, engagement_by_content_type, best_posting_times, recruiter_metrics, weekly_report
    ),
    description="The weekly analytics tables and reports for a week (or a range of weeks, in one run).",
    executor_def=dg.in_process_executor,
)
