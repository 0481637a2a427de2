"""Folders the pipeline writes besides the warehouse, each overridable by an environment variable.
Relative defaults resolve against the working directory (the repository root under make)."""

from __future__ import annotations

import os
from pathlib import Path


DEFAULT_WAREHOUSE_STEM = "warehouse"


def warehouse_stem() -> str:
    """The warehouse's file name without extension (`warehouse` by default; a MotherDuck name
    keeps the default), so outputs of a second warehouse beside the first do not collide."""
    database = os.environ.get("SOCIAL_PIPELINE_DB") or ""
    if not database or database.startswith(("md:", "motherduck:")) or database == ":memory:":
        return DEFAULT_WAREHOUSE_STEM
    return Path(database).stem or DEFAULT_WAREHOUSE_STEM


def reports_dir() -> Path:
    """`SOCIAL_PIPELINE_REPORTS_DIR`, else data/reports (data/reports-<name> for a warehouse
    file not called warehouse.duckdb)."""
    if os.environ.get("SOCIAL_PIPELINE_REPORTS_DIR"):
        return Path(os.environ["SOCIAL_PIPELINE_REPORTS_DIR"])
    stem = warehouse_stem()
    return Path("data/reports" if stem == DEFAULT_WAREHOUSE_STEM else f"data/reports-{stem}")


def ops_dir() -> Path:
    """`SOCIAL_PIPELINE_OPS_DIR`, else data/ops: run failures and the prediction log."""
    return Path(os.environ.get("SOCIAL_PIPELINE_OPS_DIR") or "data/ops")


def models_dir() -> Path:
    """`SOCIAL_PIPELINE_MODELS_DIR`, else data/models: joblib artifacts and their charts."""
    return Path(os.environ.get("SOCIAL_PIPELINE_MODELS_DIR") or "data/models")


def predictions_log_dir() -> Path:
    """Served predictions, one JSON line each, one file per UTC day (see defs/ml/assets.py prediction_log)."""
    return ops_dir() / "predictions"
