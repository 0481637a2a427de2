"""Model artifacts on disk and their rows in ml.model_registry.

An artifact is written under a temporary name and renamed into place, so a crash never leaves
a half-written file behind a registered version; the registry row goes in only after the file.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import duckdb

from .files import write_atomically
from .models.saved_format import in_current_format
from .schema import column_names

# A retrained model may score a little worse than the one it replaces by chance alone
# (new held-out posts): it fails only when it is more than this much worse.
PREVIOUS_MODEL_RMSE_TOLERANCE = 0.02


class ModelNotTrainedError(LookupError):
    """No registered model to serve."""


def save(model, models_dir: str | os.PathLike, name: str, version: str) -> Path:
    """joblib-dump `model` to <models_dir>/<name>/<version>.joblib atomically; returns the path."""
    import joblib  # imported where used: loading the definitions need not pay for it

    path = Path(models_dir) / name / f"{version}.joblib"
    write_atomically(path, lambda staging: joblib.dump(model, staging))
    return path


def load(path: str | os.PathLike):
    """The saved model at `path` in the current format (models/saved_format.py)."""
    import joblib

    if not Path(path).exists():
        raise ModelNotTrainedError(
            f"model artifact {path} is registered but missing on disk: "
            "materialise the reach_model and likes_model assets again"
        )
    return in_current_format(joblib.load(path), path)


def beats_baseline(figures: dict) -> bool:
    """Held-out RMSE below the baseline's (each user's trailing mean) on the same posts."""
    return bool(figures["rmse"] < figures["baseline_rmse"])


def not_worse_than_previous(figures: dict) -> bool:
    """Held-out RMSE at most PREVIOUS_MODEL_RMSE_TOLERANCE above the replaced model's on the same posts.
    True when there is nothing to compare with (a first model, or the previous one's file is gone)."""
    previous = figures.get("previous_rmse")
    if previous is None:
        return True
    return bool(figures["rmse"] <= previous * (1 + PREVIOUS_MODEL_RMSE_TOLERANCE))


def promotion(figures: dict) -> tuple[bool, list[str]]:
    """Whether a new model may be served (the model checks' criteria), and the reasons it may not."""
    reasons = []
    if not beats_baseline(figures):
        reasons.append(f"RMSE {figures['rmse']:.1f} is not below the baseline's {figures['baseline_rmse']:.1f}")
    if not not_worse_than_previous(figures):
        reasons.append(
            f"RMSE {figures['rmse']:.1f} is more than {PREVIOUS_MODEL_RMSE_TOLERANCE:.0%} above the "
            f"previous model's {figures['previous_rmse']:.1f}"
        )
    return not reasons, reasons


def _has_promoted_column(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'ml' "
            "AND table_name = 'model_registry' AND column_name = 'promoted'"
        ).fetchall()[0][0]
    )


def latest(con: duckdb.DuckDBPyConnection, name: str, promoted_only: bool = False) -> dict | None:
    """The newest registry row of a model (with promoted_only, the newest that passed its checks), or None.

    Rows from before the promoted column (NULL) were served then, so they count as promoted; a file
    opened read-only from before the column (an older BI copy) has not been migrated and has none."""
    where = "AND coalesce(promoted, TRUE)" if promoted_only and _has_promoted_column(con) else ""
    frame = con.execute(
        f"SELECT * FROM ml.model_registry WHERE model_name = $name {where} "
        "ORDER BY trained_at DESC, version DESC LIMIT 1",
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
