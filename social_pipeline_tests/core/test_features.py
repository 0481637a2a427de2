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
        "late_night", "late_night", "morning", "morning", "afternoon", "afternoon", "evening", "evening",
        "late_night2"]
    assert list(daypart(pd.Series([3, 20]))) == ["late_night", "evening"]


def test_emoji_count_equals_the_emoji_packages_on_mixed_text():
    # Keycaps start with an ASCII character (11️⃣ holds one); ZWJ families, flags, skin tones, ©®™ count,
    # a lone joiner does not.
    texts = ["1️⃣ then 11️⃣ and #️⃣*️⃣", "a👨‍👩‍👧‍👦b🇺🇸🇬🇧c", "👍🏽👍 © ® ™ ☺", "\u200d\u200d", "🏳️‍🌈x",
             "plain ascii #1 *", "é中ß", "2.0🚀https://x.com/🦆"]
    assert [count_emojis(t) for t in texts] == [emoji.emoji_count(t) for t in texts] == [4, 3, 6, 0, 1, 0, 0, 2]


def test_daypart_of_missing_or_out_of_range_hours_is_missing():
    labels = daypart(np.array([np.nan, -1, 24, 25, 5.5]))
    assert pd.isna(labels[0]) and pd.isna(labels[1]) and labels[2] == "late_night2" and pd.isna(labels[3])
    assert labels[4] == "morning"
