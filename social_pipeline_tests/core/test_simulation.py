"""The simulated source: deterministic, monotonic, and with signal worth finding."""

import numpy as np
import pandas as pd

from social_pipeline.core.collection import is_due
from social_pipeline.core.simulation import Simulation
from social_pipeline.sources.simulated import SimulatedSource

START, END = pd.Timestamp("2026-09-01"), pd.Timestamp("2026-11-01")


def test_same_seed_same_answers_in_any_order():
    a, b = Simulation(seed=7), Simulation(seed=7)
    # b is asked about a later window first: the answer for the early window must not change.
    b.posts_between(pd.Timestamp("2026-10-10"), pd.Timestamp("2026-10-20"))
    posts_a = a.posts_between(START, END)
    posts_b = b.posts_between(START, END)
    pd.testing.assert_frame_equal(posts_a, posts_b)
    as_of = pd.Timestamp("2026-11-01 05:00")
    pd.testing.assert_frame_equal(a.metrics_at(posts_a.post_id, as_of), b.metrics_at(posts_b.post_id, as_of))


def test_different_seed_differs():
    assert (
        not Simulation(seed=1)
        .posts_between(START, END)
        .post_id.equals(Simulation(seed=2).posts_between(START, END).post_id)
    )


def test_metrics_never_decrease_and_saturate():
    sim = Simulation()
    posts = sim.posts_between(START, START + pd.Timedelta(days=5))
    ids = posts.post_id.tolist()
    previous = None
    for hours in [1, 2, 5, 12, 24, 48, 96, 24 * 20]:
        now = START + pd.Timedelta(days=5, hours=hours)
        current = sim.metrics_at(ids, now).set_index("post_id")
        if previous is not None:
            for column in ["impressions", "likes", "retweets", "replies", "quotes"]:
                assert (current[column] >= previous[column]).all(), column
        previous = current
    # Saturated: between day 15 and day 25 of age nothing grows by more than 0.1 %.
    late = sim.metrics_at(ids, START + pd.Timedelta(days=30)).set_index("post_id")
    later = sim.metrics_at(ids, START + pd.Timedelta(days=40)).set_index("post_id")
    assert ((later.impressions - late.impressions) <= later.impressions * 0.001 + 1).all()


def test_unknown_and_future_posts_are_not_found():
    sim = Simulation()
    post = sim.posts_between(START, END).iloc[0]
    result = sim.metrics_at([post.post_id, "nope", "1900000000000000999"], post.published_at - pd.Timedelta(minutes=1))
    assert result.status.tolist() == ["not_found", "not_found", "not_found"]
    assert result.impressions.isna().all()


def test_accounts_differ_and_types_vary():
    posts = Simulation().posts_between(START, END)
    # Three X accounts and one Bluesky account, whose ids are at:// URIs.
    assert posts.groupby("network").user_id.nunique().to_dict() == {"bluesky": 1, "x": 3}
    assert posts[posts.network == "bluesky"].post_id.str.startswith("at://did:plc:").all()
    assert set(posts.content_type) == {"text", "image", "video", "thread", "link", "poll"}
    assert set(posts.media_type) == {"none", "image", "video"}
    source = SimulatedSource()
    figures = source.fetch_account_figures(source.user_ids(), [END])
    assert figures.followers.nunique() == 4
    assert figures.network.tolist() == ["x", "x", "x", "bluesky"]
    assert (figures.followers > 0).all()


def test_performance_has_signal():
    """Evening (on the account's own clock) and video posts engage more on average; big enough to
    find, noisy enough to be real."""
    sim = Simulation()
    posts = sim.posts_between(pd.Timestamp("2025-06-01"), END)
    final = sim.metrics_at(posts.post_id, END + pd.Timedelta(days=30))
    frame = posts.merge(final, on="post_id")
    frame["rate"] = (frame.likes + frame.retweets + frame.replies + frame.quotes) / frame.impressions
    frame["rel_rate"] = frame.rate / frame.groupby("user_id").rate.transform("median")
    zones = {a.user_id: a.timezone for a in sim.accounts}
    hour = (
        frame.groupby("user_id")
        .published_at.transform(
            lambda utc: utc.dt.tz_localize("UTC").dt.tz_convert(zones[utc.name]).dt.tz_localize(None)
        )
        .dt.hour
    )
    evening = frame.rel_rate[(hour >= 17) & (hour <= 20)].mean()
    night = frame.rel_rate[hour <= 5].mean()
    assert evening > 1.4 * night
    reach = frame.impressions / frame.groupby("user_id").impressions.transform("median")
    assert reach[frame.media_type == "video"].mean() > 1.3 * reach[frame.content_type == "link"].mean()
    # noisy: the same slot's rates spread out
    assert frame.rel_rate[(hour >= 17) & (hour <= 20)].std() > 0.2


