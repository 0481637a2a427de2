"""The code location: one Definitions with every asset, check, job, schedule and sensor."""

from __future__ import annotations

import dagster as dg

from .assets import analytics, ingestion, reporting
from .jobs import defs as job_defs
from .resources.sources import SourceResource, source_kind_from_env
from .resources.warehouse import WarehouseResource, database_path

resources = {
    "warehouse": WarehouseResource(database=database_path()),
    "source": SourceResource(kind=source_kind_from_env()),
}

defs = dg.Definitions.merge(
    ingestion.defs,
    analytics.defs,
    reporting.defs,
    job_defs,
    dg.Definitions(
        resources=resources,
        # Steps are short SQL against one DuckDB file, which takes one writer at a time:
        # a process per step (the multiprocess default) would cost more than the work.
        executor=dg.in_process_executor,
    ),
)
