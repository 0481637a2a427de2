"""A fitted pipeline of boosted trees without feature interactions, as one lookup table per feature.

With `interaction_cst="no_interactions"` every tree splits on a single feature, so the model's raw
score (log of the prediction for Poisson, the value itself for quantiles) is a sum of one-feature
functions: raw(x) = intercept + sum_f term_f(x_f). Each term is a step function whose steps are the
trees' thresholds, so it is captured exactly by evaluating the fitted estimator once at every step
(numeric features: each threshold, above the last one and missing; categories: each code and
unknown). Predicting is then a few `searchsorted` calls instead of hundreds of tree walks, and the
per-feature terms are what exact Shapley values of an additive model need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline


@dataclass
class FeatureTable:
    """One input column's term: `values[i]` for thresholds[i-1] < x <= thresholds[i] (numeric), or
    `values[code]` for a category code; `missing` for NaN, an unknown category or no category."""

    column: str
    transform: str  # "log1p", "value" or "category"
    thresholds: np.ndarray | None
    values: np.ndarray
    missing: float
    codes: dict[str, int] | None = None  # a category's position in `values`

    def term(self, column) -> np.ndarray:
        """The term of each value in `column` (a category's text, or a number)."""
        if self.transform == "category":
            codes = np.fromiter((self.codes.get(v, -1) for v in column), dtype=np.int64, count=len(column))
            return np.where(codes >= 0, self.values[np.maximum(codes, 0)], self.missing)
        x = np.asarray(column, dtype="float64")
        if self.transform == "log1p":
            x = np.log1p(x)
        steps = np.searchsorted(self.thresholds, x, side="left")
        return np.where(np.isnan(x), self.missing, self.values[np.minimum(steps, len(self.values) - 1)])


@dataclass
class AdditiveTrees:
    """`pipeline` (ColumnTransformer of log1p / passthrough / OrdinalEncoder columns, then a
    HistGradientBoostingRegressor without interactions) as per-feature tables."""

    intercept: float
    tables: list[FeatureTable]
    log_link: bool

    @property
    def columns(self) -> list[str]:
        return [t.column for t in self.tables]

    def terms(self, frame) -> np.ndarray:
        """(rows, features): each feature's term on the raw scale, in `columns` order. `frame`: a
        DataFrame or a dict of arrays with the pipeline's input columns."""
        return np.column_stack([t.term(frame[t.column]) for t in self.tables])

    def raw(self, frame) -> np.ndarray:
        return self.intercept + self.terms(frame).sum(axis=1)

    def predict(self, frame) -> np.ndarray:
        """What `pipeline.predict(frame)` returns."""
        raw = self.raw(frame)
        return np.exp(raw) if self.log_link else raw


def _input_columns(pipeline: Pipeline) -> list[tuple[str, str, list[str] | None]]:
    """(source column, transform, categories) of each column the estimator sees, in its order."""
    columns = []
    for name, transformer, sources in pipeline.named_steps["features"].transformers_:
        if name == "remainder" or not len(sources):
            continue
        for i, source in enumerate(sources):
            if name == "log":
                columns.append((source, "log1p", None))
            elif name == "num":
                columns.append((source, "value", None))
            elif name == "cat":
                columns.append((source, "category", list(transformer.categories_[i])))
            else:
                raise ValueError(f"cannot tabulate a pipeline step {name!r}")
    return columns


def _split_thresholds(estimator) -> dict[int, set[float]]:
    """Numeric thresholds per estimator input column; raises if a tree mixes features."""
    categorical = np.asarray(estimator.is_categorical_ if estimator.is_categorical_ is not None
                             else np.zeros(estimator.n_features_in_, dtype=bool))
    # The estimator puts its categorical columns first internally; map back to input positions.
    internal_to_input = np.concatenate([np.flatnonzero(categorical), np.flatnonzero(~categorical)])
    trees = [predictor.nodes for iteration in estimator._predictors for predictor in iteration]
    nodes = np.concatenate(trees)
    tree_of_node = np.repeat(np.arange(len(trees)), [len(t) for t in trees])
    splits = nodes["is_leaf"] == 0
    feature, tree = nodes["feature_idx"][splits], tree_of_node[splits]
    lowest, highest = np.full(len(trees), np.iinfo(np.int64).max), np.full(len(trees), -1)
    np.minimum.at(lowest, tree, feature)
    np.maximum.at(highest, tree, feature)
    if ((highest >= 0) & (lowest != highest)).any():
        raise ValueError("a tree splits on more than one feature: the model has interactions")
    numeric = splits & (nodes["is_categorical"] == 0)
    inputs = internal_to_input[nodes["feature_idx"][numeric]]
    values = nodes["num_threshold"][numeric]
    return {int(column): set(values[inputs == column].tolist()) for column in np.unique(inputs)}


def tabulate(pipeline: Pipeline) -> AdditiveTrees:
    """The exact per-feature tables of a fitted no-interaction pipeline (see the module docstring)."""
    estimator = pipeline.named_steps["model"]
    inputs = _input_columns(pipeline)
    thresholds = _split_thresholds(estimator)
    reference = np.zeros(len(inputs))  # any point works: terms are differences from it
    blocks, grids = [], []
    for position, (_, transform, categories) in enumerate(inputs):
        if transform == "category":
            grid = np.arange(-1.0, len(categories))  # -1: an unknown category
        else:
            cuts = np.array(sorted(thresholds.get(position, ())), dtype="float64")
            grid = np.concatenate([cuts, [np.inf, np.nan]])  # each step's upper end, above all, missing
        block = np.tile(reference, (len(grid), 1))
        block[:, position] = grid
        blocks.append(block)
        grids.append(grid)
    raw = estimator._raw_predict(np.vstack([reference[None, :]] + blocks), n_threads=1).ravel()
    base, offset, tables = raw[0], 1, []
    for (source, transform, categories), grid in zip(inputs, grids):
        values = raw[offset: offset + len(grid)] - base
        offset += len(grid)
        if transform == "category":
            codes = {category: code for code, category in enumerate(categories)}
            tables.append(FeatureTable(source, transform, None, values[1:].copy(), float(values[0]), codes))
        else:
            tables.append(FeatureTable(source, transform, grid[:-2].copy(), values[:-1].copy(), float(values[-1])))
    log_link = estimator.loss in ("poisson", "gamma")
    return AdditiveTrees(float(base), tables, log_link)