def test_collection_cadence():
    published = pd.Timestamp("2026-11-02 10:30")  # a Monday
    assert not is_due(published, published)
    assert is_due(published, pd.Timestamp("2026-11-02 11:00"))
    assert is_due(published, published + pd.Timedelta(days=7))
    # 8 days old: only at midnight
    assert not is_due(published, pd.Timestamp("2026-11-10 13:00"))
    assert is_due(published, pd.Timestamp("2026-11-11 00:00"))
    # 40 days old: only Monday midnight
    assert not is_due(published, pd.Timestamp("2026-12-15 00:00"))  # Tuesday
    assert is_due(published, pd.Timestamp("2026-12-14 00:00"))  # Monday


def test_the_bluesky_account_reports_no_impressions_or_clicks():
    sim = Simulation()
    posts = sim.posts_between(START, END)
    bluesky = posts[posts.network == "bluesky"].head(5)
    metrics = sim.metrics_at(bluesky.post_id, bluesky.published_at + pd.Timedelta(hours=48))
    assert (metrics.status == "ok").all() and metrics.likes.notna().all() and (metrics.likes > 0).any()
    for column in ("impressions", "url_clicks", "profile_clicks", "media_views"):
        assert metrics[column].isna().all()
    assert set(metrics.network) == {"bluesky"}


def test_a_few_posts_take_off_or_flop_and_the_label_stays_out_of_the_source():
    sim = Simulation(seed=7)
    posts = sim.posts_between(START, END).set_index("post_id")
    labels = sim.trajectories(posts.index)
    shares = labels.value_counts(normalize=True)
    assert 0.005 <= shares["takeoff"] <= 0.03 and 0.005 <= shares["flop"] <= 0.03
    assert labels.equals(Simulation(seed=7).trajectories(posts.index))

    # A take-off's surge is 2.5-4 times what a post like it usually reaches: its final figures without
    # its own luck (reach_noise), so an unlucky post that takes off still goes far beyond its usual.
    takeoffs = posts[labels == "takeoff"]
    usual_multiple = takeoffs["surge_multiplier"] * takeoffs["reach_noise"]
    assert usual_multiple.between(2.5, 4.0).all() and not takeoffs["surge_multiplier"].between(2.5, 4.0).all()
    assert (posts.loc[labels != "takeoff", "surge_multiplier"] == 0).all()

    # A take-off's impressions: its usual curve plus the surge, surge_multiplier x final after the onset.
    takeoff = takeoffs.iloc[0]
    at = takeoff["published_at"] + pd.Timedelta(hours=6)
    usual = takeoff["final_impressions"] * (1 - np.exp(-6 / takeoff["tau_hours"]))
    surge = (
        takeoff["final_impressions"]
        * takeoff["surge_multiplier"]
        * (1 - np.exp(-(6 - takeoff["surge_onset_hours"]) / 2.0))
    )
    assert sim.metrics_at([takeoff.name], at)["impressions"].iloc[0] == int(np.floor(usual + surge))
    ordinary = posts[labels == "ordinary"].iloc[0]
    at = ordinary["published_at"] + pd.Timedelta(hours=6)
    assert sim.metrics_at([ordinary.name], at)["impressions"].iloc[0] == int(
        np.floor(ordinary["final_impressions"] * (1 - np.exp(-6 / ordinary["tau_hours"])))
    )

    source = SimulatedSource(seed=7)
    fetched = source.fetch_posts(source.user_ids(), START, END)
    requests = pd.DataFrame({"post_id": fetched["post_id"], "collected_at": END})
    columns = set(fetched.columns) | set(source.fetch_metrics(requests).frame.columns)
    assert not columns & {"trajectory", "surge_multiplier", "surge_onset_hours", "tau_hours", "reach_noise"}
