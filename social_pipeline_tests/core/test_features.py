"""Text features on hand-counted cases; the column version agrees with the one-text version."""

import emoji
import numpy as np
import pandas as pd
import pytest

from social_pipeline.core.features import (
    count_emojis,
    daypart,
    extract_hashtags,
    extract_mentions,
    text_feature_frame,
    text_features,
)

CASES = [
    # text, chars, words, hashtags, mentions, emojis, has_link
    ("", 0, 0, 0, 0, 0, 0),
    ("Shipping #DuckDB 2.0 with @duckdb 🚀🦆", 36, 6, 1, 1, 2, 0),
    # A family (ZWJ sequence), a flag and a skin-toned hand are one emoji each; ":)" is none.
    ("👨‍👩‍👧 🇫🇷 👋🏽 :)", 14, 4, 0, 0, 3, 0),
    # '#' inside a URL, an e-mail address and an all-digit tag are not tags or mentions.
    ("Read https://example.com/post#intro or mail me@example.com #1 #2026Plans", 72, 7, 1, 0, 0, 1),
    ("www.example.com and #a#b @x@y", 29, 4, 1, 1, 0, 1),
]


@pytest.mark.parametrize("text,chars,words,hashtags,mentions,emojis,link", CASES)
def test_text_features_by_hand(text, chars, words, hashtags, mentions, emojis, link):
    assert text_features(text) == {
        "post_text_len": chars,
        "post_text_words": words,
        "num_hashtags": hashtags,
        "num_mentions": mentions,
        "num_emojis": emojis,
        "has_link": link,
    }


def test_extractors_return_the_names():
    text = "Thanks @dagster and @ThePSF! #Python #DataEngineering https://x.com/#notatag"
    assert extract_hashtags(text) == ["Python", "DataEngineering"]
    assert extract_mentions(text) == ["dagster", "ThePSF"]


def test_column_version_agrees_with_single_text():
    texts = pd.Series([c[0] for c in CASES] + [None], index=range(10, 10 + len(CASES) + 1))
    frame = text_feature_frame(texts)
    assert list(frame.index) == list(texts.index)
    for index, text in texts.items():
        assert frame.loc[index].to_dict() == text_features(text)


def test_daypart_uses_the_notebooks_bins():
    assert [daypart(h) for h in (0, 5, 6, 11, 12, 17, 18, 22, 23)] == [
        "late_night",
        "late_night",
        "morning",
        "morning",
        "afternoon",
        "afternoon",
        "evening",
        "evening",
        "late_night2",
    ]
    assert list(daypart(pd.Series([3, 20]))) == ["late_night", "evening"]


def test_emoji_count_equals_the_emoji_packages_on_mixed_text():
    # Keycaps start with an ASCII character (11️⃣ holds one); ZWJ families, flags, skin tones, ©®™ count,
    # a lone joiner does not.
    texts = [
        "1️⃣ then 11️⃣ and #️⃣*️⃣",
        "a👨‍👩‍👧‍👦b🇺🇸🇬🇧c",
        "👍🏽👍 © ® ™ ☺",
        "\u200d\u200d",
        "🏳️‍🌈x",
        "plain ascii #1 *",
        "é中ß",
        "2.0🚀https://x.com/🦆",
    ]
    assert [count_emojis(t) for t in texts] == [emoji.emoji_count(t) for t in texts] == [4, 3, 6, 0, 1, 0, 0, 2]


def test_daypart_of_missing_or_out_of_range_hours_is_missing():
    labels = daypart(np.array([np.nan, -1, 24, 25, 5.5]))
    assert pd.isna(labels[0]) and pd.isna(labels[1]) and labels[2] == "late_night2" and pd.isna(labels[3])
    assert labels[4] == "morning"


def test_one_drafts_features_are_the_batch_paths_value_for_value():
    """feature_row builds its one row from scalars; it must give exactly what feature_frame gives, for
    drafts in zones (DST on both sides), without a zone in the time, with counts given or derived,
    without followers or rate, and with an empty text."""
    from social_pipeline.core.prediction_request import PostPayload, feature_frame, feature_row

    drafts = [
        PostPayload(
            post_text="Ship it #DuckDB @dagster 🚀🚀 https://x.co",
            scheduled_time="2026-07-15T17:30:00Z",
            timezone="Europe/Berlin",
            user_followers=40_000,
            user_avg_engagement_rate=0.03,
            media_type="image",
            num_media_items=2,
        ),
        PostPayload(
            post_text="late",
            scheduled_time="2026-01-14T23:30:00+05:30",
            timezone="America/New_York",
            num_hashtags=7,
            num_mentions=0,
            num_emojis=3,
        ),
        PostPayload(post_text="no zone given", scheduled_time="2026-03-29T01:30:00", timezone="Asia/Kolkata"),
        PostPayload(post_text="", scheduled_time="2026-11-01T05:59:00Z", media_type="video"),
    ]
    for draft in drafts:
        one, _ = feature_row(draft)
        pd.testing.assert_frame_equal(one, feature_frame([draft]), check_exact=True)


