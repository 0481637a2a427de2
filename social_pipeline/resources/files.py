"""The file stores (social_pipeline/warehouse/file_stores.py) as a Dagster resource, configured from
the environment as `dg.EnvVar` (resolved when a run starts)."""

from __future__ import annotations

import dagster as dg

from social_pipeline.resources.env import env_var_settings
from social_pipeline.warehouse.file_stores import FILE_STORE_ENV_VARS, FileStores, file_stores_from_env


class FileStoresResource(dg.ConfigurableResource, FileStores):
    """Reports, models, the ops folder, the BI copy and the inbox (fields and paths: FileStores)."""


def file_stores_for_definitions() -> FileStoresResource:
    """The code location's file stores: the variables that are set, as dg.EnvVar."""
    return FileStoresResource(**env_var_settings(FILE_STORE_ENV_VARS))


def file_stores_resource_from_env() -> FileStoresResource:
    """The file stores the environment names now, as a resource for runs started outside the code location (the CLI)."""
    return FileStoresResource(**file_stores_from_env().model_dump())
