"""Training the reach and likes models: the point models, then the interval around them (intervals.py).

Each point model is a gradient-boosted Poisson regression without feature interactions (served.py).
`bench/models.py` compares this choice with the notebook's GradientBoostingRegressor on raw counts
and with unconstrained trees.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..additive import tabulate
from .inputs import (
    NETWORK_COLUMN,
    RATE_FACTOR_COLUMN,
    TARGETS,
    boosted_pipeline,
    feature_columns,
    log_factors,
    networks_of,
    prepared,
    rate_factor_log,
    sized_for,
    with_daypart,
)
from .intervals import CALIBRATION_FRACTION, MIN_CALIBRATION_ROWS, SPREAD_PARAMS, fit_interval
from .served import QUANTILES, TargetModel, TrainedModels

if TYPE_CHECKING:  # SciPy and scikit-learn load where they are used (inputs.py says why)
    from sklearn.pipeline import Pipeline

BACKGROUND_ROWS = 200
# The user's trailing mean of each target (ml.training_dataset), the level relative models use.
EXPOSURE_COLUMNS = {"reach": "user_avg_reach", "likes": "user_avg_likes"}
# Without that level, the exposure is what the account can reach: its followers, and for likes the
# followers times the user's engagement rate (likes are engagements of the reached). The trees then
# model only the rest; left to the trees, the steep rate effect in the sparse tail of high-rate large
# accounts was where most of the likes error on the notebook's data came from (bench/models.py).
ACCOUNT_EXPOSURE = {"reach": ("user_followers",), "likes": ("user_followers", "user_avg_engagement_rate")}
# The engagement rate also enters the per-exposure models as a fitted factor 1 + kappa x rate (one
# parameter, by profile Poisson likelihood; the trees model what remains): a base share of the
# followers plus a share that grows with engagement, from no effect (kappa -> 0) to proportional
# (kappa -> inf). Steps alone flatten at the sparse high-rate tail, where the largest counts are; a
# log-linear factor (exp(slope x rate)) overshot there, up to 1.3x on the most engaged accounts, and
# one such post decided the likes R² of a seed (24 seeds at n = 3,000, bench/models.py: likes worst
# 0.81 -> 0.93 of the best R², mean 0.967 -> 0.987; reach worst 0.965 -> 0.975, mean 0.987 -> 0.992).
# kappa is searched on a log scale between these multiples of 1 / (the mean rate).
RATE_FACTOR_KAPPA_RANGE = (1e-3, 1e4)
MIN_RELATIVE_ROWS = 50

# One configuration for every data set (the notebook's, the simulation's, a user's own): chosen
# on the notebook's generator and the simulated history together, see bench/models.py.
POINT_PARAMS = dict(
    loss="poisson",
    learning_rate=0.1,
    max_iter=200,
    max_leaf_nodes=8,
    min_samples_leaf=40,
    interaction_cst="no_interactions",
)
# The plain model answers only rows without an exposure (no follower count, or for likes no rate):
# the same trees in half the steps, twice as long (a fit's cost on a few thousand posts is per step).
FALLBACK_PARAMS = {**POINT_PARAMS, "learning_rate": 0.2, "max_iter": 100}


def single_threaded(fn):
    """Run with one OpenMP thread. The boosted trees spin-wait for their threads: on a busy 2-core
    machine a fit took 35 s with the default threads and 2.9 s with one (make bench)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        # threadpoolctl limits only the libraries loaded already: scikit-learn loads the OpenMP runtime.
        import sklearn  # noqa: F401

        with threadpool_limits(limits=1, user_api="openmp"):
            return fn(*args, **kwargs)

    return wrapper


def _fit_relative(x: pd.DataFrame, y: np.ndarray, level: np.ndarray, columns: list[str], random_state: int) -> Pipeline:
    # Poisson on count / level weighted by level: the same likelihood as an offset log(level).
    return boosted_pipeline(columns, random_state, **sized_for(POINT_PARAMS, len(x))).fit(
        x, y / level, model__sample_weight=level
    )


def _fit_per_exposure(
    x: pd.DataFrame, y: np.ndarray, exposure: np.ndarray, columns: list[str], random_state: int
) -> Pipeline:
    """Poisson on count / exposure, unweighted: every post weighs the same in relative terms, which
    suits noise that multiplies the count (weighting by exposure, as an offset would, lets the few
    largest accounts decide the shape: 0.91 of the best R² for likes at n = 3,000 against 0.97)."""
    return boosted_pipeline(columns, random_state, **sized_for(POINT_PARAMS, len(x))).fit(x, y / exposure)


