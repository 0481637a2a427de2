"""Jobs of the ml domain: retraining and prediction feedback."""

import dagster as dg

from social_pipeline.defs.ml.assets import prediction_log, prediction_outcomes, reach_and_likes_models, training_dataset

ml_training_job = dg.define_asset_job(
    "ml_training",
    selection=dg.AssetSelection.assets(training_dataset, reach_and_likes_models),
    description="Rebuild ml.training_dataset and retrain the reach and likes models.",
    executor_def=dg.in_process_executor,
)


prediction_outcomes_job = dg.define_asset_job(
    "prediction_feedback",
    selection=dg.AssetSelection.assets(prediction_log, prediction_outcomes),
    description="Load the prediction log into ml.predictions and join predictions to settled outcomes.",
    executor_def=dg.in_process_executor,
)
