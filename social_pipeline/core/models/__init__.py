"""The reach and likes models.

- `inputs`: the feature columns, how a frame becomes the pipelines' input, the boosted-trees pipeline;
- `served`: `TargetModel` / `TrainedModels`, what predictions and explanations evaluate;
- `training`: `train_models` and the holdout metrics;
- `intervals`: p10/p90 around the point (a fitted spread, conformal multipliers);
- `saved_format`: reading a saved model (the current format and the one before).

Models saved before this package (as `social_pipeline.core.models.TargetModel`) unpickle through
the names below.
"""

from .inputs import FEATURES, TARGETS, feature_columns, with_daypart
from .intervals import interval_coverage
from .saved_format import FORMAT_VERSION, OutdatedModelError, in_current_format
from .served import QUANTILES, TargetModel, TrainedModels
from .training import POINT_PARAMS, regression_metrics, time_holdout_split, train_models, train_target

__all__ = [
    "FEATURES",
    "FORMAT_VERSION",
    "POINT_PARAMS",
    "QUANTILES",
    "TARGETS",
    "OutdatedModelError",
    "TargetModel",
    "TrainedModels",
    "feature_columns",
    "in_current_format",
    "interval_coverage",
    "regression_metrics",
    "time_holdout_split",
    "train_models",
    "train_target",
    "with_daypart",
]
