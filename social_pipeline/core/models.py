"""The reach and likes models: scikit-learn pipelines, their training, evaluation and intervals.

Reach and likes are counts built from multiplicative parts (followers x rate x boosts), so each
point model is a gradient-boosted Poisson regression (log link) whose trees may not interact:
a sum of one-feature effects on the log scale, i.e. a product of per-feature factors. Follower
counts enter as log1p. p10 and p90 are set around the point prediction: log1p(point) minus / plus
a fitted spread of the outcome around it (the same structure) times conformal multipliers. `bench/models.py` compares this choice with
the notebook's GradientBoostingRegressor on raw counts and with unconstrained trees.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.stats import binom
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

from threadpoolctl import threadpool_limits

from .additive import AdditiveTrees, tabulate
from .features import daypart

TARGETS = ("reach", "likes")
LOG_FEATURES = ("user_followers",)
NUMERIC_FEATURES = (
    "user_avg_engagement_rate", "post_text_len", "post_text_words", "num_hashtags", "num_mentions",
    "num_emojis", "has_link", "num_media_items", "hour",
)
CATEGORICAL_FEATURES = ("media_type", "daypart", "day_of_week")
FEATURES = LOG_FEATURES + NUMERIC_FEATURES + CATEGORICAL_FEATURES
QUANTILES = (0.1, 0.9)
BACKGROUND_ROWS = 200
CALIBRATION_FRACTION = 0.2
MIN_CALIBRATION_ROWS = 10
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
RATE_FACTOR_COLUMN = "user_avg_engagement_rate"
# kappa is searched on a log scale between these multiples of 1 / (the mean rate).
RATE_FACTOR_KAPPA_RANGE = (1e-3, 1e4)
MIN_RELATIVE_ROWS = 50

# One configuration for every data set (the notebook's, the simulation's, a user's own): chosen
# on the notebook's generator and the simulated history together, see bench/models.py.
POINT_PARAMS = dict(loss="poisson", learning_rate=0.1, max_iter=200, max_leaf_nodes=8, min_samples_leaf=40,
                    interaction_cst="no_interactions")
# The plain model answers only rows without an exposure (no follower count, or for likes no rate):
# the same trees in half the steps, twice as long (a fit's cost on a few thousand posts is per step).
FALLBACK_PARAMS = {**POINT_PARAMS, "learning_rate": 0.2, "max_iter": 100}
QUANTILE_PARAMS = dict(learning_rate=0.15, max_iter=100, max_leaf_nodes=8, min_samples_leaf=40,
                       interaction_cst="no_interactions")
# The interval's spread: the mean absolute log1p distance of the outcome from the point prediction,
# a Poisson model (log link: positive by construction) with the quantile models' trees.
SPREAD_PARAMS = {**QUANTILE_PARAMS, "loss": "poisson"}
# Floor of the conformal multipliers: a degenerate calibration (no outcome below the point) still
# leaves the point strictly inside.
MIN_SPREAD_MULTIPLIER = 1e-3
# Below MIN_EARLY_STOPPING_ROWS the calibration scores come from up to this many blocks of
# CALIBRATION_FRACTION of the rows (newest first), each scored by point models fitted on the rows
# before it, as long as those are at least MIN_ORIGIN_ROWS.
ROLLING_CALIBRATION_BLOCKS, MIN_ORIGIN_ROWS = 3, 100
# There the level holds the nominal share with 1 - this probability over calibration draws.
CALIBRATION_RISK = 0.1
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


def single_threaded(fn):
    """Run with one OpenMP thread. The boosted trees spin-wait for their threads: on a busy 2-core
    machine a fit took 35 s with the default threads and 2.9 s with one (make bench)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="openmp"):
            return fn(*args, **kwargs)
    return wrapper


def with_daypart(df: pd.DataFrame) -> pd.DataFrame:
    """The notebook's layout has `hour` and no `daypart`; ours has both."""
    if "daypart" in df.columns or "hour" not in df.columns:
        return df
    return df.assign(daypart=daypart(df["hour"].to_numpy()))


