"""The code location: every domain folder under `defs/` (ingestion, analytics, reporting, ml, ops),
loaded the way `dg` projects load them, plus the resources of this deployment."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from social_pipeline.resources.smtp import smtp_from_env
from social_pipeline.resources.sources import source_resource_from_env
from social_pipeline.resources.warehouse import WarehouseResource, database_path

resources = {
    "warehouse": WarehouseResource(database=database_path()),
    "source": source_resource_from_env(),
    "smtp": smtp_from_env(),
}

defs = dg.Definitions.merge(
    dg.load_from_defs_folder(project_root=Path(__file__).resolve().parent.parent),
    dg.Definitions(
        resources=resources,
        # Steps are short SQL against one DuckDB file, which takes one writer at a time:
        # a process per step (the multiprocess default) would cost more than the work.
        executor=dg.in_process_executor,
    ),
)
