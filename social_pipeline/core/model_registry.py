"""Model artifacts on disk and their rows in ml.model_registry.

An artifact is written under a temporary name and renamed into place, so a crash never leaves
a half-written file behind a registered version; the registry row goes in only after the file.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import duckdb
import joblib

from .schema import column_names

class ModelNotTrainedError(LookupError):
    """No registered model to serve."""


def save(model, models_dir: str | os.PathLike, name: str, version: str) -> Path:
    """joblib-dump `model` to <models_dir>/<name>/<version>.joblib atomically; returns the path."""
    path = Path(models_dir) / name / f"{version}.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        joblib.dump(model, staging)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    return path


def load(path: str | os.PathLike):
    if not Path(path).exists():
        raise ModelNotTrainedError(f"model artifact {path} is registered but missing on disk: "
                                   "materialise the reach_model and likes_model assets again")
    return joblib.load(path)


def latest(con: duckdb.DuckDBPyConnection, name: str) -> dict | None:
    """The newest registry row of a model, or None."""
    frame = con.execute(
        "SELECT * FROM ml.model_registry WHERE model_name = $name ORDER BY trained_at DESC, version DESC LIMIT 1",
        {"name": name},
    ).df()
    if frame.empty:
        return None
    row = frame.iloc[0].to_dict()
    row["metrics"] = json.loads(row["metrics"]) if isinstance(row["metrics"], str) else row["metrics"]
    return row


def register(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Insert registry rows; JSON columns are serialised here."""
    columns = column_names("ml.model_registry")
    for row in rows:
        values = {c: row.get(c) for c in columns}
        for key in ("metrics", "params"):
            values[key] = json.dumps(values[key] if values[key] is not None else {}, default=float)
        con.execute(
            f"INSERT INTO ml.model_registry ({', '.join(columns)}) VALUES ({', '.join('$' + c for c in columns)})",
            values,
        )


def svg_markdown(svg: str) -> str:
    """An SVG as a Markdown image (a data URL), for the Dagster UI's Markdown metadata."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"![predicted vs actual](data:image/svg+xml;base64,{encoded})"
