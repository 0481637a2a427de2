"""The prediction notebook's model (cell 5), the baseline the bench and the tests compare ours with."""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from social_pipeline.core.models import with_daypart

NOTEBOOK_NUMERIC = [
    "user_followers",
    "user_avg_engagement_rate",
    "post_text_len",
    "num_hashtags",
    "num_mentions",
    "num_emojis",
    "has_link",
]
NOTEBOOK_CATEGORICAL = ["media_type", "daypart", "day_of_week"]


def notebook_model(random_state: int = 42) -> Pipeline:
    """Cell 5's pipeline: raw counts, one-hot categories, GradientBoostingRegressor(150 trees, depth 4)."""
    preprocessor = ColumnTransformer(
        [
            ("num", "passthrough", NOTEBOOK_NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), NOTEBOOK_CATEGORICAL),
        ]
    )
    return make_pipeline(
        preprocessor, GradientBoostingRegressor(random_state=random_state, n_estimators=150, max_depth=4)
    )


def notebook_features(df: pd.DataFrame) -> pd.DataFrame:
    """The notebook's columns; its GradientBoostingRegressor takes no missing values, so they become 0."""
    frame = with_daypart(df)
    numeric = frame[NOTEBOOK_NUMERIC].apply(pd.to_numeric, errors="coerce").astype("float64").fillna(0.0)
    return numeric.assign(
        media_type=frame["media_type"].astype(str),
        daypart=frame["daypart"].astype(str),
        day_of_week=frame["day_of_week"].astype(str),
    )
