"""The analytics seed's formulas: the one place that defines them.

Each formula exists twice, as a Python function (for the seed's API and for tests) and
as a DuckDB macro (for set-based SQL over whole tables). `install_macros` puts the
macros into the warehouse so BI users can call them too; tests check both agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Cumulative counters every source reports (NULL where a source does not know one).
COUNT_COLUMNS: tuple[str, ...] = (
    "impressions",
    "likes",
    "retweets",
    "replies",
    "quotes",
    "bookmarks",
    "url_clicks",
    "profile_clicks",
    "media_views",
)

ENGAGEMENT_WEIGHTS = {"likes": 1, "retweets": 2, "replies": 3, "quotes": 2}
RECRUITER_SHARE_OF_PROFILE_VIEWS = 0.10


def _known(value) -> bool:
    return not (value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)))


def _count(value) -> int:
    """A missing count is 0 only where the seed says so: quotes, which some sources never report."""
    return int(value) if _known(value) else 0


def engagements(likes, retweets, replies, quotes) -> int | None:
    """likes + retweets + replies + quotes; None when likes, retweets or replies is unknown."""
    if not all(_known(v) for v in (likes, retweets, replies)):
        return None
    return int(likes) + int(retweets) + int(replies) + _count(quotes)


def engagement_rate_pct(likes, retweets, replies, quotes, impressions) -> float | None:
    """(likes + retweets + replies + quotes) / impressions * 100; 0.0 when impressions is 0;
    None when impressions or an engagement count is unknown (never a made-up 0 in the sum)."""
    if not _known(impressions):
        return None
    if int(impressions) <= 0:
        return 0.0
    total = engagements(likes, retweets, replies, quotes)
    return None if total is None else total / int(impressions) * 100.0


def weighted_engagement_score(likes, retweets, replies, quotes) -> float | None:
    if not all(_known(v) for v in (likes, retweets, replies)):
        return None
    return float(
        int(likes) * ENGAGEMENT_WEIGHTS["likes"]
        + int(retweets) * ENGAGEMENT_WEIGHTS["retweets"]
        + int(replies) * ENGAGEMENT_WEIGHTS["replies"]
        + _count(quotes) * ENGAGEMENT_WEIGHTS["quotes"]
    )


def estimated_recruiter_reach(profile_views_30d) -> int:
    return int(_count(profile_views_30d) * RECRUITER_SHARE_OF_PROFILE_VIEWS)


# DuckDB macros with the same definitions: NULL propagates from an unknown likes, retweets,
# replies or impressions; only quotes is COALESCEd, mirroring `_count` above.
MACROS_SQL = """
CREATE OR REPLACE MACRO engagements(likes, retweets, replies, quotes) AS
    likes + retweets + replies + COALESCE(quotes, 0);
CREATE OR REPLACE MACRO engagement_rate_pct(likes, retweets, replies, quotes, impressions) AS
    CASE WHEN impressions IS NULL THEN NULL
         WHEN impressions <= 0 THEN 0.0
         ELSE engagements(likes, retweets, replies, quotes) * 100.0 / impressions END;
CREATE OR REPLACE MACRO weighted_engagement_score(likes, retweets, replies, quotes) AS
    (likes * 1 + retweets * 2 + replies * 3 + COALESCE(quotes, 0) * 2)::DOUBLE;
CREATE OR REPLACE MACRO estimated_recruiter_reach(profile_views_30d) AS
    floor(COALESCE(profile_views_30d, 0) * 0.10)::BIGINT;
"""


@dataclass(frozen=True)
class CountProblem:
    """A count a source sent that we refused to store as a number."""

    record_id: str
    column: str
    value: object
    reason: str

    def __str__(self) -> str:
        return f"{self.record_id}: {self.column}={self.value!r} {self.reason}; stored as NULL"


def sanitize_counts(
    frame: pd.DataFrame, columns: tuple[str, ...] = COUNT_COLUMNS, id_column: str = "post_id"
) -> tuple[pd.DataFrame, list[CountProblem]]:
    """Coerce count columns to nullable integers.

    Negative, fractional or non-numeric values are not coerced into a plausible number:
    they become NULL and are returned as problems for the caller to log. A missing value
    stays NULL (unknown), never 0.
    """
    cleaned = frame.copy()
    problems: list[CountProblem] = []
    for column in columns:
        if column not in cleaned.columns:
            cleaned[column] = pd.array([pd.NA] * len(cleaned), dtype="Int64")
            continue
        raw = cleaned[column]
        numeric = pd.to_numeric(raw, errors="coerce")
        present = raw.notna() & raw.astype("string").str.strip().ne("")
        not_a_number = present & numeric.isna()
        negative = numeric < 0
        fractional = numeric.notna() & (np.floor(numeric.fillna(0)) != numeric.fillna(0))
        for mask, reason in (
            (not_a_number, "is not a number"),
            (negative, "is negative"),
            (fractional, "is not a whole count"),
        ):
            if mask.any():
                for post_id, value in zip(cleaned.loc[mask, id_column], raw[mask], strict=True):
                    problems.append(CountProblem(str(post_id), column, value, reason))
        numeric = numeric.mask(negative | fractional)
        cleaned[column] = numeric.round().astype("Int64")
    return cleaned, problems
