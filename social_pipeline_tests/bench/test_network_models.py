"""bench/network_models.py: the simulated history it builds is the pipeline's training dataset, and
both options are scored on the same held-out posts."""

import pandas as pd
import pytest

from bench.network_models import AS_OF, BASELINE, OPTIONS, compare_on_seed, simulated_training_dataset
from social_pipeline.core.simulation import Simulation

DAYS = 30


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return simulated_training_dataset(str(tmp_path_factory.mktemp("nm") / "w.duckdb"), seed=42, days=DAYS)


def test_the_history_holds_every_settled_post_of_both_networks_with_its_72_hour_figures(dataset):
    simulation = Simulation(seed=42)
    posts = simulation.posts_between(AS_OF - pd.Timedelta(days=DAYS), AS_OF)
    settled = posts[(posts["published_at"] + pd.Timedelta(hours=72)).dt.ceil("h") <= AS_OF]
    assert sorted(dataset["post_id"]) == sorted(settled["post_id"])
    bluesky = dataset[dataset["network"] == "bluesky"]
    assert len(bluesky) == (settled["network"] == "bluesky").sum() > 0
    assert bluesky["reach"].isna().all() and (bluesky["engagement_basis"] == "followers").all()
    assert dataset.loc[dataset["network"] == "x", "reach"].notna().all()
    # One Bluesky post's likes: the simulation's figure at its first hourly collection past 72 h.
    row = bluesky.iloc[0]
    at = (pd.Timestamp(row["published_at"]) + pd.Timedelta(hours=72)).ceil("h")
    assert row["likes"] == simulation.metrics_at([row["post_id"]], at)["likes"].iloc[0]


def test_both_options_are_scored_on_the_same_posts_and_reach_is_one_model(dataset):
    rows = pd.DataFrame(compare_on_seed(dataset))
    assert set(rows["option"]) == {*OPTIONS, BASELINE}
    assert set(zip(rows["target"], rows["network"], strict=True)) == {
        ("reach", "x"),
        ("likes", "x"),
        ("likes", "bluesky"),
    }
    assert rows.groupby(["target", "network"])["n_test"].nunique().eq(1).all()
    reach = rows[(rows["target"] == "reach") & rows["option"].isin(OPTIONS)]
    assert reach["r2"].nunique() == 1  # X posts alone in both options