@pytest.mark.parametrize(
    "value",
    [
        "2026-07-15T19:30:00Z",
        "2026-07-15 19:30",
        "2026-07-15T19:30:00.123+05:30",
        "2026-07-15T19:30:00.123456-08:00",
        "2026-01-14T23:30:00+14:00",
        "2024-02-29T00:00:00Z",
        "1678-01-01T00:00:00Z",
        "2261-12-31T23:59:59Z",
        "2026-07-15T19:30:00-00:00",
        "2026-12-31T23:59:59.999999Z",
    ],
)
def test_the_fast_iso_path_reads_what_pandas_reads(value):
    from social_pipeline.core.prediction_request import _common_iso_time, parse_scheduled_time

    fast = _common_iso_time(value)
    assert fast is not None  # these take the fast path
    assert fast == pd.to_datetime(value, format="ISO8601")
    assert fast.tzinfo is None if pd.to_datetime(value, format="ISO8601").tzinfo is None else fast.tzinfo is not None
    # And the whole parse agrees with the batch path's vectorised pandas parse.
    batch = pd.to_datetime(pd.Series([value]), utc=True, format="ISO8601").dt.tz_localize(None).iloc[0]
    assert parse_scheduled_time(value)[0] == batch


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30T10:00:00Z",
        "2026-07-15T24:00:00Z",
        "2026-07-15T19:30:00.1Z",
        "2026-07-15T19:30:00+0530",
        "3000-01-01T00:00:00Z",
        "1600-01-01T00:00:00Z",
        "2026-07-15T19:30:00Z ",
        "now",
    ],
)
def test_other_forms_are_left_to_pandas_and_judged_as_before(value):
    from social_pipeline.core.prediction_request import _common_iso_time, parse_scheduled_time

    assert _common_iso_time(value) is None
    try:
        expected = pd.to_datetime(value, format="ISO8601")
        expected = None if expected is pd.NaT or not value[:4].isdigit() else expected
    except (ValueError, TypeError, OverflowError):
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match="is not an ISO 8601 time"):
            parse_scheduled_time(value)
    else:
        stamp = parse_scheduled_time(value)[0]
        assert stamp == (expected.tz_convert("UTC").tz_localize(None) if expected.tzinfo else expected)


def test_a_draft_more_than_a_year_ahead_is_refused_naming_the_bound():
    """A year from now is the latest accepted scheduled_time, in any zone; any past time is accepted."""
    from pydantic import ValidationError

    from social_pipeline.core.clock import utc_now
    from social_pipeline.core.prediction_request import PostPayload

    year_ahead = utc_now() + pd.DateOffset(years=1)
    bounds = {year_ahead.floor("min")}
    inside = (year_ahead - pd.Timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert PostPayload(scheduled_time=inside).scheduled_time == inside
    # The same instant written in UTC+14: still inside.
    kiribati = (year_ahead - pd.Timedelta(minutes=1) + pd.Timedelta(hours=14)).strftime("%Y-%m-%dT%H:%M:%S+14:00")
    assert PostPayload(scheduled_time=kiribati).scheduled_time == kiribati
    outside = (year_ahead + pd.Timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    with pytest.raises(ValidationError) as refused:
        PostPayload(scheduled_time=outside)
    (error,) = refused.value.errors()
    assert error["loc"] == ("scheduled_time",)
    bounds.add((utc_now() + pd.DateOffset(years=1)).floor("min"))  # the validator's now lies between
    assert error["msg"] in {
        f"Value error, scheduled_time '{outside}' is more than a year from now (latest "
        f"accepted: {bound:%Y-%m-%dT%H:%M}Z, UTC); past times are accepted"
        for bound in bounds
    }
    assert PostPayload(scheduled_time="1990-01-01T00:00:00Z").scheduled_time == "1990-01-01T00:00:00Z"
