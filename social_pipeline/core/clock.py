"""The warehouse's clock convention: timestamps are naive UTC (DuckDB TIMESTAMP, no zone)."""

from __future__ import annotations

import pandas as pd


def utc_now() -> pd.Timestamp:
    """Now, as naive UTC: the form every timestamp in the warehouse takes."""
    return pd.Timestamp.now("UTC").tz_localize(None)


def naive_utc(value) -> pd.Timestamp:
    """`value` as naive UTC: a time with a zone is converted to UTC; one without is UTC already."""
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
