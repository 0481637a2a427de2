"""The code location: one Definitions with every asset, check, job, schedule and sensor."""

from __future__ import annotations

import dagster as dg

from . import automation, checks, jobs
from .assets import analytics, inbox, ingestion, ml, reporting
from .resources.sources import source_resource_from_env
from .resources.warehouse import WarehouseResource, database_path

resources = {
    "warehouse": WarehouseResource(database=database_path()),
    "source": source_resource_from_env(),
    "smtp": automation.smtp_from_env(),
}

defs = dg.Definitions.merge(
    ingestion.defs,
    inbox.defs,
    analytics.defs,
    reporting.defs,
    ml.defs,
    jobs.defs,
    checks.defs,
    automation.defs,
    dg.Definitions(
        resources=resources,
        # Steps are short SQL against one DuckDB file, which takes one writer at a time:
        # a process per step (the multiprocess default) would cost more than the work.
        executor=dg.in_process_executor,
    ),
)
