"""The library entry for notebooks and benchmarks: the same training code the assets run.

from social_pipeline.compat.prediction_notebook import train_models
models = train_models(df)          # the notebook's columns plus `reach` and `likes`
models.predict(df)                 # DataFrame: reach, likes, reach_p10, reach_p90, likes_p10, likes_p90
"""

from social_pipeline.core.models import (
    TrainedModels,
    interval_coverage,
    regression_metrics,
    time_holdout_split,
    train_models,
)
from social_pipeline.core.synthetic import generate_notebook_posts

__all__ = [
    "TrainedModels",
    "generate_notebook_posts",
    "interval_coverage",
    "regression_metrics",
    "time_holdout_split",
    "train_models",
]