def feature_columns(df: pd.DataFrame) -> list[str]:
    """The known features present in `df` (the notebook's layout has no post_text_words)."""
    missing = [c for c in ("user_followers", "media_type", "daypart") if c not in df.columns]
    if missing:
        raise ValueError(f"the frame lacks required feature columns: {', '.join(missing)}")
    return [c for c in FEATURES if c in df.columns]


def _preprocessor(columns: list[str], extra: tuple[str, ...] = ()) -> ColumnTransformer:
    categorical = [c for c in CATEGORICAL_FEATURES if c in columns]
    return ColumnTransformer(
        [
            ("log", FunctionTransformer(np.log1p, feature_names_out="one-to-one"), [c for c in LOG_FEATURES if c in columns]),
            ("num", "passthrough", [c for c in NUMERIC_FEATURES if c in columns] + list(extra)),
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                   encoded_missing_value=-2), categorical),
        ],
        verbose_feature_names_out=False,
    )


def _model(columns: list[str], random_state: int, extra: tuple[str, ...] = (), **params) -> Pipeline:
    n_categorical = sum(c in columns for c in CATEGORICAL_FEATURES)
    categorical_mask = [False] * (len(columns) + len(extra) - n_categorical) + [True] * n_categorical
    return Pipeline([
        ("features", _preprocessor(columns, extra)),
        ("model", HistGradientBoostingRegressor(categorical_features=categorical_mask, random_state=random_state,
                                                **params)),
    ])


