"""What the models read: the feature columns, how a frame becomes the pipelines' input, and the pipeline.

Follower counts enter as log1p; categories are ordinal codes the boosted trees split on as categories.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..features import daypart

# scikit-learn and SciPy take seconds to import; they are imported where a model is built or fitted,
# so loading the definitions (every CLI command, every run's process) does not pay for them.
if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

TARGETS = ("reach", "likes")
LOG_FEATURES = ("user_followers",)
NUMERIC_FEATURES = (
    "user_avg_engagement_rate",
    "post_text_len",
    "post_text_words",
    "num_hashtags",
    "num_mentions",
    "num_emojis",
    "has_link",
    "num_media_items",
    "hour",
)
# `network` (x, bluesky) is a feature only where a target's training rows hold more than one network
# (training.py). One likes model for both networks with it beat one likes model per network on the
# simulated history (bench/network_models.py, 8 seeds: Bluesky held-out R² mean 0.153 against -0.019,
# worst -0.34 against -0.46; X level, 0.402 against 0.405).
NETWORK_COLUMN = "network"
CATEGORICAL_FEATURES = ("media_type", "daypart", "day_of_week", NETWORK_COLUMN)
FEATURES = LOG_FEATURES + NUMERIC_FEATURES + CATEGORICAL_FEATURES
# Rows without a network column (the notebook's layout, a draft that names none) are X posts.
DEFAULT_NETWORK = "x"
# The engagement rate: a fitted factor of the per-exposure models' exposure (training.py).
RATE_FACTOR_COLUMN = "user_avg_engagement_rate"

# A small history (a new warehouse: tens of posts) cannot fill leaves of 40: the trees would not
# split at all and predict the mean. Leaves shrink to a tenth of the rows there, never below 5.
MIN_LEAF_ROWS, LEAF_SHARE_OF_ROWS = 5, 0.1
# The point models stop adding trees once a held-out tenth of the rows stops improving (10 rounds).
# scikit-learn does so by itself only above 10,000 rows: below that all 200 steps ran and fitted the
# noise, in post_text_len (no effect at all in the notebook's generator) up to a factor of 1.3 on
# single posts, which was the likes spread between seeds at 3,000-10,000 posts (bench/models.py: on
# 24 seeds not in the bench, likes worst 0.78 -> 0.90 and mean 0.968 -> 0.980 of the best R²; reach
# worst 0.93 -> 0.97). On a few hundred posts a tenth is too few to stop on (the simulated history,
# 426 posts: likes R² 0.466 without, 0.442 with): there all steps run.
MIN_EARLY_STOPPING_ROWS = 1_000


def sized_for(params: dict, n_rows: int) -> dict:
    """`params` with min_samples_leaf no larger than LEAF_SHARE_OF_ROWS of the rows (at least MIN_LEAF_ROWS),
    and early stopping from MIN_EARLY_STOPPING_ROWS rows on."""
    leaf = min(params["min_samples_leaf"], max(MIN_LEAF_ROWS, int(n_rows * LEAF_SHARE_OF_ROWS)))
    return {**params, "min_samples_leaf": leaf, "early_stopping": n_rows >= MIN_EARLY_STOPPING_ROWS}


def with_daypart(df: pd.DataFrame) -> pd.DataFrame:
    """The notebook's layout has `hour` and no `daypart`; ours has both."""
    if "daypart" in df.columns or "hour" not in df.columns:
        return df
    return df.assign(daypart=daypart(df["hour"].to_numpy()))


def with_network(df: pd.DataFrame, columns) -> pd.DataFrame:
    """`df` with DEFAULT_NETWORK in a missing network column where `columns` read one."""
    if NETWORK_COLUMN not in columns or NETWORK_COLUMN in df.columns:
        return df
    return df.assign(**{NETWORK_COLUMN: DEFAULT_NETWORK})


def network_column(df: pd.DataFrame) -> pd.Series:
    """Each row's network: DEFAULT_NETWORK where the frame has no network column or the row names none."""
    if NETWORK_COLUMN not in df.columns:
        return pd.Series(DEFAULT_NETWORK, index=df.index, dtype=object)
    return df[NETWORK_COLUMN].fillna(DEFAULT_NETWORK).astype(str)


