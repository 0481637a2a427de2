"""Retrains when enough new labels have settled.

A sensor, not an automation condition: the trigger is a count of rows (posts settled since the served
model's data), which no built-in condition reads; conditions see materializations, and
post_snapshots is materialized every hour whether or not a post settled. A Python condition could
count them, but such conditions are a preview feature of Dagster 1.13 and must run in the code server.
"""

from pathlib import Path

import dagster as dg

from social_pipeline.core.sql_files import scalar
from social_pipeline.defs.ml.assets import SETTLE_AGE_HOURS
from social_pipeline.defs.ml.jobs import ml_training_job
from social_pipeline.resources.files import FileStoresResource
from social_pipeline.warehouse.connection import connect, database_path
from social_pipeline.warehouse.lake import is_lake

# Retrain between the weekly runs once this many posts have settled since the last model's data:
# about a week of posting for the simulated accounts, and enough to move a model trained on hundreds.
NEW_LABELS_TO_RETRAIN = 50


NEW_LABELS_SQL = f"""
SELECT count(DISTINCT post_id), max(snapshot_time)
FROM analytics.post_snapshots
WHERE hours_since_published >= {SETTLE_AGE_HOURS} AND hours_since_published < {SETTLE_AGE_HOURS} + 24
  AND snapshot_time > COALESCE(
      -- Either model's: with Bluesky accounts alone there is no reach model.
      (SELECT max(labelled_through) FROM ml.model_registry),
      TIMESTAMP '1970-01-01')
"""


@dg.sensor(
    job=ml_training_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Retrains when at least {NEW_LABELS_TO_RETRAIN} posts have reached their settled outcome "
    f"({SETTLE_AGE_HOURS} h) since the data of the current model. Reads the BI copy, so it never waits for "
    "or blocks a run that writes the warehouse.",
)
def retrain_on_new_labels(context: dg.SensorEvaluationContext, file_stores: FileStoresResource):
    # A lake is read live; a DuckDB file through its BI copy, which no run locks.
    database = database_path()
    if not is_lake(database):
        database = file_stores.bi_database_path()
        if not Path(database).exists():
            return dg.SkipReason(f"no BI copy at {database} yet: nothing has been collected")
    with connect(database, read_only=True) as con:
        if not scalar(
            con,
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ml' "
            "AND table_name = 'model_registry' AND database_name = current_database()",
        ):
            return dg.SkipReason(f"{'the lake' if is_lake(database) else 'the BI copy'} has no ml tables yet")
        new_labels, newest = con.execute(NEW_LABELS_SQL).fetchall()[0]
    if new_labels < NEW_LABELS_TO_RETRAIN:
        return dg.SkipReason(
            f"{new_labels} newly settled posts since the current model; retraining at {NEW_LABELS_TO_RETRAIN}"
        )
    # One run per state of the data: the same newest label never triggers twice.
    return dg.RunRequest(run_key=f"labels-through-{newest}", tags={"trigger": "new_labels"})
