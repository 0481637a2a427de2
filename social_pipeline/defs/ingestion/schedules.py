"""The hourly collection schedule."""

import dagster as dg

from social_pipeline.core.clock import naive_utc
from social_pipeline.defs.common import HOUR, HOURLY_PARTITIONS, add_partition_keys, hour_key
from social_pipeline.defs.ingestion.jobs import hourly_collection_job


# The partitions are dynamic (see defs/common.py), so each schedule adds the key it runs first.
@dg.schedule(
    job=hourly_collection_job,
    name="hourly_collection_schedule",
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    description="At :05 every hour, collect the hour that just closed: new posts, follower figures, "
    "and metrics of every due post (hourly below 7 days of age, daily at 00:00 UTC below 30 days, "
    "then Mondays 00:00 UTC), then refresh post_snapshots and post_performance. Adds the hour as a "
    "partition (and any hours missed since the last one, which then show as missing).",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def hourly_collection_schedule(context: dg.ScheduleEvaluationContext):
    closed = naive_utc(context.scheduled_execution_time).floor("h") - HOUR
    key = hour_key(closed)
    add_partition_keys(context.instance, HOURLY_PARTITIONS, [key])
    return dg.RunRequest(run_key=key, partition_key=key)
