"""Hashtag and description suggestions: the notebook's heuristic, history lift and relevance, the rules."""

import numpy as np
import pytest

from social_pipeline.core.suggestions import (
    HashtagHistory,
    hashtag_lift,
    suggest_description_for_media,
    suggest_hashtags,
    suggest_hashtags_from_text,
)

NOTEBOOK_EXAMPLE = (
    "Launching our new summer collection — lightweight jackets, breathable fabric, and bold colors! "
    "Shop now: https://example.com"
)

HISTORY = HashtagHistory(
    texts=[
        "Query plans in #DuckDB are fast",
        "Our #DuckDB warehouse and #Python jobs",
        "Lunch #food",
        "More #food photos",
        "#Python tips for pandas",
        "A one-off #warehouse post",
    ],
    engagement_rates=[8.0, 6.0, 1.0, 1.5, 3.0, 9.0],
)


def test_heuristic_follows_the_notebook_without_url_parts():
    # The notebook's tokens, most frequent first, ties in order of appearance; the URL is not a word.
    assert suggest_hashtags_from_text(NOTEBOOK_EXAMPLE, top_k=6) == [
        "#launching",
        "#new",
        "#summer",
        "#collection",
        "#lightweight",
        "#jackets",
    ]
    assert suggest_hashtags_from_text("data data pipelines pipelines pipelines tools", 2) == ["#pipelines", "#data"]


@pytest.mark.parametrize("text", ["", "   ", None, "the and of 2026 50 to be", "🚀🔥", "#sale sale SALE"])
def test_heuristic_never_suggests_stop_words_numbers_or_used_tags(text):
    assert suggest_hashtags_from_text(text) == []


def test_lift_is_mean_rate_over_the_users_mean():
    lift = hashtag_lift(HISTORY).set_index("hashtag")
    overall = sum(HISTORY.engagement_rates) / 6  # 28.5 / 6 = 4.75
    assert lift.loc["duckdb", "posts"] == 2
    assert lift.loc["duckdb", "lift"] == pytest.approx(7.0 / overall)
    assert lift.loc["food", "lift"] == pytest.approx(1.25 / overall)


def test_history_ranks_relevant_lifting_tags_first():
    suggestions = suggest_hashtags("Why duckdb warehouse query plans matter", HISTORY, top_k=4)
    # DuckDB lifts engagement and matches the draft; #food lowers it; #warehouse has one post only,
    # so it comes back as a plain word from the heuristic, not as a proven tag.
    assert suggestions[0] == "#DuckDB"
    assert "#food" not in [s.lower() for s in suggestions]
    assert len(suggestions) == 4
    assert len({s.lower() for s in suggestions}) == 4


def test_history_never_repeats_a_tag_in_the_draft():
    suggestions = suggest_hashtags("More on #duckdb query plans", HISTORY)
    assert "#duckdb" not in [s.lower() for s in suggestions]


def test_without_history_falls_back_to_the_heuristic():
    assert suggest_hashtags(NOTEBOOK_EXAMPLE, None) == suggest_hashtags_from_text(NOTEBOOK_EXAMPLE)


def test_description_first_words_and_ellipsis():
    assert suggest_description_for_media(NOTEBOOK_EXAMPLE, max_words=5) == "Launching our new summer collection..."
    assert suggest_description_for_media("Short text", max_words=5) == "Short text"
    assert suggest_description_for_media("", max_words=5) == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        # Stop words joined by "_", a date, version-like and number+unit tokens: nothing; no "#abc" cut from "123abc".
        ("the_and of_the 2026_07 v2 x2 123abc", []),
        ("the_and of_the 2026_07 v2 x2 123abc pipelines", ["#pipelines"]),
        # A real word in any part, or a word with a version number, is a tag.
        ("python3 3d_printing data_eng", ["#python3", "#3d_printing", "#data_eng"]),
    ],
)
def test_heuristic_judges_whole_tokens_by_their_parts(text, expected):
    assert suggest_hashtags_from_text(text) == expected


