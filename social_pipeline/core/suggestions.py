"""Hashtag and media-description suggestions for a draft post.

Offline fallback: the prediction notebook's heuristic (frequent non-stop-word tokens). With
the user's history: hashtags ranked by their historical lift in the user's own posts and by
the draft's TF-IDF relevance to the posts that used them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from .features import HASHTAG_RE, MENTION_RE, URL_RE, extract_hashtags

DEFAULT_TOP_K = 6
# A historical hashtag needs this many posts before its lift means anything.
MIN_POSTS_PER_HASHTAG = 2
# Whole tokens only: "123abc" is one token (rejected), never "abc" cut out of it.
_TOKEN_RE = re.compile(r"(?<!\w)\w+")
# A part of a tag that is a word: 2+ letters, optionally a version number (python3, web3; not v2, 100k).
_WORD_PART_RE = re.compile(r"([^\W\d_]{2,})\d*")


def _plain_words(text: str) -> str:
    """The draft without URLs, mentions and hashtags: the words a new hashtag could come from."""
    for pattern in (URL_RE, MENTION_RE, HASHTAG_RE):
        text = pattern.sub(" ", text)
    return text


def _has_a_word(tag: str) -> bool:
    """True when some `_`-separated part of the tag is a word that is not a stop word: a tag made
    only of stop words and numbers (the_and, 50_50, 2026_07, 100k, v2) says nothing."""
    for part in tag.split("_"):
        word = _WORD_PART_RE.fullmatch(part)
        if word and word.group(1) not in ENGLISH_STOP_WORDS:
            return True
    return False


def _acceptable(tag: str, used: set[str]) -> bool:
    lowered = tag.lower()
    return len(lowered) > 2 and lowered not in used and _has_a_word(lowered)


def suggest_hashtags_from_text(text: str | None, top_k: int = DEFAULT_TOP_K) -> list[str]:
    """The notebook's heuristic: the most frequent tokens longer than 2 characters that are not
    stop words, numbers or hashtags already in the draft; ties in order of appearance."""
    if not isinstance(text, str) or not text.strip():
        return []
    used = {tag.lower() for tag in extract_hashtags(text)}
    tokens = [t for t in _TOKEN_RE.findall(_plain_words(text).lower()) if _acceptable(t, used)]
    if not tokens:
        return []
    counts = pd.Series(tokens).value_counts(sort=False)  # keeps first-appearance order
    ranked = counts.sort_values(ascending=False, kind="stable")
    return ["#" + token for token in ranked.index[:top_k]]


@dataclass(frozen=True)
class HashtagHistory:
    """A user's past posts: their text and engagement rate (any unit, it only enters as a ratio)."""

    texts: list[str]
    engagement_rates: list[float]

    @classmethod
    def from_frame(cls, posts: pd.DataFrame, text_column: str = "text",
                   rate_column: str = "engagement_rate_pct") -> HashtagHistory:
        posts = posts.dropna(subset=[text_column, rate_column])
        return cls(posts[text_column].astype(str).tolist(), posts[rate_column].astype(float).tolist())


def hashtag_lift(history: HashtagHistory) -> pd.DataFrame:
    """Per hashtag (lower case) in the history: posts, mean rate and lift = mean rate / the user's mean rate."""
    rates = np.asarray(history.engagement_rates, dtype=float)
    overall = rates.mean() if len(rates) else 0.0
    rows = [(tag.lower(), i) for i, text in enumerate(history.texts) for tag in set(extract_hashtags(text))]
    if not rows or overall <= 0:
        return pd.DataFrame(columns=["hashtag", "posts", "mean_rate", "lift"])
    tags = pd.DataFrame(rows, columns=["hashtag", "post"])
    tags["rate"] = rates[tags["post"]]
    lift = tags.groupby("hashtag").agg(posts=("post", "nunique"), mean_rate=("rate", "mean")).reset_index()
    lift["lift"] = lift["mean_rate"] / overall
    return lift.sort_values(["lift", "hashtag"], ascending=[False, True], ignore_index=True)


def suggest_hashtags(text: str | None, history: HashtagHistory | None = None,
                     top_k: int = DEFAULT_TOP_K) -> list[str]:
    """Hashtags from the user's history that lifted engagement and fit the draft; the heuristic
    fills any remaining places. Never a tag already in the draft, a stop word or a number."""
    fallback = suggest_hashtags_from_text(text, top_k)
    if not isinstance(text, str) or not text.strip() or history is None or len(history.texts) < 2:
        return fallback
    used = {tag.lower() for tag in extract_hashtags(text)}
    lift = hashtag_lift(history)
    lift = lift[(lift["posts"] >= MIN_POSTS_PER_HASHTAG) & lift["hashtag"].map(lambda t: _acceptable(t, used))]
    ranked: list[str] = []
    if len(lift):
        # Relevance: the draft against the words of the posts that used each hashtag.
        documents = [
            " ".join(_plain_words(t) for t in history.texts if tag in {h.lower() for h in extract_hashtags(t)})
            for tag in lift["hashtag"]
        ]
        vectorizer = TfidfVectorizer(stop_words="english", token_pattern=_TOKEN_RE.pattern)
        try:
            matrix = vectorizer.fit_transform(documents + [_plain_words(text)])
            relevance = cosine_similarity(matrix[-1], matrix[:-1]).ravel()
        except ValueError:  # no usable words at all
            relevance = np.zeros(len(lift))
        scored = lift.assign(relevance=relevance, score=relevance * lift["lift"])
        scored = scored[(scored["relevance"] > 0) & (scored["lift"] > 1.0)]
        ranked = scored.sort_values(["score", "hashtag"], ascending=[False, True])["hashtag"].tolist()
    # Historical tags keep the user's own spelling; the heuristic fills the remaining places.
    spelling = {tag.lower(): tag for t in history.texts for tag in extract_hashtags(t)}
    suggestions = ["#" + spelling.get(tag, tag) for tag in ranked[:top_k]]
    taken = {s.lower() for s in suggestions}
    suggestions += [tag for tag in fallback if tag.lower() not in taken][: top_k - len(suggestions)]
    return suggestions


def suggest_description_for_media(text: str | None, max_words: int = 25) -> str:
    """The notebook's description: the first `max_words` words, with '...' when there were more."""
    if not isinstance(text, str) or not text.strip():
        return ""
    words = text.strip().split()
    return (" ".join(words[:max_words]) + ("..." if len(words) > max_words else "")).strip()
