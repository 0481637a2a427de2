"""A draft's prediction on each network: a Bluesky draft gets likes and no reach, an X draft the contract."""

import pandas as pd
import pytest

from social_pipeline.core import models
from social_pipeline.core.model_registry import ModelNotTrainedError
from social_pipeline.core.prediction import predict_payload
from social_pipeline_tests.helpers import CONTRACT_KEYS, two_network_posts

DRAFT = {
    "post_text": "Window functions in DuckDB, measured #duckdb #sql",
    "media_type": "image",
    "num_media_items": 1,
    "scheduled_time": "2026-11-25T18:00:00Z",
    "user_followers": 20_000,
    "user_avg_engagement_rate": 0.02,
}
VERSIONS = {"reach_model": "r1", "likes_model": "l1"}


@pytest.fixture(scope="module")
def trained():
    frame = two_network_posts()
    return models.train_models(frame), models.train_models(frame[frame["network"] == "x"])


def test_a_bluesky_draft_gets_likes_with_an_interval_and_no_reach(trained):
    both, _ = trained
    answer = predict_payload(both, {**DRAFT, "network": "bluesky"}, VERSIONS)
    assert set(answer) >= CONTRACT_KEYS
    assert (answer["network"], answer["reach_available"]) == ("bluesky", False)
    assert answer["predicted_reach"] is None and answer["predicted_engagement_rate"] is None
    assert answer["prediction_intervals"]["reach"] is None
    likes = answer["prediction_intervals"]["likes"]
    assert likes["p10"] < answer["predicted_likes"] < likes["p90"]
    expected = both.likes.predict(pd.DataFrame([answer["features"]]))["likes"].iloc[0]
    assert answer["predicted_likes"] == round(expected)
    assert set(answer["explanations"]["contributions"]) == {"likes"}
    assert any("reach is not available on bluesky" in note for note in answer["notes"])
    # The same draft for X: the network alone moves likes, by the factor the history has (3).
    as_x = predict_payload(both, DRAFT, VERSIONS)
    ratio = expected / both.likes.predict(pd.DataFrame([as_x["features"]]))["likes"].iloc[0]
    assert ratio == pytest.approx(3.0, rel=0.2)
    # The explanation names that factor: the network's contribution moves by exactly the ratio.
    factors = [a["explanations"]["contributions"]["likes"]["network"] for a in (answer, as_x)]
    assert factors[0] / factors[1] == pytest.approx(ratio, rel=1e-3)


def test_an_x_draft_keeps_the_contract_and_the_x_models_reach(trained):
    both, x_only = trained
    answer = predict_payload(both, DRAFT, VERSIONS)
    assert (answer["network"], answer["reach_available"]) == ("x", True)
    reach, likes = answer["predicted_reach"], answer["predicted_likes"]
    assert isinstance(reach, int) and isinstance(likes, int) and reach > 0
    assert answer["predicted_engagement_rate"] == round(likes / reach, 4)
    assert set(answer["prediction_intervals"]) == {"reach", "likes"}
    assert answer["prediction_intervals"]["reach"]["p10"] < reach < answer["prediction_intervals"]["reach"]["p90"]
    assert set(answer["explanations"]["contributions"]) == {"reach", "likes"}
    # Reach comes from the X posts alone: the same as models that never saw a Bluesky post.
    assert reach == predict_payload(x_only, DRAFT, VERSIONS)["predicted_reach"]


def test_models_trained_on_x_alone_refuse_a_bluesky_draft_naming_the_retrain(trained):
    _, x_only = trained
    with pytest.raises(ModelNotTrainedError, match="trained on x posts only.*ml_training"):
        predict_payload(x_only, {**DRAFT, "network": "bluesky"}, VERSIONS)