def networks_of(df: pd.DataFrame) -> tuple[str, ...]:
    """The networks of `df`'s rows, sorted."""
    return tuple(sorted(network_column(df).unique()))


def feature_columns(df: pd.DataFrame) -> list[str]:
    """The known features present in `df` (the notebook's layout has no post_text_words)."""
    missing = [c for c in ("user_followers", "media_type", "daypart") if c not in df.columns]
    if missing:
        raise ValueError(f"the frame lacks required feature columns: {', '.join(missing)}")
    return [c for c in FEATURES if c in df.columns]


def preprocessor(columns: list[str], extra: tuple[str, ...] = ()) -> ColumnTransformer:
    """log1p of the follower counts, numbers as they are (and `extra` ones), categories as ordinal codes."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    categorical = [c for c in CATEGORICAL_FEATURES if c in columns]
    return ColumnTransformer(
        [
            (
                "log",
                FunctionTransformer(np.log1p, feature_names_out="one-to-one"),
                [c for c in LOG_FEATURES if c in columns],
            ),
            ("num", "passthrough", [c for c in NUMERIC_FEATURES if c in columns] + list(extra)),
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2),
                categorical,
            ),
        ],
        verbose_feature_names_out=False,
    )


def boosted_pipeline(columns: list[str], random_state: int, extra: tuple[str, ...] = (), **params) -> Pipeline:
    """The preprocessor, then boosted trees with `params`: every model of this package has this shape."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline

    n_categorical = sum(c in columns for c in CATEGORICAL_FEATURES)
    categorical_mask = [False] * (len(columns) + len(extra) - n_categorical) + [True] * n_categorical
    return Pipeline(
        [
            ("features", preprocessor(columns, extra)),
            (
                "model",
                HistGradientBoostingRegressor(
                    # scikit-learn's signature is unannotated: its "from_dtype" default makes it look str-only.
                    categorical_features=categorical_mask,  # pyright: ignore[reportArgumentType]
                    random_state=random_state,
                    **params,
                ),
            ),
        ]
    )


def prepared(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`columns` of `df` as the pipelines read them: categories as text, the rest as float64."""
    frame = with_network(with_daypart(df), columns)
    frame = frame[columns].copy()
    for column in columns:
        # Nullable warehouse types (pd.NA) become float NaN, which the trees treat as missing.
        frame[column] = (
            frame[column].astype(str)
            if column in CATEGORICAL_FEATURES
            else pd.to_numeric(frame[column], errors="coerce").astype("float64")
        )
    return frame


Arrays = dict[str, np.ndarray]


def feature_arrays(df: pd.DataFrame, columns: list[str]) -> Arrays:
    """`prepared` as one array per column: what the tables read, without a DataFrame's per-access cost."""
    frame = with_network(with_daypart(df), columns)
    arrays = {}
    for column in columns:
        values = frame[column]
        if column in CATEGORICAL_FEATURES:  # as astype(str): NaN -> 'nan', 3 -> '3'
            arrays[column] = np.array([str(v) for v in values.tolist()], dtype=object)
        elif values.dtype.kind in "biuf":
            arrays[column] = values.to_numpy(dtype="float64")
        else:  # nullable warehouse types (pd.NA) and text become float NaN, which the trees treat as missing
            arrays[column] = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    return arrays


def rows_of(x: Arrays, rows) -> Arrays:
    return {column: values[rows] for column, values in x.items()}


def rate_factor_log(x: Arrays | pd.DataFrame, kappa: float, center: float) -> np.ndarray:
    """log((1 + kappa rate) / (1 + kappa center)) of the RATE_FACTOR_COLUMN, 0 where it is unknown (as
    if at the center)."""
    values = np.asarray(x[RATE_FACTOR_COLUMN], dtype=float)
    known = ~np.isnan(values)
    rate = np.clip(np.where(known, values, center), 0.0, None)
    return np.where(known, np.log1p(kappa * rate) - math.log1p(kappa * center), 0.0)


def log_factors(x: Arrays | pd.DataFrame, columns) -> np.ndarray:
    """(rows, columns): log of each column, NaN where it is unknown or not positive."""
    values = np.column_stack([np.asarray(x[c], dtype=float) for c in columns])
    positive = values > 0
    return np.where(positive, np.log(np.where(positive, values, 1.0)), np.nan)
