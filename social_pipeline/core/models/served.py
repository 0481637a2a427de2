"""The served model of one target: its point and interval predictions and their exact explanations.

Reach and likes are counts built from multiplicative parts (followers x rate x boosts), so each
point model is a gradient-boosted Poisson regression (log link) whose trees may not interact: a sum
of one-feature effects on the log scale, i.e. a product of per-feature factors. Every model is held
as exact per-feature tables (`core/additive.py`), which predictions and explanations evaluate.
Training is in training.py, the intervals' calibration in intervals.py, the saved format in
saved_format.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

import numpy as np
import pandas as pd

from ..additive import AdditiveTrees
from .inputs import (
    RATE_FACTOR_COLUMN,
    Arrays,
    feature_arrays,
    log_factors,
    network_column,
    rate_factor_log,
    rows_of,
)

if TYPE_CHECKING:  # scikit-learn loads where a model is built or unpickled (inputs.py says why)
    from sklearn.pipeline import Pipeline

# The layout of a saved TargetModel; saved_format.py converts the one before it.
FORMAT_VERSION = 2
# p10 and p90: the interval's levels.
QUANTILES = (0.1, 0.9)


@dataclass
class TargetModel:
    """One target's point models and its interval model (p10/p90), all taking the same feature frame.

    `point` predicts the count itself. `relative`, when the training rows carry the user's trailing
    mean of the target (`exposure_column`), predicts the count relative to it: a Poisson model of
    count / level weighted by level, the classical exposure offset. Rows with a known level use
    level x relative; others (a new user, the notebook's layout) use `per_follower` where the
    account's exposure is known, else `point`.

    Every model is also held as exact per-feature tables (`core/additive.py`), which is what
    predictions and explanations evaluate: microseconds instead of a walk through hundreds of trees.
    """

    target: str
    columns: list[str]
    point: Pipeline
    # Training rows the explanations compare with ("a typical post of this data").
    background: pd.DataFrame | None = None
    relative: Pipeline | None = None
    exposure_column: str | None = None
    # The training rows' follower counts (min, max). Trees do not extrapolate: outside this range
    # a prediction without the user's level leans on the nearest account size (scaled per follower
    # when `per_follower` is kept).
    followers_range: tuple[float, float] | None = None
    # Without the user's level: count per unit of the account's exposure (the product of
    # `account_exposure`'s columns: ACCOUNT_EXPOSURE). It scales with the follower count where the
    # trees alone would flatten outside the training accounts.
    per_follower: Pipeline | None = None
    account_exposure: tuple[str, ...] = ("user_followers",)
    # The rate part of the exposure: (1 + kappa x RATE_FACTOR_COLUMN) / (1 + kappa x center); none at kappa 0.
    rate_factor_kappa: float = 0.0
    rate_factor_center: float = 0.0
    # The models as tables, and each table's terms on the background rows (built at training).
    tables: dict[str, AdditiveTrees] | None = None
    background_terms: dict[str, np.ndarray] | None = None
    # The interval around the point: p10 = expm1(log1p(point) - low x spread), p90 likewise with
    # + high x spread; spread > 0 from `spread` (a Poisson model of |log1p(y) - log1p(point)|),
    # (low, high) > 0 conformal (intervals.py).
    spread: Pipeline | None = None
    spread_multipliers: tuple[float, float] = (0.0, 0.0)
    interval_levels: tuple[float, float] = QUANTILES
    # The networks of the training rows: the model answers drafts of these only. Models saved before
    # the field was trained on X posts alone.
    networks: tuple[str, ...] = ("x",)
    # The saved layout this object has (saved_format.py reads this one and the one before).
    format_version: int = FORMAT_VERSION

    def exposure(self, df: pd.DataFrame) -> np.ndarray:
        """The user's level for each row, NaN where unknown or where there is no relative model."""
        if self.relative is None or self.exposure_column not in df.columns:
            return np.full(len(df), np.nan)
        level = pd.to_numeric(df[self.exposure_column], errors="coerce").astype("float64").to_numpy()
        return np.where(level > 0, level, np.nan)

    def _exposure_columns(self) -> list[str]:
        """The columns the per-follower model's exposure is a product of factors of, one factor each."""
        columns = list(self.account_exposure)
        if self.rate_factor_kappa and RATE_FACTOR_COLUMN not in columns:
            columns.append(RATE_FACTOR_COLUMN)
        return columns

    def _exposure_logs(self, x: Arrays | pd.DataFrame) -> np.ndarray:
        """(rows, `_exposure_columns`): the log of each column's exposure factor where the per-follower
        model applies, NaN where a factor is unknown or 0."""
        columns = self._exposure_columns()
        if self.per_follower is None or any(c not in x for c in columns):
            return np.full((len(x[self.columns[0]]), 1), np.nan)
        account = self.account_exposure
        logs = np.column_stack([log_factors(x, [c])[:, 0] if c in account else np.zeros(len(x[c])) for c in columns])
        if self.rate_factor_kappa:
            k = columns.index(RATE_FACTOR_COLUMN)
            logs[:, k] += rate_factor_log(x, self.rate_factor_kappa, self.rate_factor_center)
        return logs

    def _account_exposure(self, x: Arrays | pd.DataFrame) -> np.ndarray:
        """The account's exposure where the per-follower model applies, NaN elsewhere."""
        return np.exp(self._exposure_logs(x).sum(axis=1))

    def _tables(self) -> dict[str, AdditiveTrees]:
        assert self.tables is not None, "the model has no tables: it was not trained or converted"
        return self.tables

    def _pipelines(self) -> dict[str, Pipeline]:
        named = {
            "point": self.point,
            "per_follower": self.per_follower,
            "relative": self.relative,
            "spread": self.spread,
        }
        return {name: model for name, model in named.items() if model is not None}

    def _background_terms(self) -> dict[str, np.ndarray]:
        """Each point table's terms on the background rows (rows, columns), their exposure logs and levels."""
        if self.background_terms is None:
            assert self.background is not None, "the model keeps no background rows to explain with"
            background = feature_arrays(self.background, self.columns)
            terms = {
                name: table.terms(background)
                for name, table in self._tables().items()
                if name in ("point", "per_follower", "relative")
            }
            self.background_terms = {
                **terms,
                "exposure_logs": self._exposure_logs(background),
                "levels": self.exposure(self.background),
            }
        return self.background_terms

    def _without_level(self, x: Arrays) -> np.ndarray:
        """The prediction for rows with no user level: per exposure x exposure where known, else `point`."""
        tables = self._tables()
        exposure = self._account_exposure(x)
        known = ~np.isnan(exposure)
        out = np.empty(len(exposure))
        if (~known).any():
            out[~known] = tables["point"].predict(rows_of(x, ~known))
        if known.any():
            out[known] = exposure[known] * tables["per_follower"].predict(rows_of(x, known))
        return out

    def contributions(self, df: pd.DataFrame) -> pd.DataFrame:
        """Exact per-prediction Shapley values of each feature on the log of the point prediction.

        The point models have no feature interactions, so log(prediction) = b + sum_f g_f(x_f) (plus
        log(exposure) and log(level) offsets), and the interventional Shapley value of f is the mean
        over the background of log prediction(background row with f set to the row's value) minus
        the mean of log prediction(background row). With the tables' terms of the background rows
        precomputed, that is a (background rows x features) sum, no model evaluation. exp(value) is
        the factor by which the feature moves this prediction against a typical post. With a known
        level, `exposure_column` holds log(level) - mean log(background level).
        """
        x = feature_arrays(df, self.columns)
        levels = self.exposure(df)
        extra = [self.exposure_column] if self.relative is not None else []
        out = np.zeros((len(df), len(self.columns) + len(extra)))
        tables, background_terms = self._tables(), self._background_terms()
        for i in range(len(df)):
            row = rows_of(x, [i])
            if not np.isnan(levels[i]):
                bg_levels = background_terms["levels"]
                kept = ~np.isnan(bg_levels)
                terms = background_terms["relative"][kept]
                out[i, : len(self.columns)] = tables["relative"].terms(row)[0] - terms.mean(axis=0)
                out[i, len(self.columns)] = np.log(levels[i]) - np.log(bg_levels[kept]).mean()
            else:
                out[i, : len(self.columns)] = self._no_level_shapley(row, tables, background_terms)
        return pd.DataFrame(out, index=df.index, columns=self.columns + extra)

    def _no_level_shapley(self, row: Arrays, tables: dict, background_terms: dict) -> np.ndarray:
        """Shapley values without a level, where each evaluated row takes the per-exposure model when
        its exposure is known and `point` otherwise (setting an exposure column can switch it)."""
        bg_logs, row_logs = background_terms["exposure_logs"], self._exposure_logs(row)[0]
        if not np.isnan(row_logs).any():
            # The same model for every row of the comparison: background posts with an exposure.
            kept = ~np.isnan(bg_logs).any(axis=1)
            bg_logs = bg_logs[kept]
            background_terms = {
                name: background_terms[name][kept] for name in ("point", "per_follower") if name in background_terms
            }
        exposure_columns = self._exposure_columns()
        # Log exposure of each evaluated row: background row b with feature f set to the row's value.
        log_exposure = np.repeat(bg_logs.sum(axis=1)[:, None], len(self.columns), axis=1)
        for k, column in enumerate(exposure_columns if self.per_follower is not None else []):
            f = self.columns.index(column)
            log_exposure[:, f] = np.delete(bg_logs, k, axis=1).sum(axis=1) + row_logs[k]

        def evaluated(name: str) -> tuple[np.ndarray, np.ndarray]:
            # raw(b with f := x_f) = raw(b) - term_f(b_f) + term_f(x_f); and raw(b) itself.
            terms = background_terms[name]
            raw = tables[name].intercept + terms.sum(axis=1)
            return raw[:, None] - terms + tables[name].terms(row)[0][None, :], raw

        point_mixed, point_raw = evaluated("point")
        if "per_follower" in tables:
            exposed_mixed, exposed_raw = evaluated("per_follower")
        else:
            exposed_mixed, exposed_raw = point_mixed, point_raw
        mixed = np.where(np.isnan(log_exposure), point_mixed, log_exposure + exposed_mixed)
        bg_log_exposure = bg_logs.sum(axis=1)
        base = np.where(np.isnan(bg_log_exposure), point_raw, bg_log_exposure + exposed_raw)
        return mixed.mean(axis=0) - base.mean()

    def _point(self, x: Arrays, levels: np.ndarray) -> np.ndarray:
        point = self._without_level(x)
        known = ~np.isnan(levels)
        if known.any():
            point[known] = levels[known] * self._tables()["relative"].predict(rows_of(x, known))
        return point

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        x = feature_arrays(df, self.columns)
        levels = self.exposure(df)
        point = self._point(x, levels)
        out = {self.target: point}
        spread = self._tables()["spread"].predict(self._quantile_frame(x, levels))
        (low_q, high_q), (low, high) = self.interval_levels, self.spread_multipliers
        log_point = np.log1p(point)
        # Strictly around the point: spread > 0 (log link) and both multipliers > 0.
        out[f"{self.target}_p{round(low_q * 100)}"] = np.clip(np.expm1(log_point - low * spread), 0, None)
        out[f"{self.target}_p{round(high_q * 100)}"] = np.expm1(log_point + high * spread)
        return pd.DataFrame(out, index=df.index)

    @overload
    def _quantile_frame(self, x: pd.DataFrame, levels: np.ndarray) -> pd.DataFrame: ...
    @overload
    def _quantile_frame(self, x: Arrays, levels: np.ndarray) -> Arrays: ...
    def _quantile_frame(self, x: Arrays | pd.DataFrame, levels: np.ndarray) -> Arrays | pd.DataFrame:
        # The spread sees the level as one more feature (log1p; NaN where unknown).
        if self.relative is None:
            return x
        return (
            x.assign(user_level=np.log1p(levels))
            if isinstance(x, pd.DataFrame)
            else {**x, "user_level": np.log1p(levels)}
        )


@dataclass
class TrainedModels:
    """The reach and likes models trained together; `.predict(df)` gives a DataFrame with
    reach, likes and their p10/p90, for rows in the notebook's layout or the warehouse's. `reach` is
    None where no post reported one (Bluesky alone)."""

    reach: TargetModel | None
    likes: TargetModel
    n_train: int
    params: dict = field(default_factory=dict)

    def reach_available(self, network: str) -> bool:
        """Whether a reach model was trained on `network`'s posts (none on a network without impressions)."""
        return self.reach is not None and network in self.reach.networks

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Reach is NaN (with its interval) for rows of a network the reach model was not trained on:
        one that counts no impressions (Bluesky)."""
        likes = self.likes.predict(df)
        if self.reach is None:
            levels = [f"reach_p{round(q * 100)}" for q in self.likes.interval_levels]
            reach = pd.DataFrame(np.nan, index=df.index, columns=["reach", *levels])
        else:
            reach = self.reach.predict(df)
            without_reach = ~network_column(df).isin(self.reach.networks).to_numpy()
            if without_reach.any():
                reach.loc[without_reach, :] = np.nan
        return pd.concat([reach, likes], axis=1)

    def target_model(self, target: str) -> TargetModel:
        model = {"reach": self.reach, "likes": self.likes}[target]
        if model is None:
            raise ValueError(f"no {target} model was trained: no training post reported {target}")
        return model
