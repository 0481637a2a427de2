"""Hashtag and media-description suggestions for a draft post.

Offline fallback: the prediction notebook's heuristic (frequent non-stop-word tokens). With
the user's history: hashtags ranked by their historical lift in the user's own posts and by
the draft's TF-IDF relevance to the posts that used them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from .features import HASHTAG_RE, MENTION_RE, URL_RE, extract_hashtags

DEFAULT_TOP_K = 6
# A historical hashtag needs this many posts before its lift means anything.
MIN_POSTS_PER_HASHTAG = 2
# Whole tokens only: "123abc" is one token (rejected), never "abc" cut out of it.
_TOKEN_RE = re.compile(r"(?<!\w)\w+")
# A part of a tag that is a word: 2+ letters, optionally a version number (python3, web3; not v2, 100k).
_WORD_PART_RE = re.compile(r"([^\W\d_]{2,})\d*")
# The relevance's words: scikit-learn's TfidfVectorizer tokenisation (lower case, English stop words).
_TERMS = TfidfVectorizer(stop_words="english", token_pattern=_TOKEN_RE.pattern).build_analyzer()


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
    def from_frame(
        cls, posts: pd.DataFrame, text_column: str = "text", rate_column: str = "engagement_rate_pct"
    ) -> HashtagHistory:
        posts = posts.dropna(subset=[text_column, rate_column])
        return cls(posts[text_column].astype(str).tolist(), posts[rate_column].astype(float).tolist())

    # What every suggestion from this history needs, computed once per history (serving keeps a
    # user's history while the warehouse file is unchanged): 0.7 s a request for 400 posts before.
    @cached_property
    def lift(self) -> pd.DataFrame:
        return hashtag_lift(self)

    @cached_property
    def tags_of_posts(self) -> list[set[str]]:
        """Each post's hashtags, lower case."""
        return [{tag.lower() for tag in extract_hashtags(text)} for text in self.texts]

    @cached_property
    def frequent_lift(self) -> dict[str, float]:
        """The lift of each hashtag with enough posts to mean something, best first."""
        frequent = self.lift[self.lift["posts"] >= MIN_POSTS_PER_HASHTAG]
        return dict(zip(frequent["hashtag"], frequent["lift"].astype(float), strict=True))

    @cached_property
    def tag_documents(self) -> dict[str, str]:
        """Per hashtag with enough posts: the words of the posts that used it, one document."""
        plain = [_plain_words(text) for text in self.texts]
        return {
            tag: " ".join(words for words, tags in zip(plain, self.tags_of_posts, strict=True) if tag in tags)
            for tag in self.frequent_lift
        }

    @cached_property
    def tag_term_counts(self) -> tuple[dict[str, int], dict[str, int], csr_matrix]:
        """(row of each tag, column of each term, counts: tags x terms) of the tag documents."""
        rows, vocabulary, entries = {}, {}, ([], [], [])
        for row, (tag, document) in enumerate(self.tag_documents.items()):
            rows[tag] = row
            for term, count in Counter(_TERMS(document)).items():
                entries[0].append(row)
                entries[1].append(vocabulary.setdefault(term, len(vocabulary)))
                entries[2].append(count)
        counts = csr_matrix((entries[2], (entries[0], entries[1])), shape=(len(rows), len(vocabulary)), dtype=float)
        return rows, vocabulary, counts

    @cached_property
    def spelling(self) -> dict[str, str]:
        """The user's own spelling of each hashtag (the last one used)."""
        return {tag.lower(): tag for t in self.texts for tag in extract_hashtags(t)}


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


def tfidf_relevance(history: HashtagHistory, tags: list[str], draft: str) -> np.ndarray:
    """Cosine similarity of the draft with each tag's document under a TF-IDF fitted on those
    documents and the draft (TfidfVectorizer's defaults: raw counts, smooth idf, l2 norm), from the
    history's kept term counts instead of tokenising every document again for each draft."""
    rows, vocabulary, counts = history.tag_term_counts
    documents = counts[[rows[tag] for tag in tags]]
    draft_counts = Counter(_TERMS(draft))
    known = [(vocabulary[term], count) for term, count in draft_counts.items() if term in vocabulary]
    columns = np.array([column for column, _ in known], dtype=np.int64)
    draft_tf = np.array([count for _, count in known], dtype=float)
    n_documents = len(tags) + 1
    document_frequency = np.asarray((documents > 0).sum(axis=0), dtype=float).ravel()
    document_frequency[columns] += 1
    idf = np.log((1 + n_documents) / (1 + document_frequency)) + 1
    weighted = csr_matrix(documents.multiply(idf[None, :]))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    draft_weights = draft_tf * idf[columns]
    draft_only = np.array([count for term, count in draft_counts.items() if term not in vocabulary], dtype=float)
    draft_only_idf = np.log((1 + n_documents) / 2) + 1  # a term of the draft alone: document frequency 1
    draft_norm = np.sqrt(np.sum(draft_weights**2) + np.sum((draft_only * draft_only_idf) ** 2))
    dots = weighted[:, columns] @ draft_weights if len(columns) else np.zeros(len(tags))
    denominator = norms * draft_norm
    return np.divide(np.asarray(dots).ravel(), denominator, out=np.zeros(len(tags)), where=denominator > 0)


def suggest_hashtags(text: str | None, history: HashtagHistory | None = None, top_k: int = DEFAULT_TOP_K) -> list[str]:
    """Hashtags from the user's history that lifted engagement and fit the draft; the heuristic
    fills any remaining places. Never a tag already in the draft, a stop word or a number."""
    fallback = suggest_hashtags_from_text(text, top_k)
    if not isinstance(text, str) or not text.strip() or history is None or len(history.texts) < 2:
        return fallback
    used = {tag.lower() for tag in extract_hashtags(text)}
    # The history's tags with enough posts (in lift order), less those the draft has or that say nothing.
    candidates = [(tag, lift) for tag, lift in history.frequent_lift.items() if _acceptable(tag, used)]
    ranked: list[str] = []
    if candidates:
        # Relevance: the draft against the words of the posts that used each hashtag.
        relevance = tfidf_relevance(history, [tag for tag, _ in candidates], _plain_words(text))
        scored = [
            (relevance_i * lift, tag)
            for (tag, lift), relevance_i in zip(candidates, relevance, strict=True)
            if relevance_i > 0 and lift > 1.0
        ]
        ranked = [tag for _, tag in sorted(scored, key=lambda pair: (-pair[0], pair[1]))]
    # Historical tags keep the user's own spelling; the heuristic fills the remaining places.
    suggestions = ["#" + history.spelling.get(tag, tag) for tag in ranked[:top_k]]
    taken = {s.lower() for s in suggestions}
    suggestions += [tag for tag in fallback if tag.lower() not in taken][: top_k - len(suggestions)]
    return suggestions


def suggest_description_for_media(text: str | None, max_words: int = 25) -> str:
    """The notebook's description: the first `max_words` words, with '...' when there were more."""
    if not isinstance(text, str) or not text.strip():
        return ""
    words = text.strip().split()
    return (" ".join(words[:max_words]) + ("..." if len(words) > max_words else "")).strip()