def _rate_factor_fit(values: np.ndarray, rate_per_exposure: np.ndarray) -> tuple[float, float]:
    """(kappa, center) of the Poisson model count / exposure = a (1 + kappa rate), unweighted as the
    trees after it; a is profiled out (its MLE given kappa), kappa searched on a log scale. Unknown
    rates sit at the center, the mean known rate."""
    known = ~np.isnan(values)
    rate = np.clip(values[known], 0.0, None)
    center = float(rate.mean()) if len(rate) else 0.0
    if center == 0.0 or rate.std() == 0.0:
        return 0.0, center
    y = rate_per_exposure[known]

    def deviance(log_kappa: float) -> float:
        factor = 1.0 + math.exp(log_kappa) * rate
        mean = factor * (y.sum() / factor.sum())
        return float(np.sum(mean - y * np.log(mean)))

    from scipy.optimize import minimize_scalar

    low, high = (math.log(k / center) for k in RATE_FACTOR_KAPPA_RANGE)
    best = minimize_scalar(deviance, bounds=(low, high), method="bounded")
    return math.exp(best.x), center


def _relative_helps(x: pd.DataFrame, y: np.ndarray, level: np.ndarray, columns: list[str], random_state: int) -> bool:
    """Fit both forms on the older rows and keep the relative one only if it predicts the newest
    CALIBRATION_FRACTION of rows with known level better (RMSE): a short history may not support it."""
    n_calibration = int(len(x) * CALIBRATION_FRACTION)
    fit, cal = np.arange(len(x)) < len(x) - n_calibration, np.arange(len(x)) >= len(x) - n_calibration
    known = level > 0
    if (cal & known).sum() < MIN_CALIBRATION_ROWS or (fit & known).sum() < MIN_CALIBRATION_ROWS:
        return False
    absolute = boosted_pipeline(columns, random_state, **sized_for(POINT_PARAMS, int(fit.sum()))).fit(x[fit], y[fit])
    relative = _fit_relative(x[fit & known], y[fit & known], level[fit & known], columns, random_state)
    rows = cal & known
    absolute_rmse = regression_metrics(y[rows], absolute.predict(x[rows]))["rmse"]
    relative_rmse = regression_metrics(y[rows], level[rows] * relative.predict(x[rows]))["rmse"]
    return relative_rmse < absolute_rmse


def _fit_points(
    df: pd.DataFrame, columns: list[str], target: str, random_state: int, relative: bool | None = None
) -> TargetModel:
    """The point models (plain, per exposure with its rate factor, relative), tabulated. `relative`:
    whether to fit the relative form, None to decide by `_relative_helps`."""
    x = prepared(df, columns)
    y = df[target].to_numpy(dtype=float)
    point = boosted_pipeline(columns, random_state, **sized_for(FALLBACK_PARAMS, len(x))).fit(x, y)
    exposure_of = tuple(c for c in ACCOUNT_EXPOSURE[target] if c in columns)
    model = TargetModel(target, columns, point, account_exposure=exposure_of)
    exposure = np.exp(log_factors(x, exposure_of).sum(axis=1))
    has_exposure = ~np.isnan(exposure)
    # The exposure form is the shape of counts (an account's reach scales with its followers), not
    # a choice made on a noisy calibration split: kept whenever enough rows know their exposure.
    if has_exposure.sum() >= MIN_RELATIVE_ROWS:
        if RATE_FACTOR_COLUMN in columns:
            model.rate_factor_kappa, model.rate_factor_center = _rate_factor_fit(
                x[RATE_FACTOR_COLUMN].to_numpy(dtype=float)[has_exposure], y[has_exposure] / exposure[has_exposure]
            )
            exposure = exposure * np.exp(rate_factor_log(x, model.rate_factor_kappa, model.rate_factor_center))
        model.per_follower = _fit_per_exposure(
            x[has_exposure], y[has_exposure], exposure[has_exposure], columns, random_state
        )
    exposure_column = EXPOSURE_COLUMNS[target]
    model.exposure_column = exposure_column
    if exposure_column in df.columns:
        level = pd.to_numeric(df[exposure_column], errors="coerce").astype("float64").to_numpy()
        known = level > 0
        if known.sum() >= MIN_RELATIVE_ROWS and (
            relative if relative is not None else _relative_helps(x, y, level, columns, random_state)
        ):
            model.relative = _fit_relative(x[known], y[known], level[known], columns, random_state)
    model.tables = {name: tabulate(pipeline, x) for name, pipeline in model._pipelines().items()}
    return model


