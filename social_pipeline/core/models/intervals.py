"""The interval around the point: p10 and p90 from a fitted spread of the outcome times conformal multipliers.

p10 = expm1(log1p(point) - low x spread), p90 = expm1(log1p(point) + high x spread): the spread is a
Poisson model (positive by construction) of |log1p(y) - log1p(point)|, with the point models' kind of
trees; (low, high) > 0 come from split conformal calibration on the newest rows, so the point lies
strictly inside every interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..additive import tabulate
from .inputs import MIN_EARLY_STOPPING_ROWS, boosted_pipeline, feature_arrays
from .served import TargetModel

if TYPE_CHECKING:  # SciPy and scikit-learn load where they are used (inputs.py says why)
    from sklearn.pipeline import Pipeline

CALIBRATION_FRACTION = 0.2
MIN_CALIBRATION_ROWS = 10
# The spread's trees: leaves of 40 even on a short history (smaller ones fit the noise).
SPREAD_PARAMS = dict(
    loss="poisson",
    learning_rate=0.15,
    max_iter=100,
    max_leaf_nodes=8,
    min_samples_leaf=40,
    interaction_cst="no_interactions",
)
# Floor of the conformal multipliers: a degenerate calibration (no outcome below the point) still
# leaves the point strictly inside.
MIN_SPREAD_MULTIPLIER = 1e-3
# Below MIN_EARLY_STOPPING_ROWS the calibration scores come from up to this many blocks of
# CALIBRATION_FRACTION of the rows (newest first), each scored by point models fitted on the rows
# before it, as long as those are at least MIN_ORIGIN_ROWS.
ROLLING_CALIBRATION_BLOCKS, MIN_ORIGIN_ROWS = 3, 100
# There the level holds the nominal share with 1 - this probability over calibration draws.
CALIBRATION_RISK = 0.1


def interval_coverage(y_true, low, high) -> float:
    """Share of actual values inside [low, high]."""
    y_true = np.asarray(y_true, dtype=float)
    return float(np.mean((y_true >= np.asarray(low, dtype=float)) & (y_true <= np.asarray(high, dtype=float))))


def spread_model(columns: list[str], with_level: bool, random_state: int) -> Pipeline:
    # With a relative model, the spread sees log1p(the user's level) as one more feature. Its trees
    # keep leaves of 40 on a short history, as the quantile models did: smaller ones fit the noise.
    extra = ("user_level",) if with_level else ()
    return boosted_pipeline(columns, random_state, extra, **SPREAD_PARAMS)


def conformal_spread(
    views: list[tuple[pd.DataFrame, np.ndarray]],
    columns: list[str],
    with_level: bool,
    random_state: int,
    levels: tuple[float, float],
    earlier: Sequence[tuple[pd.DataFrame, np.ndarray]] = (),
) -> tuple[Pipeline, tuple[float, float]]:
    """Split conformal around the point. `views`: (spread features, log ratio) over the same rows in
    time order, log ratio = log1p(y) - log1p(point), NaN where a row is not in that view; `earlier`:
    more calibration scores of that kind. Fit the spread (mean |log ratio|) on the older rows; the
    multipliers (below, above) are a shape from those rows times one size, the joint score's
    quantile on the newest CALIBRATION_FRACTION. The spread is kept as fitted, so the multipliers are
    measured on the model that serves. Too few rows to calibrate on: the fitted rows calibrate."""
    from scipy.stats import binom

    n_rows = len(views[0][1])
    n_calibration = int(n_rows * CALIBRATION_FRACTION)
    fit = np.arange(n_rows) < (n_rows - n_calibration if n_calibration >= MIN_CALIBRATION_ROWS else n_rows)
    calibration = ~fit if fit.sum() < n_rows else fit

    def stacked(rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        kept = [rows & ~np.isnan(ratio) for _, ratio in views]
        return (
            pd.concat([x[k] for (x, _), k in zip(views, kept, strict=True)], ignore_index=True),
            np.concatenate([ratio[k] for (_, ratio), k in zip(views, kept, strict=True)]),
        )

    fit_x, fit_ratio = stacked(fit)
    spread = spread_model(columns, with_level, random_state).fit(fit_x, np.abs(fit_ratio))
    low_q, high_q = levels
    # The interval's shape (how far below against above the point, in spreads) from the fitted rows;
    # its size from one score on the calibration rows at the joint level: a tail of a tenth of the
    # few dozen calibration rows of a short history is a handful of posts.
    fit_z = fit_ratio / spread.predict(fit_x)
    low_shape = max(MIN_SPREAD_MULTIPLIER, -float(np.quantile(fit_z, low_q)))
    high_shape = max(MIN_SPREAD_MULTIPLIER, float(np.quantile(fit_z, high_q)))
    calibration_x, calibration_ratio = stacked(calibration)
    if earlier:
        calibration_x = pd.concat([calibration_x] + [view_x[~np.isnan(r)] for view_x, r in earlier], ignore_index=True)
        calibration_ratio = np.concatenate([calibration_ratio] + [r[~np.isnan(r)] for _, r in earlier])
    z = calibration_ratio / spread.predict(calibration_x)
    scores = np.maximum(-z / low_shape, z / high_shape)
    # Split conformal's finite-sample level, ceil((n + 1) share) / n, n counting each row once (its
    # views are not independent). A short history (scores from `earlier` blocks too) takes the level
    # that holds the share for this draw with 1 - CALIBRATION_RISK confidence (training-conditional
    # conformal): its few hundred scores come from periods whose errors differ by a third.
    n = int(calibration.sum()) + sum(len(r) for _, r in earlier[:: len(views)])
    share = (
        (binom.ppf(1 - CALIBRATION_RISK, n, high_q - low_q) + 1) / n
        if earlier
        else math.ceil((n + 1) * (high_q - low_q)) / n
    )
    size = max(MIN_SPREAD_MULTIPLIER, float(np.quantile(scores, min(1.0, share), method="higher")))
    return spread, (size * low_shape, size * high_shape)


def log_ratios(model: TargetModel, df: pd.DataFrame, log_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log1p(y) - log1p(point) with the users' levels, and without them (NaN where there was no level)."""
    arrays, levels = feature_arrays(df, model.columns), model.exposure(df)
    without = np.where(np.isnan(levels), np.nan, log_y - np.log1p(model._without_level(arrays)))
    return log_y - np.log1p(model._point(arrays, levels)), without


