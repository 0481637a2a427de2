"""Features of a post known at publish time: its text (length, hashtags, mentions, emojis,
links) and its publication hour's daypart.

One definition serves the training dataset (a whole column at once) and a single draft in
`predict`. Emojis come from the `emoji` package's Unicode data (ZWJ sequences, flags and skin
tones count as one emoji), not from a guessed character range.
"""

from __future__ import annotations

import re

import emoji
import numpy as np
import pandas as pd

URL_PATTERN = r"(?:https?://|www\.)\S+"
# X's rules, roughly: a tag starts after a non-word character and is not all digits.
HASHTAG_PATTERN = r"(?<![\w&#])#(?!\d+\b)\w+"
# An @ inside a word is an e-mail address, not a mention; handles are at most 15 characters.
MENTION_PATTERN = r"(?<![\w@])@\w{1,15}\b"

URL_RE = re.compile(URL_PATTERN, re.IGNORECASE)
HASHTAG_RE = re.compile(HASHTAG_PATTERN)
MENTION_RE = re.compile(MENTION_PATTERN)

TEXT_FEATURE_COLUMNS = (
    "post_text_len", "post_text_words", "num_hashtags", "num_mentions", "num_emojis", "has_link",
)


def _without_urls(text: str) -> str:
    # A URL's fragment or path ("...#section", ".../@user") is neither a hashtag nor a mention.
    return URL_RE.sub(" ", text)


def extract_urls(text: str | None) -> list[str]:
    return URL_RE.findall(text or "")


def extract_hashtags(text: str | None) -> list[str]:
    """Hashtags without the '#', in order of appearance."""
    return [tag[1:] for tag in HASHTAG_RE.findall(_without_urls(text or ""))]


def extract_mentions(text: str | None) -> list[str]:
    """Handles without the '@', in order of appearance."""
    return [handle[1:] for handle in MENTION_RE.findall(_without_urls(text or ""))]


def count_emojis(text: str | None) -> int:
    return emoji.emoji_count(text or "")


def text_features(text: str | None) -> dict[str, int]:
    """The features of one text; counts in characters (Unicode code points) and words."""
    text = text if isinstance(text, str) else ""  # None or a pandas NaN
    return {
        "post_text_len": len(text),
        "post_text_words": len(text.split()),
        "num_hashtags": len(extract_hashtags(text)),
        "num_mentions": len(extract_mentions(text)),
        "num_emojis": count_emojis(text),
        "has_link": int(bool(URL_RE.search(text))),
    }


def text_feature_frame(texts: pd.Series) -> pd.DataFrame:
    """`text_features` for a whole column, with pandas' vectorised string methods."""
    texts = texts.fillna("").astype(str)
    bare = texts.str.replace(URL_PATTERN, " ", regex=True, flags=re.IGNORECASE)
    return pd.DataFrame(
        {
            "post_text_len": texts.str.len(),
            "post_text_words": texts.str.split().str.len(),
            "num_hashtags": bare.str.count(HASHTAG_PATTERN),
            "num_mentions": bare.str.count(MENTION_PATTERN),
            "num_emojis": texts.map(count_emojis),
            "has_link": texts.str.contains(URL_PATTERN, regex=True, flags=re.IGNORECASE),
        },
        index=texts.index,
    ).astype("int64")


# The prediction notebook's hour buckets: pd.cut(hour, bins=[-1, 5, 11, 17, 22, 24]).
DAYPART_BINS = (-1, 5, 11, 17, 22, 24)
DAYPART_LABELS = ("late_night", "morning", "afternoon", "evening", "late_night2")


def daypart(hour) -> np.ndarray | str:
    """The notebook's daypart label of an hour (0-23), for one hour or an array of them."""
    labels = pd.cut(np.atleast_1d(np.asarray(hour, dtype=float)), bins=DAYPART_BINS, labels=DAYPART_LABELS)
    result = np.asarray(labels.astype(object))
    return result if np.ndim(hour) else str(result[0])
