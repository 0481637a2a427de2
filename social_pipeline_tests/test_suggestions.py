"""Hashtag and description suggestions: the notebook's heuristic, history lift and relevance, the rules."""

import pytest

from social_pipeline.core.suggestions import (
    HashtagHistory,
    hashtag_lift,
    suggest_description_for_media,
    suggest_hashtags,
    suggest_hashtags_from_text,
)

NOTEBOOK_EXAMPLE = ("Launching our new summer collection — lightweight jackets, breathable fabric, and bold colors! "
                    "Shop now: https://example.com")

HISTORY = HashtagHistory(
    texts=["Query plans in #DuckDB are fast", "Our #DuckDB warehouse and #Python jobs", "Lunch #food",
           "More #food photos", "#Python tips for pandas", "A one-off #warehouse post"],
    engagement_rates=[8.0, 6.0, 1.0, 1.5, 3.0, 9.0],
)


def test_heuristic_follows_the_notebook_without_url_parts():
    # The notebook's tokens, most frequent first, ties in order of appearance; the URL is not a word.
    assert suggest_hashtags_from_text(NOTEBOOK_EXAMPLE, top_k=6) == [
        "#launching", "#new", "#summer", "#collection", "#lightweight", "#jackets"]
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


@pytest.mark.parametrize("text, expected", [
    # Stop words joined by "_", a date, version-like and number+unit tokens: nothing; no "#abc" cut from "123abc".
    ("the_and of_the 2026_07 v2 x2 123abc", []),
    ("the_and of_the 2026_07 v2 x2 123abc pipelines", ["#pipelines"]),
    # A real word in any part, or a word with a version number, is a tag.
    ("python3 3d_printing data_eng", ["#python3", "#3d_printing", "#data_eng"]),
])
def test_heuristic_judges_whole_tokens_by_their_parts(text, expected):
    assert suggest_hashtags_from_text(text) == expected


def test_history_never_suggests_number_tags_even_when_they_lift():
    history = HashtagHistory(
        texts=["Giveaway split #50_50 with followers", "Another giveaway #50_50 split",
               "Road to #100k followers giveaway", "Thanks for #100k followers",
               "Giveaway winners #giveaway", "Next #giveaway soon", "Plain post", "Another plain post"],
        engagement_rates=[9, 8, 9, 7, 6, 6, 1, 1])
    lift = hashtag_lift(history).set_index("hashtag")["lift"]
    assert lift["50_50"] > lift["giveaway"] > 1 and lift["100k"] > 1  # they would rank first on lift
    assert suggest_hashtags("Our giveaway for followers: split 50 50 on the road to 100k", history) == [
        "#giveaway", "#followers", "#split", "#road"]
