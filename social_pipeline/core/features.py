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
    "post_text_len",
    "post_text_words",
    "num_hashtags",
    "num_mentions",
    "num_emojis",
    "has_link",
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


# An emoji is non-ASCII apart from a keycap's first character (#, * or a digit), so it lies within
# one match of this pattern: counting there gives emoji.emoji_count's answer without running its
# tokenizer over the ASCII text around (a test compares them).
_EMOJI_CANDIDATE_RE = re.compile(r"[#*0-9]?[^\x00-\x7f]+")


def count_emojis(text: str | None) -> int:
    text = text or ""
    if text.isascii():
        return 0
    return sum(emoji.emoji_count(run) for run in _EMOJI_CANDIDATE_RE.findall(text))


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
    """`text_features` for a whole column. One pass per text: pandas' string methods loop in Python
    too, six times over, and cost a millisecond each even for the single draft of a prediction."""
    texts = texts.fillna("").astype(str)
    rows = [text_features(text) for text in texts]
    return pd.DataFrame(rows, index=texts.index, columns=list(TEXT_FEATURE_COLUMNS)).fillna(0).astype("int64")


# The prediction notebook's hour buckets: pd.cut(hour, bins=[-1, 5, 11, 17, 22, 24]).
DAYPART_BINS = (-1, 5, 11, 17, 22, 24)
DAYPART_LABELS = ("late_night", "morning", "afternoon", "evening", "late_night2")


def daypart(hour) -> np.ndarray | str:
    """The notebook's daypart label of an hour (0-23), for one hour or an array of them; NaN for a
    missing hour or one outside the bins. pd.cut's right-closed bins, without its cost per call."""
    hours = np.atleast_1d(np.asarray(hour, dtype=float))
    bin_index = np.searchsorted(np.asarray(DAYPART_BINS, dtype=float), hours, side="left") - 1
    inside = (hours > DAYPART_BINS[0]) & (hours <= DAYPART_BINS[-1])
    result = np.where(
        inside, np.asarray(DAYPART_LABELS, dtype=object)[np.clip(bin_index, 0, len(DAYPART_LABELS) - 1)], np.nan
    ).astype(object)
    return result if np.ndim(hour) else str(result[0])
