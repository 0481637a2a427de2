"""The seed's recommendation rules, each at its boundary: fires on one side, silent on the other."""

import pytest

from social_pipeline.core.recommendations import recommendations

SLOT = {
    "day_of_week": 2,
    "day_name": "Wednesday",
    "hour": 18,
    "avg_engagement_rate": 6.25,
    "posts_count": 4,
    "total_impressions": 800,
    "total_engagements": 50,
}
TYPES = ["text", "image", "video"]


def recs(posts=5, rate=3.0, types=TYPES, best=None, views=100):
    return recommendations(posts, rate, types, best or [], views)


def test_a_quiet_healthy_week_gets_no_advice():
    assert recs() == []


@pytest.mark.parametrize("posts,fires", [(2, True), (3, False), (10, False), (11, True), (0, True)])
def test_posting_frequency_boundaries(posts, fires):
    text = [r for r in recs(posts=posts) if "post" in r.lower() and ("consistently" in r or "fewer" in r)]
    assert bool(text) is fires
    if posts < 3:
        assert text[0].startswith("Post more consistently") and "3-5" in text[0]
    elif fires:
        assert "11 posts" in text[0] and "quality" in text[0]


@pytest.mark.parametrize(
    "rate,low,high", [(1.99, True, False), (2.0, False, False), (5.0, False, False), (5.01, False, True)]
)
def test_engagement_rate_boundaries(rate, low, high):
    out = recs(rate=rate)
    assert any("below 2%" in r for r in out) is low
    assert any("above 5%" in r for r in out) is high


@pytest.mark.parametrize(
    "types,fires", [(["text", "image"], True), (["text", "image", "poll"], False), (["text", "text", "image"], True)]
)
def test_content_diversity_boundary(types, fires):
    out = recs(types=types)
    assert any(r.startswith("Diversify") for r in out) is fires


def test_top_slot_is_recommended_with_its_real_figures():
    out = recs(best=[SLOT, {**SLOT, "day_name": "Monday", "hour": 9}])
    assert "Your best time to post is Wednesday at 18:00 UTC (avg engagement 6.25% over 4 posts)." in out
    assert not any("Monday" in r for r in out)
    assert not any("best time" in r for r in recs(best=[]))


@pytest.mark.parametrize("views,fires", [(49, True), (50, False), (0, True)])
def test_profile_views_boundary(views, fires):
    out = recs(views=views)
    assert any(r.startswith("Profile views were") for r in out) is fires
    if fires:
        assert f"were {views} this week" in " ".join(out)


def test_a_week_without_posts_gets_every_rule_the_seed_would_fire():
    out = recommendations(0, 0.0, [], [], 10)
    assert out[0].startswith("Post more consistently: 0 posts")
    assert out[1].startswith("Average engagement rate is 0.00% (below 2%)")
    assert out[2].startswith("Diversify your content: only 0 content types used (none)")
    assert out[-1].startswith("Profile views were 10")
    assert len(out) == 4


def test_unknown_content_types_do_not_count_and_silence_the_diversity_rule():
    assert any(r.startswith("Diversify") for r in recs(types=["image", "video"]))
    assert not any(r.startswith("Diversify") for r in recs(types=["image", "video", "unknown"]))
    assert not any(r.startswith("Diversify") for r in recs(types=["unknown"]))
