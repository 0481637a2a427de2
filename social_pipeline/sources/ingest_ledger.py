"""The inbox's ledger (ops.ingested_files) and what ingesting one file came to: shared by every kind of
file the inbox takes (X exports and profile sheets in inbox_files.py, LinkedIn's downloads in
linkedin_ingest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from social_pipeline.core.sql_files import scalar


@dataclass
class IngestOutcome:
    path: Path
    status: str  # ingested | duplicate | empty (a header, no rows) | rejected
    sha256: str = ""
    kind: str | None = None
    rows: int = 0  # rows written (new + updated)
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    message: str = ""
    snapshot_time: pd.Timestamp | None = None
    users: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    moved_to: Path | None = None
    # The earliest publication (posts) or activity day (profile) in the file: weekly analytics
    # from that week on are out of date once it is ingested.
    earliest_day: pd.Timestamp | None = None

    def describe(self) -> str:
        if self.status == "ingested":
            when = f", figures as of {self.snapshot_time} UTC" if self.snapshot_time is not None else ""
            return (
                f"ingested {self.path.name}: {self.kind}, {self.rows_new} rows new, {self.rows_updated} updated, "
                f"{self.rows_unchanged} unchanged{when}"
            )
        if self.status == "empty":
            return f"NO ROWS in {self.path.name}: {self.message}; nothing was written"
        if self.status == "duplicate":
            return f"skipped {self.path.name}: the same content was ingested before ({self.message})"
        return f"REJECTED {self.path.name}: {self.message}"


def already_ingested(con, sha: str) -> str | None:
    """'<file name> at <time>' when content of this sha256 is in the ledger, else None."""
    return scalar(
        con,
        "SELECT file_name || ' at ' || strftime(ingested_at, '%Y-%m-%d %H:%M') "
        "FROM ops.ingested_files WHERE content_sha256 = $sha",
        {"sha": sha},
    )
