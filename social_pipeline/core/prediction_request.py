"""The prediction notebook's request contract, validated, and the model features derived from it.

One definition serves `predict`, the CLI and the HTTP API (whose 422 answers come from it).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .clock import naive_utc, utc_now
from .features import daypart, text_feature_frame, text_features
from .models.inputs import DEFAULT_NETWORK
from .timezones import DEFAULT_TIMEZONE, check_timezone, utc_to_local

_STARTS_WITH_YEAR = re.compile(r"\s*\d{4}")
# The form nearly every client sends; Python's own parser reads it ~50x faster than pandas' and to the
# same instant (tested), within the years pandas can hold. Anything else goes to pandas.
_COMMON_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{3}|\.\d{6})?)?(Z|[+-]\d{2}:\d{2})?")
MAX_TEXT_CHARS = 25_000  # X's longest post (Premium); longer is not a post
MAX_YEARS_AHEAD = 1


class PostPayload(BaseModel):
    """A draft post, as the notebook's contract defines it. Counts left out come from the text."""

    model_config = ConfigDict(extra="forbid")

    post_text: str = Field("", max_length=MAX_TEXT_CHARS, description="the draft's text")
    media_type: Literal["none", "image", "video"] = "none"
    # Counts are strict integers: `true` is not a follower count, nor is "40000" or 40000.5.
    num_media_items: int = Field(0, ge=0, le=20, strict=True)
    scheduled_time: str | None = Field(
        None,
        max_length=64,
        description="ISO 8601; a time without a timezone is taken as UTC. Default: now. "
        "At most a year from now; any past time is accepted.",
        examples=["2026-07-15T19:30:00Z"],
    )
    user_followers: int = Field(100, ge=0, le=2_000_000_000, strict=True)
    user_avg_engagement_rate: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        strict=True,
        allow_inf_nan=False,
        description="a ratio, 0-1: engagements per impression on X, per follower at posting time on Bluesky",
    )
    num_hashtags: int | None = Field(None, ge=0, le=1_000, strict=True)
    num_mentions: int | None = Field(None, ge=0, le=1_000, strict=True)
    num_emojis: int | None = Field(None, ge=0, le=10_000, strict=True)
    user_id: str | None = Field(None, max_length=200, description="whose history ranks the hashtag suggestions")
    network: Literal["x", "bluesky"] | None = Field(
        None,
        description="the network the draft is for. Default: the account's network when user_id is known, "
        "else x. Bluesky counts no impressions: a Bluesky draft gets likes and no reach.",
    )
    post_id: str | None = Field(None, max_length=200, description="the published post, to join its outcome")
    timezone: str | None = Field(
        None,
        max_length=64,
        description="IANA zone the hour and weekday are read in, as the models learnt them "
        "(e.g. Europe/Berlin). Default: the account's zone when user_id is known, else UTC.",
        examples=["Europe/Berlin"],
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("scheduled_time")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            stamp, _ = parse_scheduled_time(value)
            latest = latest_scheduled_time()
            if stamp > latest:
                raise ValueError(
                    f"scheduled_time {value!r} is more than a year from now (latest accepted: "
                    f"{latest:%Y-%m-%dT%H:%M}Z, UTC); past times are accepted"
                )
        return value


def latest_scheduled_time() -> pd.Timestamp:
    """The latest scheduled_time a draft may have (naive UTC): a year from now, to the minute. Later
    is almost certainly a typo (3026 for 2026); any past time is fine (a backtest)."""
    return utc_now().floor("min") + pd.DateOffset(years=MAX_YEARS_AHEAD)


def parse_scheduled_time(value: str | None) -> tuple[pd.Timestamp, str | None]:
    """(naive UTC time, a note when the input had no timezone or was missing).

    Strict ISO 8601, the same parsing `feature_frame` uses, so what validates also predicts."""
    if value is None:
        return utc_now().floor("min"), "scheduled_time missing: predicted for now (UTC)"
    stamp = _common_iso_time(value)
    if stamp is None:
        stamp = _pandas_iso_time(value)
    if stamp.tzinfo is None:
        return stamp, f"scheduled_time {value!r} has no timezone: taken as UTC"
    return naive_utc(stamp), None


def _pandas_iso_time(value: str) -> pd.Timestamp:
    """`value` as pandas' ISO 8601 parser reads it; ValueError naming it when that is no time."""
    problem = f"scheduled_time {value!r} is not an ISO 8601 time (e.g. 2026-07-15T19:30:00Z)"
    # pandas' ISO 8601 parser still takes the words 'now' and 'today'; an ISO time starts with its year.
    if not _STARTS_WITH_YEAR.match(value):
        raise ValueError(problem)
    try:
        stamp = pd.to_datetime(value, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        raise ValueError(problem) from None
    if stamp is pd.NaT:
        raise ValueError(problem)
    return stamp


def _common_iso_time(value: str) -> pd.Timestamp | None:
    """`value` in _COMMON_ISO's form as pandas reads it, or None to leave it to pandas."""
    if not _COMMON_ISO.fullmatch(value):
        return None
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    if not 1678 <= parsed.year <= 2261:  # pandas' nanosecond range (1677-09-21 to 2262-04-11) and a margin
        return None
    return pd.Timestamp(parsed)


def feature_frame(payloads: list[PostPayload]) -> pd.DataFrame:
    """The model features of many drafts at once, column by column (vectorised)."""
    now = utc_now().floor("min")
    times = pd.to_datetime(pd.Series([p.scheduled_time for p in payloads], dtype=object), utc=True, format="ISO8601")
    times = times.dt.tz_localize(None).fillna(now)  # a time without a zone is UTC; none at all is now
    times = utc_to_local(times, [p.timezone for p in payloads])  # the audience's clock
    frame = text_feature_frame(pd.Series([p.post_text for p in payloads], dtype=object))
    for count in ("num_hashtags", "num_mentions", "num_emojis"):
        given = pd.Series([getattr(p, count) for p in payloads], dtype="float64")
        frame[count] = given.fillna(frame[count]).astype("int64")
    frame["hour"] = times.dt.hour.to_numpy()
    frame["daypart"] = daypart(frame["hour"].to_numpy())
    frame["day_of_week"] = times.dt.day_of_week.to_numpy()
    frame["media_type"] = [p.media_type for p in payloads]
    frame["num_media_items"] = [p.num_media_items for p in payloads]
    frame["user_followers"] = [p.user_followers for p in payloads]
    frame["user_avg_engagement_rate"] = [p.user_avg_engagement_rate for p in payloads]
    frame["network"] = [p.network or DEFAULT_NETWORK for p in payloads]
    return frame


def feature_row(payload: PostPayload) -> tuple[pd.DataFrame, list[str]]:
    """The one-row feature frame the models take (`feature_frame([payload])`, value for value and type
    for type), and notes on what was assumed. Built from scalars: the column-wise path costs ~10 ms of
    pandas calls for one row, most of a served prediction."""
    stamp, note = parse_scheduled_time(payload.scheduled_time)
    notes = [note] if note else []
    if not payload.post_text.strip():
        notes.append("post_text is empty: text features are 0 and no hashtags are suggested")
    local = stamp.tz_localize("UTC").tz_convert(payload.timezone or DEFAULT_TIMEZONE)  # the audience's clock
    row = text_features(payload.post_text)
    for count in ("num_hashtags", "num_mentions", "num_emojis"):
        if getattr(payload, count) is not None:
            row[count] = getattr(payload, count)
    columns: dict[str, np.ndarray | list] = {name: np.array([value], dtype="int64") for name, value in row.items()}
    columns.update(
        {
            "hour": np.array([local.hour], dtype="int32"),
            "daypart": np.array([daypart(local.hour)], dtype=object),
            "day_of_week": np.array([local.day_of_week], dtype="int32"),
            "media_type": [payload.media_type],
            "num_media_items": [payload.num_media_items],
            "user_followers": [payload.user_followers],
            "user_avg_engagement_rate": [payload.user_avg_engagement_rate],
            "network": [payload.network or DEFAULT_NETWORK],
        }
    )
    return pd.DataFrame(columns), notes
