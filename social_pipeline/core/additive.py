"""A fitted pipeline of boosted trees without feature interactions, as one lookup table per feature.

With `interaction_cst="no_interactions"` every tree splits on a single feature, so the model's raw
score (log of the prediction for Poisson, the value itself for quantiles) is a sum of one-feature
functions: raw(x) = intercept + sum_f term_f(x_f). Each term is a step function whose steps are the
trees' thresholds, so it is captured exactly by evaluating the fitted estimator once at every step
(numeric features: each threshold, above the last one and missing; categories: each code and
unknown). Predicting is then a few `searchsorted` calls instead of hundreds of tree walks, and the
per-feature terms are what exact Shapley values of an additive model need.

Everything goes through scikit-learn's public `predict`: the thresholds are located between the
training rows' values and then found to the last bit (`_split_thresholds`), so a new scikit-learn
release that keeps `predict` keeps the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # scikit-learn loads where a model is built (core/models/inputs.py says why)
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
            assert self.codes is not None  # a category table always has its codes
            codes = np.fromiter((self.codes.get(v, -1) for v in column), dtype=np.int64, count=len(column))
            return np.where(codes >= 0, self.values[np.maximum(codes, 0)], self.missing)
        x = np.asarray(column, dtype="float64")
        if self.transform == "log1p":
            x = np.log1p(x)
        assert self.thresholds is not None  # a numeric table always has its thresholds
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


_SIGN = np.uint64(1 << 63)
# Probes per round of the threshold search, shared by the intervals still open (at least 16 each):
# every round is one predict call, whose fixed cost outweighs a few thousand rows.
_PROBES_PER_ROUND = 256


def _float_keys(x: np.ndarray) -> np.ndarray:
    """Unsigned integers in the order of the float64s `x`: adjacent floats have consecutive keys."""
    bits = np.ascontiguousarray(x, dtype="float64").view(np.uint64)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def _keys_to_floats(keys: np.ndarray) -> np.ndarray:
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    return np.where(keys & _SIGN, keys ^ _SIGN, ~keys).view("float64")


def _split_thresholds(estimator, matrix: np.ndarray, reference: np.ndarray) -> dict[int, np.ndarray]:
    """Each numeric input column's thresholds, found through the public `predict` alone.

    A split threshold of the trees is a bin edge, and bins are cut between consecutive distinct
    values of the training column (or at one of them). Where the prediction differs at two such
    values, a search over the floats between them finds the largest float that still goes left
    (x <= threshold), which is the threshold itself; where bins were cut on other rows than `matrix`,
    more than one edge can lie between two values, and the search goes on from each edge found."""
    numeric = np.flatnonzero(~_categorical_mask(estimator))
    distinct = [np.unique(matrix[:, c][~np.isnan(matrix[:, c])]) for c in numeric]
    rows = np.tile(reference, (sum(len(v) for v in distinct), 1))
    offsets = np.cumsum([0] + [len(v) for v in distinct])
    for column, values, offset in zip(numeric, distinct, offsets, strict=False):
        rows[offset : offset + len(values), column] = values
    predicted = estimator.predict(rows)
    starts, columns = [], []
    for column, values, offset in zip(numeric, distinct, offsets, strict=False):
        block = predicted[offset : offset + len(values)]
        steps = np.flatnonzero(block[:-1] != block[1:])
        starts.append(offset + steps)
        columns.append(np.full(len(steps), column))
    starts, columns = np.concatenate(starts).astype(np.int64), np.concatenate(columns).astype(np.int64)
    if not len(columns):
        return {}
    low, high = _float_keys(rows[starts, columns]), _float_keys(rows[starts + 1, columns])
    left, right = predicted[starts], predicted[starts + 1]

    def evaluated(keys: np.ndarray, on: np.ndarray) -> np.ndarray:
        """The prediction with column `on[i]` at each of row i's keys (len(on) x keys)."""
        block = np.repeat(np.tile(reference, (len(on), 1)), keys.shape[1], axis=0)
        block[np.arange(block.shape[0]), np.repeat(on, keys.shape[1])] = _keys_to_floats(keys.ravel())
        return estimator.predict(block).reshape(keys.shape)

    def narrowed(low, high, keys, on, left):
        """(low, high) moved to the last probe that still predicts `left` and the first that does not."""
        keys = np.clip(keys, low[:, None], high[:, None])
        goes_left = evaluated(keys, on) == left[:, None]
        # The probes before the interval's first step come first.
        n_left, at = goes_left.sum(axis=1), np.arange(len(keys))
        return (
            np.where(n_left > 0, keys[at, np.maximum(n_left - 1, 0)], low),
            np.where(n_left < keys.shape[1], keys[at, np.minimum(n_left, keys.shape[1] - 1)], high),
        )

    found_columns, found_keys = [], []
    # Bin edges are mostly midpoints of two values, or a value itself: first try those floats.
    middle = _float_keys((rows[starts, columns] + rows[starts + 1, columns]) * 0.5)
    low, high = narrowed(
        low, high, np.column_stack([low + 1, middle - 1, middle, middle + 1, middle + 2]), columns, left
    )
    end = _float_keys(rows[starts + 1, columns])
    while len(columns):
        # Otherwise (bins cut on a subsample: early stopping's training share) search, cutting each interval in parts.
        while (open_ := np.flatnonzero(high - low > 1)).size:
            parts = np.uint64(max(16, _PROBES_PER_ROUND // len(open_)))
            probes = np.arange(1, parts, dtype=np.uint64)
            span = high[open_] - low[open_]
            keys = low[open_, None] + (span // parts)[:, None] * probes + ((span % parts)[:, None] * probes) // parts
            low[open_], high[open_] = narrowed(low[open_], high[open_], keys, columns[open_], left[open_])
        found_columns.append(columns)
        found_keys.append(low)
        # Where the bins were cut on other rows, two edges can lie between two values: search on from this one.
        at_high = evaluated(high[:, None], columns)[:, 0]
        more = np.flatnonzero(at_high != right)
        columns, left, right, low, high, end = (
            columns[more],
            at_high[more],
            right[more],
            high[more],
            end[more],
            end[more],
        )
    columns, thresholds = np.concatenate(found_columns), _keys_to_floats(np.concatenate(found_keys))
    return {int(c): np.unique(thresholds[columns == c]) for c in np.unique(columns)}


def _categorical_mask(estimator) -> np.ndarray:
    if estimator.is_categorical_ is None:
        return np.zeros(estimator.n_features_in_, dtype=bool)
    return np.asarray(estimator.is_categorical_, dtype=bool)


def tabulate(pipeline: Pipeline, frame) -> AdditiveTrees:
    """The exact per-feature tables of a fitted no-interaction pipeline (see the module docstring).
    `frame`: the rows the pipeline was fitted on (or more), whose values locate the trees' steps."""
    estimator = pipeline.named_steps["model"]
    if estimator.get_params()["interaction_cst"] != "no_interactions":
        raise ValueError(
            "a tree may split on more than one feature: the model has interactions "
            "(tables need interaction_cst='no_interactions')"
        )
    log_link = estimator.loss in ("poisson", "gamma")
    inputs = _input_columns(pipeline)
    matrix = np.asarray(pipeline.named_steps["features"].transform(frame), dtype="float64")
    reference = np.zeros(len(inputs))  # any point works: terms are differences from it
    thresholds = _split_thresholds(estimator, matrix, reference)
    blocks, grids = [], []
    for position, (_, transform, categories) in enumerate(inputs):
        if transform == "category":
            assert categories is not None  # a category column always lists its categories
            grid = np.arange(-1.0, len(categories))  # -1: an unknown category
        else:
            cuts = thresholds.get(position, np.empty(0))
            grid = np.concatenate([cuts, [np.inf, np.nan]])  # each step's upper end, above all, missing
        block = np.tile(reference, (len(grid), 1))
        block[:, position] = grid
        blocks.append(block)
        grids.append(grid)
    predicted = estimator.predict(np.vstack([reference[None, :]] + blocks))
    raw = np.log(predicted) if log_link else predicted
    base, offset, tables = raw[0], 1, []
    for (source, transform, categories), grid in zip(inputs, grids, strict=True):
        values = raw[offset : offset + len(grid)] - base
        offset += len(grid)
        if transform == "category":
            assert categories is not None
            codes = {category: code for code, category in enumerate(categories)}
            tables.append(FeatureTable(source, transform, None, values[1:].copy(), float(values[0]), codes))
        else:
            tables.append(FeatureTable(source, transform, grid[:-2].copy(), values[:-1].copy(), float(values[-1])))
    trees = AdditiveTrees(float(base), tables, log_link)
    # The tables must answer as the model does on the rows that located its steps, or nothing is served.
    if not np.allclose(trees.predict(frame), estimator.predict(matrix), rtol=1e-9, atol=0.0):
        raise ValueError(
            "the lookup tables do not reproduce the model's predictions on its training rows: "
            "cannot tabulate (a scikit-learn release that bins differently?)"
        )
    return trees
