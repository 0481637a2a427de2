"""The warehouse's clock convention: timestamps are naive UTC (DuckDB TIMESTAMP, no zone)."""

from __future__ import annotations

import pandas as pd


def utc_now() -> pd.Timestamp:
    """Now, as naive UTC: the form every timestamp in the warehouse takes."""
    return pd.Timestamp.now("UTC").tz_localize(None)
