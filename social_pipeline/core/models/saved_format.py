"""A saved model's format: the current one is read as it is, the one before through one converter.

Anything older is refused with the command that retrains the models, since a refit is the only
exact way to the current layout (its intervals and tables come from the training rows).
"""

from __future__ import annotations

import os

from .served import FORMAT_VERSION, TargetModel

RETRAIN_COMMAND = "dagster job execute -m social_pipeline.definitions -j ml_training"
# The format before FORMAT_VERSION (saved without a version): the same model with the empty fields
# of a former interval layout, which the converter drops.
PREVIOUS_FORMAT_VERSION = FORMAT_VERSION - 1
_PREVIOUS_FORMAT_UNUSED = {"quantiles": {}, "interval_widening": 0.0}
# What the format before the current one holds: the spread around the point, the tables and the
# affine rate factor (earlier models lack one of them).
_PREVIOUS_FORMAT_REQUIRED = (
    "spread",
    "spread_multipliers",
    "tables",
    "background_terms",
    "rate_factor_kappa",
    "per_follower",
    "account_exposure",
)


class OutdatedModelError(ValueError):
    """A saved model older than the formats this version reads."""


def _format_version(model: TargetModel) -> int | None:
    state = vars(model)
    if "format_version" in state:
        return state["format_version"]
    unused = {key: state.get(key, value) for key, value in _PREVIOUS_FORMAT_UNUSED.items()}
    if all(state.get(key) is not None for key in _PREVIOUS_FORMAT_REQUIRED) and unused == _PREVIOUS_FORMAT_UNUSED:
        return PREVIOUS_FORMAT_VERSION
    return None


def in_current_format(model, path: str | os.PathLike) -> TargetModel:
    """`model` (as unpickled from `path`) in the current format; raises OutdatedModelError for an older one."""
    if not isinstance(model, TargetModel):
        raise OutdatedModelError(f"model artifact {path} holds a {type(model).__name__}, not a saved TargetModel")
    version = _format_version(model)
    if version == FORMAT_VERSION:
        return model
    if version == PREVIOUS_FORMAT_VERSION:
        state = {key: value for key, value in vars(model).items() if key not in _PREVIOUS_FORMAT_UNUSED}
        return TargetModel(**{**state, "format_version": FORMAT_VERSION})
    found = "an older format" if version is None else f"format {version}"
    raise OutdatedModelError(
        f"model artifact {path} was saved in {found}; this version reads formats {PREVIOUS_FORMAT_VERSION} and "
        f"{FORMAT_VERSION}. Retrain the reach and likes models: {RETRAIN_COMMAND}"
    )