def fit_interval(
    model: TargetModel,
    df: pd.DataFrame,
    x: pd.DataFrame,
    log_y: np.ndarray,
    random_state: int,
    quantiles: tuple[float, ...],
    refit_points: Callable[[pd.DataFrame, bool], TargetModel],
) -> None:
    """Fit `model`'s spread and calibrate its multipliers on the rows `df` (`x`: its prepared features,
    `log_y`: log1p of the target), oldest first. `refit_points(older rows, relative)`: the point models
    fitted on older rows alone, in the served model's form (relative or not)."""
    columns = model.columns
    levels = model.exposure(df)
    qx = model._quantile_frame(x, levels)
    with_level = model.relative is not None
    model.interval_levels = (min(quantiles), max(quantiles))
    with_levels, without_levels = log_ratios(model, df, log_y)
    # The calibration rows' points come from the served models, which saw them: from 1,000 rows on
    # (early stopping) they fit little noise, and refitting them on the older rows cost 1.6-1.7x the
    # fit CPU for under a point of held-out coverage (48 unseen generator seeds: 79.8% -> 80.3%).
    # Below, all steps run and fit the noise (in-sample points held 72-77% on 24 small seeded
    # histories of 400-1,100 posts): there the calibration rows are scored by point models refitted
    # on the rows before them, and so are up to two earlier blocks.
    views = [(qx, with_levels)]
    if with_level:
        # The same users are also asked about without their level (a draft of a new account, the
        # notebook's layout), where the point is less sure: the spread learns from both answers.
        views.append((model._quantile_frame(x, np.full(len(df), np.nan)), without_levels))
    n_calibration = int(len(df) * CALIBRATION_FRACTION)
    earlier = []
    if len(df) < MIN_EARLY_STOPPING_ROWS and n_calibration >= MIN_CALIBRATION_ROWS:
        for block in range(ROLLING_CALIBRATION_BLOCKS):
            # Block 0 is the calibration rows; earlier ones, each predicted by points fitted on the
            # rows before it, add scores: one period's errors were 0.26-0.35 on the log scale.
            stop = len(df) - block * n_calibration
            begin = stop - n_calibration
            if begin < MIN_ORIGIN_ROWS:
                break
            # In the served model's form: deciding it again would cost two more fits per block.
            older = refit_points(df.iloc[:begin], with_level)
            with_, without = log_ratios(older, df.iloc[begin:stop], log_y[begin:stop])
            # The older model may have no relative form: then its answer without a level is its only one.
            without = np.where(np.isnan(levels[begin:stop]), np.nan, np.where(np.isnan(without), with_, without))
            scored = [with_, without][: len(views)]
            if block == 0:
                for (_, ratio), new in zip(views, scored, strict=True):
                    ratio[begin:stop] = new
    model.spread, model.spread_multipliers = conformal_spread(
        views, columns, with_level, random_state, model.interval_levels, earlier
    )
    assert model.tables is not None  # the point models' tables are built before the interval
    model.tables["spread"] = tabulate(model.spread, pd.concat([view_x for view_x, _ in views], ignore_index=True))