def test_history_never_suggests_number_tags_even_when_they_lift():
    history = HashtagHistory(
        texts=[
            "Giveaway split #50_50 with followers",
            "Another giveaway #50_50 split",
            "Road to #100k followers giveaway",
            "Thanks for #100k followers",
            "Giveaway winners #giveaway",
            "Next #giveaway soon",
            "Plain post",
            "Another plain post",
        ],
        engagement_rates=[9, 8, 9, 7, 6, 6, 1, 1],
    )
    lift = hashtag_lift(history).set_index("hashtag")["lift"]
    assert lift["50_50"] > lift["giveaway"] > 1 and lift["100k"] > 1  # they would rank first on lift
    assert suggest_hashtags("Our giveaway for followers: split 50 50 on the road to 100k", history) == [
        "#giveaway",
        "#followers",
        "#split",
        "#road",
    ]


def suggest_hashtags_refitting(text, history, top_k=6):
    """The suggestion as it was computed before the history kept its documents and term counts:
    every document rebuilt and a TfidfVectorizer fitted on them and the draft, for each draft."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    from social_pipeline.core import suggestions as s

    fallback = s.suggest_hashtags_from_text(text, top_k)
    used = {tag.lower() for tag in s.extract_hashtags(text)}
    lift = hashtag_lift(history)
    lift = lift[(lift["posts"] >= s.MIN_POSTS_PER_HASHTAG) & lift["hashtag"].map(lambda t: s._acceptable(t, used))]
    ranked = []
    if len(lift):
        documents = [
            " ".join(s._plain_words(t) for t in history.texts if tag in {h.lower() for h in s.extract_hashtags(t)})
            for tag in lift["hashtag"]
        ]
        vectorizer = TfidfVectorizer(stop_words="english", token_pattern=s._TOKEN_RE.pattern)
        try:
            matrix = vectorizer.fit_transform(documents + [s._plain_words(text)])
            relevance = cosine_similarity(matrix[-1], matrix[:-1]).ravel()
        except ValueError:
            relevance = np.zeros(len(lift))
        scored = lift.assign(relevance=relevance, score=relevance * lift["lift"])
        scored = scored[(scored["relevance"] > 0) & (scored["lift"] > 1.0)]
        ranked = scored.sort_values(["score", "hashtag"], ascending=[False, True])["hashtag"].tolist()
    spelling = {tag.lower(): tag for t in history.texts for tag in s.extract_hashtags(t)}
    suggestions = ["#" + spelling.get(tag, tag) for tag in ranked[:top_k]]
    taken = {x.lower() for x in suggestions}
    return suggestions + [tag for tag in fallback if tag.lower() not in taken][: top_k - len(suggestions)]


def test_kept_term_counts_rank_as_refitting_the_vectorizer_does():
    from social_pipeline.core.simulation import _compose_text

    rng = np.random.default_rng(3)
    kinds = ["text", "image", "video", "thread", "link", "poll"]
    texts = [_compose_text(rng, kinds[i % 6], int(rng.integers(0, 4)), 1, 1) for i in range(150)]
    history = HashtagHistory(texts, list(rng.uniform(0.5, 5.0, len(texts))))
    drafts = [_compose_text(rng, kinds[i % 6], int(rng.integers(0, 3)), 0, 0) for i in range(30)]
    drafts += ["the and of", "#SQL #Python only tags", "zebra quantum unseen words", texts[0]]
    compared = [(suggest_hashtags(d, history), suggest_hashtags_refitting(d, history)) for d in drafts]
    assert all(new == old for new, old in compared), [pair for pair in compared if pair[0] != pair[1]]
    # Most drafts get tags from the history, not only the heuristic's.
    from_history = [set(new) - set(suggest_hashtags_from_text(d)) for d, (new, _) in zip(drafts, compared, strict=True)]
    assert sum(bool(tags) for tags in from_history) > 20
