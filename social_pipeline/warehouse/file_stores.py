"""The folders and files the pipeline keeps besides the warehouse, in one plain object (FileStores);
resources/files.py makes it a Dagster resource.

Every default is decided here. Relative paths resolve against the working directory (the
repository root under make). The environment fills these fields only at the edges: the code
location's definitions (as `dg.EnvVar`, resolved when a run starts) and the entry points outside
Dagster (the CLI, the HTTP API, the seed's Python API), through `file_stores_from_env` below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from social_pipeline.warehouse.connection import DEFAULT_DB_PATH, is_local_file
from social_pipeline.warehouse.lake import is_lake

DEFAULT_WAREHOUSE_STEM = "warehouse"
DEFAULT_REPORTS_DIR = "data/reports"
DEFAULT_MODELS_DIR = "data/models"
DEFAULT_OPS_DIR = "data/ops"
DEFAULT_BI_DIR = "data/bi"
DEFAULT_INBOX_DIR = "data/inbox"

# Field -> the environment variable that sets it (README, Configuration).
FILE_STORE_ENV_VARS = {
    "warehouse_database": "SOCIAL_PIPELINE_DB",
    "reports_dir": "SOCIAL_PIPELINE_REPORTS_DIR",
    "models_dir": "SOCIAL_PIPELINE_MODELS_DIR",
    "ops_dir": "SOCIAL_PIPELINE_OPS_DIR",
    "bi_database": "SOCIAL_PIPELINE_BI_DB",
    "inbox_dir": "SOCIAL_PIPELINE_INBOX",
}


def env_settings(env_vars: dict[str, str]) -> dict:
    """{field: value} for each variable that is set, read now: for entry points outside Dagster (inside it,
    resources read the same variables as `dg.EnvVar`)."""
    return {field: os.environ[var] for field, var in env_vars.items() if os.environ.get(var)}


def warehouse_stem(database: str) -> str:
    """The warehouse's file name without extension (`warehouse` by default; a MotherDuck name
    keeps the default), so outputs of a second warehouse beside the first do not collide."""
    if not database or not is_local_file(database):
        return DEFAULT_WAREHOUSE_STEM
    return Path(database).stem or DEFAULT_WAREHOUSE_STEM


class FileStores(BaseModel):
    """Reports, models, the ops folder, the BI copy and the inbox. Empty `reports_dir` / `bi_database`
    follow the warehouse's file name, so a second warehouse does not overwrite the first's files."""

    warehouse_database: str = Field(
        default=DEFAULT_DB_PATH,
        description="SOCIAL_PIPELINE_DB: the warehouse these files belong to; "
        "its file name names the default reports folder and BI copy",
    )
    reports_dir: str = Field(
        default="",
        description="SOCIAL_PIPELINE_REPORTS_DIR: weekly report files. "
        f"Empty: {DEFAULT_REPORTS_DIR} ({DEFAULT_REPORTS_DIR}-<name> for another warehouse file)",
    )
    models_dir: str = Field(
        default=DEFAULT_MODELS_DIR,
        description="SOCIAL_PIPELINE_MODELS_DIR: model artifacts "
        "(<name>/<version>.joblib) and their predicted-vs-actual charts",
    )
    ops_dir: str = Field(
        default=DEFAULT_OPS_DIR, description="SOCIAL_PIPELINE_OPS_DIR: run-failure records and the prediction log"
    )
    bi_database: str = Field(
        default="",
        description="SOCIAL_PIPELINE_BI_DB: the read-only copy BI tools open. "
        f"Empty: {DEFAULT_BI_DIR}/<the warehouse's file name>",
    )
    inbox_dir: str = Field(
        default=DEFAULT_INBOX_DIR,
        description="SOCIAL_PIPELINE_INBOX: the folder the inbox sensor watches for export and profile files",
    )

    def reports_path(self) -> Path:
        if self.reports_dir:
            return Path(self.reports_dir)
        stem = warehouse_stem(self.warehouse_database)
        return Path(DEFAULT_REPORTS_DIR if stem == DEFAULT_WAREHOUSE_STEM else f"{DEFAULT_REPORTS_DIR}-{stem}")

    def models_path(self) -> Path:
        return Path(self.models_dir)

    def ops_path(self) -> Path:
        return Path(self.ops_dir)

    def predictions_log_path(self) -> Path:
        """Served predictions, one JSON line each, one file per UTC day (defs/ml/assets.py prediction_log)."""
        return self.ops_path() / "predictions"

    def run_failures_path(self) -> Path:
        return self.ops_path() / "run_failures.jsonl"

    def bi_database_path(self) -> str:
        return self.bi_database or f"{DEFAULT_BI_DIR}/{warehouse_stem(self.warehouse_database)}.duckdb"

    def inbox_path(self) -> Path:
        return Path(self.inbox_dir)


def file_stores_from_env() -> FileStores:
    """The file stores the environment names now (the CLI, the HTTP API, the seed's Python API)."""
    return _file_stores(tuple(env_settings(FILE_STORE_ENV_VARS).items()))


@lru_cache(maxsize=16)
def _file_stores(settings: tuple) -> FileStores:
    # Building one costs milliseconds; the API asks on every request.
    return FileStores(**dict(settings))


def reader_database(database: str) -> str:
    """Where readers that must never wait for a run (sensors, the API) read: a lake itself, live, with
    snapshot isolation; for a DuckDB file its BI copy when there is one (a run holds the file's lock)."""
    bi_database = file_stores_from_env().bi_database_path()
    if is_lake(database) or not Path(bi_database).exists():
        return database
    return bi_database