def _fit_target(
    df: pd.DataFrame, columns: list[str], target: str, random_state: int, quantiles: tuple[float, ...]
) -> TargetModel:
    model = _fit_points(df, columns, target, random_state)
    x, y = prepared(df, columns), df[target].to_numpy(dtype=float)
    fit_interval(
        model,
        df,
        x,
        np.log1p(y),
        random_state,
        quantiles,
        lambda older, relative: _fit_points(older, columns, target, random_state, relative=relative),
    )
    model.followers_range = (float(x["user_followers"].min()), float(x["user_followers"].max()))
    keep = columns + ([model.exposure_column] if model.relative is not None else [])
    model.background = df[keep].sample(n=min(BACKGROUND_ROWS, len(df)), random_state=random_state)
    model.background = model.background.reset_index(drop=True)
    model._background_terms()  # the background's terms, computed once at training
    return model


def _target_rows(df: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows that know `target` (a Bluesky post has likes and no reach), oldest first, checked."""
    if target not in df.columns:
        raise ValueError(f"the training frame lacks the target column {target}")
    df = with_daypart(df).dropna(subset=[target])
    if "published_at" in df.columns:
        # Oldest first (synthetic rows, without a time, first of all): calibration uses the newest.
        df = df.sort_values("published_at", kind="stable", na_position="first")
    if (df[target] < 0).any():
        raise ValueError(f"{target} must be a non-negative count")
    if not (df[target] > 0).any():  # a Poisson model has nothing to scale from
        raise ValueError(
            f"{target} is 0 on every one of the {len(df)} training posts that report it: "
            "the models need at least one post with a positive count"
        )
    return df


@single_threaded
def train_target(
    df: pd.DataFrame, target: str, *, random_state: int = 42, quantiles: tuple[float, ...] = QUANTILES
) -> TargetModel:
    """One target's model from the rows of `df` that know it. Where those rows hold more than one
    network, `network` is a feature (a factor per network); the model records its networks."""
    rows = _target_rows(df, target)
    columns = feature_columns(rows)
    networks = networks_of(rows)
    if len(networks) < 2 and NETWORK_COLUMN in columns:
        columns.remove(NETWORK_COLUMN)
    model = _fit_target(rows, columns, target, random_state, quantiles)
    model.networks = networks
    return model


def train_models(
    df: pd.DataFrame, *, random_state: int = 42, quantiles: tuple[float, ...] = QUANTILES
) -> TrainedModels:
    """Train both models from a frame with the features and the `reach` and `likes` columns: each on
    the rows that know its target (reach is NULL on a network without impressions)."""
    missing = [t for t in TARGETS if t not in df.columns]
    if missing:
        raise ValueError(f"the training frame lacks target columns: {', '.join(missing)}")
    reach, likes = (train_target(df, t, random_state=random_state, quantiles=quantiles) for t in TARGETS)
    return TrainedModels(
        reach=reach, likes=likes, n_train=len(df.dropna(subset=["likes"])), params=training_params([reach, likes])
    )


def training_params(target_models: list[TargetModel]) -> dict:
    """The settings the models were trained with, and each one's features and networks (the registry's params)."""
    return {
        "point": POINT_PARAMS,
        "fallback": FALLBACK_PARAMS,
        "spread": SPREAD_PARAMS,
        "quantiles": list(target_models[0].interval_levels),
        "features": {m.target: m.columns for m in target_models},
        "networks": {m.target: list(m.networks) for m in target_models},
    }


def time_holdout_split(
    df: pd.DataFrame, time_column: str, test_fraction: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on the older posts, test on the newest `test_fraction`: the future never leaks in."""
    ordered = df.sort_values([time_column] + (["post_id"] if "post_id" in df.columns else []), kind="stable")
    n_test = int(math.ceil(len(ordered) * test_fraction))
    return ordered.iloc[: len(ordered) - n_test], ordered.iloc[len(ordered) - n_test :]


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return {
        "r2": float(r2_score(y_true, y_pred)),
        "rmse": float(math.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
    }
