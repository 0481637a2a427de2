"""Retraining and prediction-feedback schedules."""

import dagster as dg

from social_pipeline.defs.ml.jobs import ml_training_job, prediction_outcomes_job

weekly_retraining_schedule = dg.ScheduleDefinition(
    name="weekly_retraining_schedule",
    job=ml_training_job,
    cron_schedule="0 7 * * 1",
    execution_timezone="UTC",
    description="Mondays at 07:00 UTC (after the weekly report), rebuild ml.training_dataset and retrain the "
    "reach and likes models on every post settled so far; the asset checks compare each new model with "
    "the baseline and with the model it replaces.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


prediction_feedback_schedule = dg.ScheduleDefinition(
    name="prediction_feedback_schedule",
    job=prediction_outcomes_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    description="Daily at 03:30 UTC, load the served predictions into ml.predictions and join those whose "
    "post has settled to the actual reach and likes (ml.prediction_outcomes); warns on drift.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
