"""Folders the pipeline writes besides the warehouse, each overridable by an environment variable.
Relative defaults resolve against the working directory (the repository root under make)."""

from __future__ import annotations

import os
from pathlib import Path


def ops_dir() -> Path:
    """`SOCIAL_PIPELINE_OPS_DIR`, else data/ops: run failures and the prediction log."""
    return Path(os.environ.get("SOCIAL_PIPELINE_OPS_DIR") or "data/ops")


def models_dir() -> Path:
    """`SOCIAL_PIPELINE_MODELS_DIR`, else data/models: joblib artifacts and their charts."""
    return Path(os.environ.get("SOCIAL_PIPELINE_MODELS_DIR") or "data/models")


def predictions_log_dir() -> Path:
    """Served predictions, one JSON line each, one file per UTC day (see assets/ml.py prediction_log)."""
    return ops_dir() / "predictions"
