"""The code location: every domain folder under `defs/` (ingestion, analytics, reporting, ml, ops),
loaded the way `dg` projects load them, plus the resources of this deployment.

This is the deployment's edge, the one module of the code location that reads the environment:
`SOCIAL_PIPELINE_SOURCE` picks which source resource is bound under "source", and the resources'
builders turn the other variables that are set into dg.EnvVar fields (README, Configuration)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from social_pipeline.resources.alerts import alert_channels_from_env
from social_pipeline.resources.files import file_stores_for_definitions
from social_pipeline.resources.smtp import smtp_from_env
from social_pipeline.resources.source_choice import source_resource_from_env
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.connection import database_path

resources = {
    "warehouse": WarehouseResource(database=database_path()),
    "source": source_resource_from_env(os.environ.get("SOCIAL_PIPELINE_SOURCE") or "simulated"),
    "file_stores": file_stores_for_definitions(),
    "smtp": smtp_from_env(),
    "alert_channels": alert_channels_from_env(),
}

defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent),
    dg.Definitions(
        resources=resources,
        # Steps are short SQL against one DuckDB file, which takes one writer at a time:
        # a process per step (the multiprocess default) would cost more than the work.
        executor=dg.in_process_executor,
    ),
)
