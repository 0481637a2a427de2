"""The prediction API as issue 18 found it, rebuilt for the `api_load` baseline: the same app, requests,
validation and answers, served the way it served them then.

* The models are evaluated as scikit-learn pipelines, not as their per-feature tables: the point and
  interval predictions walk every tree, and the exact explanations evaluate the point models on each
  background row with each feature set to the draft's value (200 rows x 13 features, ~2,600 rows), as
  `TargetModel.contributions` did before the tables. `evaluated_contributions` is that computation;
  the tests compare today's explanations with it.
* No reads kept between requests: the registry, the user's level and history are read from the
  warehouse at every request.
* One uvicorn process (`make api` had no --workers) computing every request at once: no in-flight limit.

    uvicorn --factory bench.api_before_18:app_before_18

Importing this module changes nothing; `app_before_18()` rebuilds that path in the process it runs in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from social_pipeline.app import http_api as api
from social_pipeline.app import serving
from social_pipeline.core import models
from social_pipeline.core.models.inputs import prepared


def evaluated_contributions(model: models.TargetModel, df: pd.DataFrame) -> pd.DataFrame:
    """Interventional Shapley values the slow, exact way: for each feature, evaluate the scikit-learn
    pipelines on every background row with that feature set to the row's value, and compare the mean
    log prediction with the background's."""

    def log_without_level(frame):
        x = prepared(frame, model.columns)
        out = np.log(np.clip(model.point.predict(x), 1e-12, None))
        exposure = model._account_exposure(x)
        known = ~np.isnan(exposure)
        if known.any():
            out[known] = np.log(exposure[known] * model.per_follower.predict(x[known]))
        return out

    x = prepared(df, model.columns)
    levels = model.exposure(df)
    extra = [model.exposure_column] if model.relative is not None else []
    out = pd.DataFrame(0.0, index=df.index, columns=model.columns + extra)
    for i in range(len(x)):
        background = model.background
        if not np.isnan(levels[i]):
            background = background[model.exposure(background) > 0]
        elif not np.isnan(model._account_exposure(x.iloc[[i]])[0]):
            background = background[~np.isnan(model._account_exposure(prepared(background, model.columns)))]
        bg = prepared(background, model.columns)
        blocks = pd.concat([bg] + [bg.assign(**{c: x[c].iloc[i]}) for c in model.columns], ignore_index=True)
        if np.isnan(levels[i]):
            logs = log_without_level(blocks)
        else:
            logs = np.log(np.clip(model.relative.predict(blocks), 1e-12, None))
        base, mixed = logs[: len(bg)].mean(), logs[len(bg) :]
        out.iloc[i, : len(model.columns)] = mixed.reshape(len(model.columns), len(bg)).mean(axis=1) - base
        if not np.isnan(levels[i]):
            out.iloc[i, len(model.columns)] = np.log(levels[i]) - np.log(model.exposure(background)).mean()
    return out


class _Pipeline:
    """A fitted pipeline behind the tables' interface: predict() on the columns as arrays."""

    def __init__(self, pipeline):
        self.pipeline = pipeline

    def predict(self, x) -> np.ndarray:
        return self.pipeline.predict(pd.DataFrame(x))


def _pipelines_as_tables(model: models.TargetModel) -> dict:
    return {name: _Pipeline(pipeline) for name, pipeline in model._pipelines().items()}


def _one_thread(fn):
    def wrapper(*args, **kwargs):  # as served then: one OpenMP thread per prediction
        with threadpool_limits(limits=1, user_api="openmp"):
            return fn(*args, **kwargs)

    return wrapper


def app_before_18():
    """The API app, served in this process as before issue 18 (a uvicorn --factory)."""
    models.TargetModel._tables = _pipelines_as_tables
    models.TargetModel.contributions = _one_thread(evaluated_contributions)
    models.TargetModel.predict = _one_thread(models.TargetModel.predict)
    serving._file_state = lambda database: None  # nothing kept: every request reads the warehouse
    api.PREDICTIONS = api.InFlightLimit(1_000)
    return api.app
