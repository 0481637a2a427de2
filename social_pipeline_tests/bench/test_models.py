"""bench/models.py's comparisons on a warehouse's own history: a history holding both networks is
scored per target on the rows that report it (Bluesky posts have likes and no reach)."""

import math

import pandas as pd
import pytest

from bench.models import run_clock_comparison, run_history_comparison
from bench.network_models import simulated_training_dataset
from social_pipeline.core.models.inputs import TARGETS
from social_pipeline.core.models.training import time_holdout_split


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return simulated_training_dataset(str(tmp_path_factory.mktemp("models") / "w.duckdb"), seed=7, days=30)


def test_the_history_comparison_scores_reach_on_x_posts_and_likes_on_both(dataset):
    real = dataset[~dataset["is_synthetic"]]
    assert real["reach"].isna().any() and real["likes"].notna().all()
    train, test = time_holdout_split(real, "published_at", 0.2)
    rows = pd.DataFrame(run_history_comparison(dataset))
    assert set(rows["model"]) == {"ours", "notebook settings", "trailing mean"}
    by_target = rows.groupby("target")
    assert by_target["n_test"].unique().to_dict() == {
        "reach": [test["reach"].notna().sum()],
        "likes": [len(test)],
    }
    assert by_target["n_train"].unique().to_dict() == {"reach": [train["reach"].notna().sum()], "likes": [len(train)]}
    assert all(math.isfinite(v) for v in rows[["r2", "rmse", "mae"]].to_numpy().ravel())


def test_the_clock_comparison_gives_a_finite_r2_per_target_and_fold(dataset):
    rows = pd.DataFrame(run_clock_comparison(dataset, folds=2))
    folds = rows[~rows["fold"].isin(["mean", "worst"])]
    assert sorted(zip(folds["target"], folds["fold"], strict=True)) == sorted((t, f) for t in TARGETS for f in (0, 1))
    assert all(math.isfinite(v) for v in folds[["local_r2", "utc_r2"]].to_numpy().ravel())