def _prepared(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = with_daypart(df)
    frame = frame[columns].copy()
    for column in columns:
        # Nullable warehouse types (pd.NA) become float NaN, which the trees treat as missing.
        frame[column] = frame[column].astype(str) if column in CATEGORICAL_FEATURES else \
            pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


Arrays = dict[str, np.ndarray]


def _feature_arrays(df: pd.DataFrame, columns: list[str]) -> Arrays:
    """`_prepared` as one array per column: what the tables read, without a DataFrame's per-access cost."""
    frame = with_daypart(df)
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


def _rows(x: Arrays, rows) -> Arrays:
    return {column: values[rows] for column, values in x.items()}


def _rate_factor_log(x: Arrays | pd.DataFrame, kappa: float, center: float, legacy_slope: float = 0.0) -> np.ndarray:
    """log((1 + kappa rate) / (1 + kappa center)) of the RATE_FACTOR_COLUMN, 0 where it is unknown (as
    if at the center). Models saved before the factor carry a log-linear slope instead: slope x (rate - center)."""
    values = np.asarray(x[RATE_FACTOR_COLUMN], dtype=float)
    known = ~np.isnan(values)
    if legacy_slope:
        return np.where(known, legacy_slope * (np.where(known, values, center) - center), 0.0)
    rate = np.clip(np.where(known, values, center), 0.0, None)
    return np.where(known, np.log1p(kappa * rate) - math.log1p(kappa * center), 0.0)


def _log_factors(x: Arrays | pd.DataFrame, columns) -> np.ndarray:
    """(rows, columns): log of each column, NaN where it is unknown or not positive."""
    values = np.column_stack([np.asarray(x[c], dtype=float) for c in columns])
    positive = values > 0
    return np.where(positive, np.log(np.where(positive, values, 1.0)), np.nan)


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
    # Models saved before `spread`: quantile models of log1p(count), and their conformal widening
    # (added to p90 and taken from p10 on the log1p scale). Empty / 0 on newer models.
    quantiles: dict[float, Pipeline] = field(default_factory=dict)
    # Training rows the explanations compare with ("a typical post of this data").
    background: pd.DataFrame | None = None
    interval_widening: float = 0.0
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
    # The models as tables, and each table's terms on the background rows (built at training; models
    # saved before these fields build them on first use).
    tables: dict[str, AdditiveTrees] | None = None
    background_terms: dict[str, np.ndarray] | None = None
    # The interval around the point: p10 = expm1(log1p(point) - low x spread), p90 likewise with
    # + high x spread; spread > 0 from `spread` (a Poisson model of |log1p(y) - log1p(point)|),
    # (low, high) > 0 conformal. Models saved before these fields use `quantiles` as they did.
    spread: Pipeline | None = None
    spread_multipliers: tuple[float, float] = (0.0, 0.0)
    interval_levels: tuple[float, float] = QUANTILES

    def exposure(self, df: pd.DataFrame) -> np.ndarray:
        """The user's level for each row, NaN where unknown or where there is no relative model."""
        if self.relative is None or self.exposure_column not in df.columns:
            return np.full(len(df), np.nan)
        level = pd.to_numeric(df[self.exposure_column], errors="coerce").astype("float64").to_numpy()
        return np.where(level > 0, level, np.nan)

    def _has_rate_factor(self) -> bool:
        return bool(getattr(self, "rate_factor_kappa", 0.0) or getattr(self, "log_linear_slope", 0.0))

    def _rate_center(self) -> float:
        return getattr(self, "log_linear_center", 0.0) if getattr(self, "log_linear_slope", 0.0) else getattr(self, "rate_factor_center", 0.0)

    def _exposure_columns(self) -> list[str]:
        """The columns the per-follower model's exposure is a product of factors of, one factor each."""
        columns = list(getattr(self, "account_exposure", ("user_followers",)))
        if self._has_rate_factor() and RATE_FACTOR_COLUMN not in columns:
            columns.append(RATE_FACTOR_COLUMN)
        return columns

    def _exposure_logs(self, x: pd.DataFrame) -> np.ndarray:
        """(rows, `_exposure_columns`): the log of each column's exposure factor where the per-follower
        model applies, NaN where a factor is unknown or 0."""
        columns = self._exposure_columns()
        if getattr(self, "per_follower", None) is None or any(c not in x for c in columns):
            return np.full((len(x[self.columns[0]]), 1), np.nan)
        account = getattr(self, "account_exposure", ("user_followers",))
        logs = np.column_stack([_log_factors(x, [c])[:, 0] if c in account else np.zeros(len(x[c])) for c in columns])
        if self._has_rate_factor():
            k = columns.index(RATE_FACTOR_COLUMN)
            logs[:, k] += _rate_factor_log(x, getattr(self, "rate_factor_kappa", 0.0), self._rate_center(),
                                           getattr(self, "log_linear_slope", 0.0))
        return logs

    def _account_exposure(self, x: pd.DataFrame) -> np.ndarray:
        """The account's exposure where the per-follower model applies, NaN elsewhere."""
        return np.exp(self._exposure_logs(x).sum(axis=1))

    def _tables(self) -> dict[str, AdditiveTrees]:
        if getattr(self, "tables", None) is None:
            self.tables = {name: tabulate(pipeline) for name, pipeline in self._pipelines().items()}
        return self.tables

    def _pipelines(self) -> dict[str, Pipeline]:
        named = {"point": self.point, "per_follower": getattr(self, "per_follower", None), "relative": self.relative}
        named.update({f"q{q}": model for q, model in self.quantiles.items()})
        named["spread"] = getattr(self, "spread", None)
        return {name: model for name, model in named.items() if model is not None}

    def _background_terms(self) -> dict[str, np.ndarray]:
        """Each point table's terms on the background rows (rows, columns), their exposure logs and levels."""
        if getattr(self, "background_terms", None) is None:
            background = _feature_arrays(self.background, self.columns)
            terms = {name: table.terms(background) for name, table in self._tables().items()
                     if name in ("point", "per_follower", "relative")}
            self.background_terms = {**terms, "exposure_logs": self._exposure_logs(background),
                                     "levels": self.exposure(self.background)}
        return self.background_terms

    def _without_level(self, x: pd.DataFrame) -> np.ndarray:
        """The prediction for rows with no user level: per exposure x exposure where known, else `point`."""
        tables = self._tables()
        exposure = self._account_exposure(x)
        known = ~np.isnan(exposure)
        out = np.empty(len(exposure))
        if (~known).any():
            out[~known] = tables["point"].predict(_rows(x, ~known))
        if known.any():
            out[known] = exposure[known] * tables["per_follower"].predict(_rows(x, known))
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
        x = _feature_arrays(df, self.columns)
        levels = self.exposure(df)
        extra = [self.exposure_column] if self.relative is not None else []
        out = np.zeros((len(df), len(self.columns) + len(extra)))
        tables, background_terms = self._tables(), self._background_terms()
        for i in range(len(df)):
            row = _rows(x, [i])
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
            background_terms = {name: background_terms[name][kept] for name in ("point", "per_follower")
                                if name in background_terms}
        exposure_columns = self._exposure_columns()
        # Log exposure of each evaluated row: background row b with feature f set to the row's value.
        log_exposure = np.repeat(bg_logs.sum(axis=1)[:, None], len(self.columns), axis=1)
        for k, column in enumerate(exposure_columns if getattr(self, "per_follower", None) is not None else []):
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
            point[known] = levels[known] * self._tables()["relative"].predict(_rows(x, known))
        return point

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        x = _feature_arrays(df, self.columns)
        levels = self.exposure(df)
        point = self._point(x, levels)
        out = {self.target: point}
        if getattr(self, "spread", None) is not None:
            spread = self._tables()["spread"].predict(self._quantile_frame(x, levels))
            (low_q, high_q), (low, high) = self.interval_levels, self.spread_multipliers
            log_point = np.log1p(point)
            # Strictly around the point: spread > 0 (log link) and both multipliers > 0.
            out[f"{self.target}_p{round(low_q * 100)}"] = np.clip(np.expm1(log_point - low * spread), 0, None)
            out[f"{self.target}_p{round(high_q * 100)}"] = np.expm1(log_point + high * spread)
            return pd.DataFrame(out, index=df.index)
        return self._legacy_intervals(df, x, levels, point, out)

    def _legacy_intervals(self, df, x, levels, point, out) -> pd.DataFrame:
        """Models saved before `spread`: quantile models of log1p(count), clipped at the point."""
        tables, known = self._tables(), ~np.isnan(levels)
        # Outside the training accounts' follower counts the quantile trees answer for the nearest
        # one: their bounds scale with the followers as the per-follower point prediction does.
        scale = np.ones(len(df))
        followers = np.where(~np.isnan(self._account_exposure(x)), np.asarray(x["user_followers"], dtype=float), np.nan)
        if getattr(self, "followers_range", None) is not None:
            outside = ~known & ~np.isnan(followers)
            nearest = np.clip(followers, *self.followers_range)
            scale[outside] = followers[outside] / nearest[outside]
        lows = [q for q in self.quantiles if q < 0.5]
        highs = [q for q in self.quantiles if q > 0.5]
        quantile_frame = self._quantile_frame(x, levels)
        for q in lows + highs:
            shift = -self.interval_widening if q < 0.5 else self.interval_widening
            bound = scale * np.clip(np.expm1(tables[f"q{q}"].predict(quantile_frame) + shift), 0, None)
            # A quantile below (above) the mean prediction would make an interval that excludes it.
            out[f"{self.target}_p{round(q * 100)}"] = np.minimum(bound, point) if q < 0.5 else np.maximum(bound, point)
        return pd.DataFrame(out, index=df.index)

    def _quantile_frame(self, x: Arrays | pd.DataFrame, levels: np.ndarray) -> Arrays | pd.DataFrame:
        # The interval models (the spread; a saved model's quantiles) see the level as one more
        # feature (log1p; NaN where unknown).
        if self.relative is None:
            return x
        return x.assign(user_level=np.log1p(levels)) if isinstance(x, pd.DataFrame) else {**x, "user_level": np.log1p(levels)}


@dataclass
class TrainedModels:
    """The reach and likes models trained together; `.predict(df)` gives a DataFrame with
    reach, likes and their p10/p90, for rows in the notebook's layout or the warehouse's."""

    reach: TargetModel
    likes: TargetModel
    n_train: int
    params: dict = field(default_factory=dict)

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([self.reach.predict(df), self.likes.predict(df)], axis=1)

    def target_model(self, target: str) -> TargetModel:
        return {"reach": self.reach, "likes": self.likes}[target]


def _spread_model(columns: list[str], with_level: bool, random_state: int) -> Pipeline:
    # With a relative model, the spread sees log1p(the user's level) as one more feature. Its trees
    # keep leaves of 40 on a short history, as the quantile models did: smaller ones fit the noise.
    extra = ("user_level",) if with_level else ()
    return _model(columns, random_state, extra, **SPREAD_PARAMS)


def _conformal_spread(views: list[tuple[pd.DataFrame, np.ndarray]], columns: list[str], with_level: bool,
                      random_state: int, levels: tuple[float, float],
                      earlier: list[tuple[pd.DataFrame, np.ndarray]] = ()) -> tuple[Pipeline, tuple[float, float]]:
    """Split conformal around the point. `views`: (spread features, log ratio) over the same rows in
    time order, log ratio = log1p(y) - log1p(point), NaN where a row is not in that view; `earlier`:
    more calibration scores of that kind. Fit the spread (mean |log ratio|) on the older rows; the
    multipliers (below, above) are a shape from those rows times one size, the joint score's
    quantile on the newest CALIBRATION_FRACTION. The spread is kept as fitted, so the multipliers are
    measured on the model that serves. Too few rows to calibrate on: the fitted rows calibrate."""
    n_rows = len(views[0][1])
    n_calibration = int(n_rows * CALIBRATION_FRACTION)
    fit = np.arange(n_rows) < (n_rows - n_calibration if n_calibration >= MIN_CALIBRATION_ROWS else n_rows)
    calibration = ~fit if fit.sum() < n_rows else fit

    def stacked(rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        kept = [rows & ~np.isnan(ratio) for _, ratio in views]
        return (pd.concat([x[k] for (x, _), k in zip(views, kept)], ignore_index=True),
                np.concatenate([ratio[k] for (_, ratio), k in zip(views, kept)]))

    fit_x, fit_ratio = stacked(fit)
    spread = _spread_model(columns, with_level, random_state).fit(fit_x, np.abs(fit_ratio))
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
    n = int(calibration.sum()) + sum(len(r) for _, r in earlier[::len(views)])
    share = (binom.ppf(1 - CALIBRATION_RISK, n, high_q - low_q) + 1) / n if earlier else \
        math.ceil((n + 1) * (high_q - low_q)) / n
    size = max(MIN_SPREAD_MULTIPLIER, float(np.quantile(scores, min(1.0, share), method="higher")))
    return spread, (size * low_shape, size * high_shape)


def _fit_relative(x: pd.DataFrame, y: np.ndarray, level: np.ndarray, columns: list[str], random_state: int) -> Pipeline:
    # Poisson on count / level weighted by level: the same likelihood as an offset log(level).
    return _model(columns, random_state, **sized_for(POINT_PARAMS, len(x))).fit(x, y / level, model__sample_weight=level)


def _fit_per_exposure(x: pd.DataFrame, y: np.ndarray, exposure: np.ndarray, columns: list[str],
                      random_state: int) -> Pipeline:
    """Poisson on count / exposure, unweighted: every post weighs the same in relative terms, which
    suits noise that multiplies the count (weighting by exposure, as an offset would, lets the few
    largest accounts decide the shape: 0.91 of the best R² for likes at n = 3,000 against 0.97)."""
    return _model(columns, random_state, **sized_for(POINT_PARAMS, len(x))).fit(x, y / exposure)


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
    absolute = _model(columns, random_state, **sized_for(POINT_PARAMS, int(fit.sum()))).fit(x[fit], y[fit])
    relative = _fit_relative(x[fit & known], y[fit & known], level[fit & known], columns, random_state)
    rows = cal & known
    absolute_rmse = regression_metrics(y[rows], absolute.predict(x[rows]))["rmse"]
    relative_rmse = regression_metrics(y[rows], level[rows] * relative.predict(x[rows]))["rmse"]
    return relative_rmse < absolute_rmse


def _fit_points(df: pd.DataFrame, columns: list[str], target: str, random_state: int,
                relative: bool | None = None) -> TargetModel:
    """The point models (plain, per exposure with its rate factor, relative), tabulated. `relative`:
    whether to fit the relative form, None to decide by `_relative_helps`."""
    x = _prepared(df, columns)
    y = df[target].to_numpy(dtype=float)
    point = _model(columns, random_state, **sized_for(FALLBACK_PARAMS, len(x))).fit(x, y)
    exposure_of = tuple(c for c in ACCOUNT_EXPOSURE[target] if c in columns)
    model = TargetModel(target, columns, point, account_exposure=exposure_of)
    exposure = np.exp(_log_factors(x, exposure_of).sum(axis=1))
    has_exposure = ~np.isnan(exposure)
    # The exposure form is the shape of counts (an account's reach scales with its followers), not
    # a choice made on a noisy calibration split: kept whenever enough rows know their exposure.
    if has_exposure.sum() >= MIN_RELATIVE_ROWS:
        if RATE_FACTOR_COLUMN in columns:
            model.rate_factor_kappa, model.rate_factor_center = _rate_factor_fit(
                x[RATE_FACTOR_COLUMN].to_numpy(dtype=float)[has_exposure], y[has_exposure] / exposure[has_exposure])
            exposure = exposure * np.exp(_rate_factor_log(x, model.rate_factor_kappa, model.rate_factor_center))
        model.per_follower = _fit_per_exposure(x[has_exposure], y[has_exposure], exposure[has_exposure], columns,
                                               random_state)
    exposure_column = EXPOSURE_COLUMNS[target]
    model.exposure_column = exposure_column
    if exposure_column in df.columns:
        level = pd.to_numeric(df[exposure_column], errors="coerce").astype("float64").to_numpy()
        known = level > 0
        if known.sum() >= MIN_RELATIVE_ROWS and (
                relative if relative is not None else _relative_helps(x, y, level, columns, random_state)):
            model.relative = _fit_relative(x[known], y[known], level[known], columns, random_state)
    model.tables = {name: tabulate(pipeline, x) for name, pipeline in model._pipelines().items()}
    return model


def _log_ratios(model: TargetModel, df: pd.DataFrame, log_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log1p(y) - log1p(point) with the users' levels, and without them (NaN where there was no level)."""
    arrays, levels = _feature_arrays(df, model.columns), model.exposure(df)
    without = np.where(np.isnan(levels), np.nan, log_y - np.log1p(model._without_level(arrays)))
    return log_y - np.log1p(model._point(arrays, levels)), without


def _fit_target(df: pd.DataFrame, columns: list[str], target: str, random_state: int,
                quantiles: tuple[float, ...]) -> TargetModel:
    model = _fit_points(df, columns, target, random_state)
    x, y = _prepared(df, columns), df[target].to_numpy(dtype=float)
    exposure_column = model.exposure_column
    levels = model.exposure(df)
    qx = model._quantile_frame(x, levels)
    with_level = model.relative is not None
    model.interval_levels = (min(quantiles), max(quantiles))
    log_y = np.log1p(y)
    with_levels, without_levels = _log_ratios(model, df, log_y)
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
            older = _fit_points(df.iloc[:begin], columns, target, random_state, relative=with_level)
            with_, without = _log_ratios(older, df.iloc[begin:stop], log_y[begin:stop])
            # The older model may have no relative form: then its answer without a level is its only one.
            without = np.where(np.isnan(levels[begin:stop]), np.nan, np.where(np.isnan(without), with_, without))
            scored = [with_, without][: len(views)]
            if block == 0:
                for (_, ratio), new in zip(views, scored):
                    ratio[begin:stop] = new
            else:
                earlier += [(view_x.iloc[begin:stop], new) for (view_x, _), new in zip(views, scored)]
    model.spread, model.spread_multipliers = _conformal_spread(views, columns, with_level, random_state,
                                                               model.interval_levels, earlier)
    model.tables["spread"] = tabulate(model.spread, pd.concat([view_x for view_x, _ in views], ignore_index=True))
    model.followers_range = (float(x["user_followers"].min()), float(x["user_followers"].max()))
    keep = columns + ([exposure_column] if with_level else [])
    model.background = df[keep].sample(n=min(BACKGROUND_ROWS, len(df)), random_state=random_state).reset_index(drop=True)
    model._background_terms()  # the tables and the background's terms, computed once at training
    return model


@single_threaded
def train_models(df: pd.DataFrame, *, random_state: int = 42, quantiles: tuple[float, ...] = QUANTILES) -> TrainedModels:
    """Train both models from a frame with the features and the `reach` and `likes` columns."""
    missing = [t for t in TARGETS if t not in df.columns]
    if missing:
        raise ValueError(f"the training frame lacks target columns: {', '.join(missing)}")
    df = with_daypart(df).dropna(subset=list(TARGETS))
    if "published_at" in df.columns:
        # Oldest first (synthetic rows, without a time, first of all): calibration uses the newest.
        df = df.sort_values("published_at", kind="stable", na_position="first")
    if (df[list(TARGETS)] < 0).any().any():
        raise ValueError("reach and likes must be non-negative counts")
    all_zero = [t for t in TARGETS if len(df) and not (df[t] > 0).any()]
    if all_zero:  # a Poisson model has nothing to scale from
        raise ValueError(f"{' and '.join(all_zero)} is 0 on every one of the {len(df)} training posts: "
                         "the models need at least one post with a positive count")
    columns = feature_columns(df)
    return TrainedModels(
        reach=_fit_target(df, columns, "reach", random_state, quantiles),
        likes=_fit_target(df, columns, "likes", random_state, quantiles),
        n_train=len(df),
        params={"point": POINT_PARAMS, "fallback": FALLBACK_PARAMS, "spread": SPREAD_PARAMS, "quantiles": list(quantiles),
                "features": columns},
    )


def time_holdout_split(df: pd.DataFrame, time_column: str, test_fraction: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train on the older posts, test on the newest `test_fraction`: the future never leaks in."""
    ordered = df.sort_values([time_column] + (["post_id"] if "post_id" in df.columns else []), kind="stable")
    n_test = int(math.ceil(len(ordered) * test_fraction))
    return ordered.iloc[: len(ordered) - n_test], ordered.iloc[len(ordered) - n_test:]


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return {
        "r2": float(r2_score(y_true, y_pred)),
        "rmse": float(math.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
    }


def interval_coverage(y_true, low, high) -> float:
    """Share of actual values inside [low, high]."""
    y_true = np.asarray(y_true, dtype=float)
    return float(np.mean((y_true >= np.asarray(low, dtype=float)) & (y_true <= np.asarray(high, dtype=float))))


# ----- the notebook's models, for comparison ------------------------------------------------
NOTEBOOK_NUMERIC = ["user_followers", "user_avg_engagement_rate", "post_text_len", "num_hashtags", "num_mentions",
                    "num_emojis", "has_link"]
NOTEBOOK_CATEGORICAL = ["media_type", "daypart", "day_of_week"]


def notebook_model(random_state: int = 42) -> Pipeline:
    """Cell 5's pipeline: raw counts, one-hot categories, GradientBoostingRegressor(150 trees, depth 4)."""
    preprocessor = ColumnTransformer([
        ("num", "passthrough", NOTEBOOK_NUMERIC),
        ("cat", OneHotEncoder(handle_unknown="ignore"), NOTEBOOK_CATEGORICAL),
    ])
    return make_pipeline(preprocessor, GradientBoostingRegressor(random_state=random_state, n_estimators=150, max_depth=4))


def notebook_features(df: pd.DataFrame) -> pd.DataFrame:
    """The notebook's columns; its GradientBoostingRegressor takes no missing values, so they become 0."""
    frame = with_daypart(df)
    numeric = frame[NOTEBOOK_NUMERIC].apply(pd.to_numeric, errors="coerce").astype("float64").fillna(0.0)
    return numeric.assign(media_type=frame["media_type"].astype(str), daypart=frame["daypart"].astype(str),
                          day_of_week=frame["day_of_week"].astype(str))
