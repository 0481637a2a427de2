"""The code location: one Definitions with every asset, check, job, schedule and sensor."""

from __future__ import annotations

import dagster as dg

from .assets import analytics, ingestion, reporting
from . import automation, checks, jobs
from .resources.sources import SourceResource, source_kind_from_env
from .resources.warehouse import WarehouseResource, database_path

resources = {
    "warehouse": WarehouseResource(database=database_path()),
    "source": SourceResource(kind=source_kind_from_env()),
    "smtp": automation.smtp_from_env(),
}

defs = dg.Definitions.merge(
    ingestion.defs,
    analytics.defs,
    reporting.defs,
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
