"""The HTTP API with FastAPI's test client against a real trained warehouse, and fuzzed with
schemathesis against its own OpenAPI schema."""

import json
import math
from pathlib import Path

import duckdb
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from social_pipeline.app.http_api import app
from social_pipeline.app.serving import latest_models
from social_pipeline.core.prediction_request import PostPayload
from social_pipeline_tests.helpers import CONTRACT_KEYS, DRAFT


@pytest.fixture
def client(serving_env):
    return TestClient(app)


def test_health_reports_the_registered_model_versions(client, serving_env):
    con = duckdb.connect(serving_env["bi"], read_only=True)
    registered = dict(con.execute("SELECT model_name, max(version) FROM ml.model_registry GROUP BY 1").fetchall())
    con.close()
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["ok"] is True and answer.json()["models_ready"] is True
    assert (
        answer.json()["model_versions"]
        == registered
        == {"reach_model": registered["reach_model"], "likes_model": registered["likes_model"]}
    )


def test_predict_returns_the_contract_and_logs_it(client, serving_env):
    answer = client.post("/predict", json=DRAFT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= CONTRACT_KEYS
    assert isinstance(body["predicted_reach"], int) and isinstance(body["predicted_likes"], int)
    assert body["predicted_reach"] > 0
    for target in ("reach", "likes"):
        interval = body["prediction_intervals"][target]
        assert isinstance(interval["p10"], int) and interval["p10"] <= interval["p90"]
        assert interval["p10"] <= body[f"predicted_{target}"] <= interval["p90"]
    assert body["predicted_engagement_rate"] == pytest.approx(
        body["predicted_likes"] / body["predicted_reach"], abs=1e-4
    )
    assert "#DuckDB" not in body["suggested_hashtags"] and "#duckdb" not in {
        t.lower() for t in body["suggested_hashtags"]
    }
    assert body["suggested_description"] == DRAFT["post_text"]  # under 25 words: the whole text
    assert body["features"]["num_hashtags"] == 1 and body["features"]["num_mentions"] == 1
    assert body["features"]["hour"] == 18 and body["features"]["day_of_week"] == 2  # a Wednesday
    assert body["notes"] == []
    assert len(body["explanations"]["top_features"]) == 4
    assert set(body["explanations"]["contributions"]["reach"]) == set(body["features"])

    lines = [
        json.loads(line)
        for path in Path(serving_env["ops"]).glob("predictions/*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert len(lines) == 1
    assert lines[0]["request"] == PostPayload.model_validate(DRAFT).model_dump()
    assert lines[0]["response"]["prediction_id"] == body["prediction_id"]
    assert lines[0]["response"]["predicted_reach"] == body["predicted_reach"]


def test_a_bluesky_accounts_draft_gets_likes_from_its_own_level_and_no_reach(client, serving_env):
    con = duckdb.connect(serving_env["bi"], read_only=True)
    (avg_likes,) = con.execute(
        "SELECT avg(likes) FROM ml.training_dataset WHERE user_id = 'duckpond.bsky.social' AND NOT is_synthetic"
    ).fetchone()
    con.close()
    draft = {k: v for k, v in DRAFT.items() if k not in ("user_followers", "user_avg_engagement_rate")}
    answer = client.post("/predict", json={**draft, "user_id": "duckpond.bsky.social"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= CONTRACT_KEYS
    assert (body["network"], body["reach_available"]) == ("bluesky", False)  # from the account
    assert body["predicted_reach"] is None and body["predicted_engagement_rate"] is None
    assert body["prediction_intervals"]["reach"] is None
    likes = body["prediction_intervals"]["likes"]
    assert 0 < likes["p10"] < body["predicted_likes"] < likes["p90"]
    # Predicted relative to the account's own likes, as training saw it; no reach level exists.
    assert body["features"]["user_avg_likes"] == pytest.approx(avg_likes)
    assert "user_avg_reach" not in body["features"] and body["features"]["network"] == "bluesky"
    assert set(body["explanations"]["contributions"]) == {"likes"}
    assert "reach is not available on bluesky" in " ".join(body["notes"])


def test_an_x_draft_names_its_network_and_a_draft_for_another_network_than_its_accounts_is_a_422(client):
    body = client.post("/predict", json={**DRAFT, "user_id": "alice_data"}).json()
    assert (body["network"], body["reach_available"]) == ("x", True)
    assert isinstance(body["predicted_reach"], int) and body["prediction_intervals"]["reach"] is not None
    answer = client.post("/predict", json={**DRAFT, "user_id": "duckpond.bsky.social", "network": "x"})
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", "network"]
    assert "'x' does not match account 'duckpond.bsky.social', whose posts are on 'bluesky'" in error["msg"]


def test_a_text_only_draft_without_a_timezone_says_so(client):
    body = client.post(
        "/predict", json={**DRAFT, "media_type": "none", "num_media_items": 0, "scheduled_time": "2026-11-25T18:00"}
    ).json()
    assert body["suggested_description"] is None
    assert body["notes"] == ["scheduled_time '2026-11-25T18:00' has no timezone: taken as UTC"]
    assert body["features"]["hour"] == 18


def test_explanations_follow_the_payload(client):
    """Three accounts in training (31,484 to 475,031 followers): the follower count dominates, lifting a
    5,000,000-follower account and pulling a 20,000-follower one down; media moves the same draft the other
    way as a text-only post. The explanation accounts for the whole difference between predictions."""

    def explain(**change):
        body = client.post("/predict", json={**DRAFT, **change}).json()
        return body, body["explanations"]["contributions"]

    huge, huge_effects = explain(user_followers=5_000_000)
    tiny, tiny_effects = explain(user_followers=20_000)  # enough likes that rounding stays below 1%
    assert huge["explanations"]["top_features"][0] == tiny["explanations"]["top_features"][0] == "user_followers"
    assert huge_effects["reach"]["user_followers"] > 1.5 > 0.7 > tiny_effects["reach"]["user_followers"]
    assert huge["predicted_reach"] > 3 * tiny["predicted_reach"]
    # Only the follower count differs, and effects multiply: its factors explain the ratio exactly.
    for target in ("reach", "likes"):
        ratio = huge[f"predicted_{target}"] / tiny[f"predicted_{target}"]
        assert ratio == pytest.approx(
            huge_effects[target]["user_followers"] / tiny_effects[target]["user_followers"], rel=0.01
        )
        others = {f: v for f, v in huge_effects[target].items() if f != "user_followers"}
        assert others == {f: v for f, v in tiny_effects[target].items() if f != "user_followers"}

    text_only, text_effects = explain(media_type="none", num_media_items=0)
    assert huge_effects["likes"]["media_type"] > 1 > text_effects["likes"]["media_type"]
    assert text_only["predicted_likes"] < client.post("/predict", json=DRAFT).json()["predicted_likes"]


def test_the_top_features_differ_with_the_draft(client):
    """A huge account's image post, a video at the evening peak and a text-only post at 3 am: each gets
    its own ranking, the features whose multiplicative effects (|log reach| + |log likes|) on that draft
    are largest."""

    def explain(**change):
        body = client.post("/predict", json={**DRAFT, **change}).json()
        return body["explanations"]["top_features"], body["explanations"]["contributions"]

    huge, huge_effects = explain(user_followers=5_000_000)  # Wednesday 18:00
    video, video_effects = explain(media_type="video", scheduled_time="2026-11-27T18:00:00Z")  # Friday
    night, night_effects = explain(media_type="none", num_media_items=0, scheduled_time="2026-11-23T03:00:00Z")
    # Each draft its own ranking, led by what sets it apart.
    # Each draft its own ranking: the huge account's differs from the others'. The video and the 3 am
    # text post may rank the same features (media type, daypart), for opposite reasons (below).
    assert tuple(huge) != tuple(video) and tuple(huge) != tuple(night)
    assert huge[0] == "user_followers"
    # The time of day is two features (hour, daypart) that share its effect: which of them ranks higher
    # depends on the trained model, so the clock is asked for as either, and its effect as their product.
    clock = {"hour", "daypart"}
    assert "media_type" in video and clock & set(video)
    assert clock & set(night)
    assert video_effects["likes"]["media_type"] > 1 > night_effects["likes"]["media_type"]

    def clock_effect(effects):
        return effects["likes"]["hour"] * effects["likes"]["daypart"]

    # The reasons behind the rankings: the evening lifts likes and 3 am lowers them; video lifts both.
    assert clock_effect(video_effects) > 1.2 and clock_effect(night_effects) < 0.8
    assert video_effects["reach"]["media_type"] > 1.1 and video_effects["likes"]["media_type"] > 1.1
    assert huge_effects["reach"]["user_followers"] > 2 > 0.5 > video_effects["reach"]["user_followers"]
    for top, effects in ((huge, huge_effects), (video, video_effects), (night, night_effects)):
        weight = {f: abs(math.log(effects["reach"][f])) + abs(math.log(effects["likes"][f])) for f in effects["reach"]}
        assert top == sorted(weight, key=weight.get, reverse=True)[:4]


def test_suggest_gives_hashtags_and_a_description_only_with_media(client):
    text = "Benchmarks of DuckDB window functions on parquet files, with charts and the SQL we used"
    with_media = client.post("/suggest", json={"post_text": text, "media_type": "video"}).json()
    assert with_media["suggested_description"] == text
    assert with_media["suggested_hashtags"] and all(t.startswith("#") for t in with_media["suggested_hashtags"])
    assert not {"#the", "#with", "#and", "#we"} & {t.lower() for t in with_media["suggested_hashtags"]}
    without = client.post("/suggest", json={"post_text": text, "media_type": "none", "user_id": "duckpond_eng"}).json()
    assert without["suggested_description"] is None
    assert client.post("/suggest", json={"post_text": "", "media_type": "image"}).json() == {
        "suggested_hashtags": [],
        "suggested_description": "",
    }


@pytest.mark.parametrize(
    "change, field",
    [
        ({"media_type": "gif"}, "media_type"),
        ({"user_followers": -1}, "user_followers"),
        ({"scheduled_time": "next tuesday"}, "scheduled_time"),
        # pandas reads these; the features' strict ISO 8601 parsing does not (they were 500s).
        ({"scheduled_time": "25/11/2026"}, "scheduled_time"),
        ({"scheduled_time": "12/11/2026"}, "scheduled_time"),
        ({"scheduled_time": "Nov 25 2026 6pm"}, "scheduled_time"),
        ({"scheduled_time": "now"}, "scheduled_time"),
        ({"scheduled_time": "today"}, "scheduled_time"),
        ({"user_avg_engagement_rate": 1.5}, "user_avg_engagement_rate"),
        ({"user_avg_engagement_rate": -0.01}, "user_avg_engagement_rate"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_payload_is_a_422_naming_the_field(client, change, field):
    answer = client.post("/predict", json={**DRAFT, **change})
    assert answer.status_code == 422
    assert [error["loc"][-1] for error in answer.json()["detail"]] == [field]


def test_a_body_that_is_not_json_is_a_422(client):
    answer = client.post("/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 422


@pytest.mark.parametrize("warehouse", ["missing", "empty"])
def test_no_models_is_a_503_with_the_way_out(warehouse, tmp_path, monkeypatch):
    db = tmp_path / "warehouse.duckdb"
    if warehouse == "empty":
        duckdb.connect(str(db)).close()
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", str(db))
    monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", str(tmp_path / "no-bi.duckdb"))
    monkeypatch.setenv("SOCIAL_PIPELINE_OPS_DIR", str(tmp_path / "ops"))
    client = TestClient(app)
    answer = client.post("/predict", json=DRAFT)
    assert answer.status_code == 503
    assert "materialise" in answer.json()["detail"] or "make run" in answer.json()["detail"]
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["models_ready"] is False and health.json()["model_versions"] == {}
    assert health.json()["detail"] == answer.json()["detail"]
    # Suggestions need no models: the offline heuristic answers.
    assert client.post("/suggest", json={"post_text": "Dagster sensors explained", "user_id": "ana"}).json()[
        "suggested_hashtags"
    ] == ["#dagster", "#sensors", "#explained"]
    assert not (tmp_path / "ops").exists()  # nothing served, nothing logged


def test_the_page_is_served_self_contained(client):
    answer = client.get("/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert 'id="post_text"' in page and 'fetch("predict"' in page
    assert not any(ref in page for ref in ("src=", "url(", "@import", "http://", "https://"))
    assert page.count("href=") == page.count('href="data:')  # only the empty inline favicon


def test_the_openapi_schema_documents_the_contract(client):
    schema = client.get("/openapi.json").json()
    response = schema["paths"]["/predict"]["post"]["responses"]
    assert response["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PredictionResponse")
    assert "503" in response and "422" in response
    contract = schema["components"]["schemas"]["PredictionResponse"]
    assert set(contract["required"]) >= CONTRACT_KEYS
    # An integer on X, null where the network counts no impressions (Bluesky).
    assert contract["properties"]["predicted_reach"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert contract["properties"]["predicted_likes"]["type"] == "integer"
    assert {"network", "reach_available"} <= set(contract["required"])
    request = schema["components"]["schemas"]["PostPayload"]["properties"]
    assert request["media_type"]["enum"] == ["none", "image", "video"]
    assert request["user_avg_engagement_rate"]["maximum"] == 1.0


fuzzed = schemathesis.openapi.from_asgi("/openapi.json", app)


@fuzzed.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_is_a_server_error(case, serving_env):
    """Any body the schema allows, and many it does not: never a 5xx, and 200s match the declared contract."""
    response = case.call()
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error, response_schema_conformance])


def test_a_follower_count_outside_the_training_accounts_is_flagged(client):
    def notes(**change):
        return client.post("/predict", json={**DRAFT, **change}).json()["notes"]

    assert not any("outside" in n for n in notes())  # 40,000: among the simulated accounts
    [note] = [n for n in notes(user_followers=2_000_000_000) if "outside" in n]
    assert note.startswith("user_followers 2,000,000,000 is outside the ") and "nearest account size" in note
    # With the account's own level the models do not lean on the follower count alone.
    assert not any("outside" in n for n in notes(user_followers=2_000_000_000, user_id="alice_data"))


def test_an_accounts_draft_explains_every_top_feature_for_both_targets(client):
    """With an account, each model predicts relative to the account's own level of its target (reach:
    user_avg_reach, likes: user_avg_likes). Every feature the response names has a factor for both
    targets: a level the other target's model does not take moves that target by exactly x1."""
    body = client.post("/predict", json={**DRAFT, "user_id": "alice_data"}).json()
    contributions = body["explanations"]["contributions"]
    assert set(contributions["reach"]) == set(contributions["likes"]) == set(body["features"])
    assert {"user_avg_reach", "user_avg_likes"} <= set(body["features"])
    assert set(body["explanations"]["top_features"]) <= set(contributions["likes"])
    assert contributions["likes"]["user_avg_reach"] == contributions["reach"]["user_avg_likes"] == 1.0
    # A model takes the account's level only where its relative form won on the newest training posts
    # (which form wins depends on the history): x1 exactly without it.
    served, _ = latest_models()
    assert served.reach is not None
    assert (contributions["reach"]["user_avg_reach"] != 1.0) == (served.reach.relative is not None)
    assert (contributions["likes"]["user_avg_likes"] != 1.0) == (served.likes.relative is not None)
    top = body["explanations"]["top_features"]
    weight = {
        f: abs(math.log(contributions["reach"][f])) + abs(math.log(contributions["likes"][f]))
        for f in contributions["reach"]
    }
    assert top == sorted(weight, key=weight.get, reverse=True)[:4]


def test_an_unknown_account_is_named_in_a_note(client):
    """A typo in user_id: the draft is predicted without an account's history, level or zone, and a note
    says which handle is unknown. A known handle gets no such note; neither does a draft without one."""
    typo = client.post("/predict", json={**DRAFT, "user_id": "alice_dta"}).json()
    assert typo["notes"] == [
        "user_id 'alice_dta' is not an account in the warehouse: predicted without an "
        "account's history, average reach and likes or time zone (hour read in UTC); "
        "check the handle"
    ]
    assert "user_avg_reach" not in typo["features"] and typo["timezone"] == "UTC"
    known = client.post("/predict", json={**DRAFT, "user_id": "alice_data"}).json()
    assert known["notes"] == ["hour and day_of_week read in Europe/Berlin, the time zone of account 'alice_data'"]
    assert client.post("/predict", json=DRAFT).json()["notes"] == []
    zoned = client.post("/predict", json={**DRAFT, "user_id": "bob", "timezone": "Asia/Tokyo"}).json()
    assert zoned["notes"] == [
        "user_id 'bob' is not an account in the warehouse: predicted without an "
        "account's history, average reach and likes; check the handle"
    ]


def test_a_time_more_than_a_year_ahead_is_a_422_naming_the_field_and_the_bound(client):
    answer = client.post("/predict", json={**DRAFT, "scheduled_time": "3000-01-01T00:00:00Z"})
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", "scheduled_time"]
    assert error["msg"].startswith(
        "Value error, scheduled_time '3000-01-01T00:00:00Z' is more than a year from now (latest accepted: "
    )
    # Past times stay allowed (backtests).
    assert client.post("/predict", json={**DRAFT, "scheduled_time": "2001-01-01T00:00:00Z"}).status_code == 200


def test_a_known_account_without_followers_is_predicted_from_its_own_figures(client, serving_env):
    """A draft that names an account but not its followers or rate gets the account's figures as of its
    newest settled post, the same prediction as a draft that states them, never the defaults' near-zero."""
    con = duckdb.connect(serving_env["bi"], read_only=True)
    user, followers, rate = con.execute(
        "SELECT user_id, arg_max(user_followers, published_at), arg_max(user_avg_engagement_rate, published_at) "
        "FROM ml.training_dataset WHERE NOT is_synthetic GROUP BY 1 ORDER BY 1 LIMIT 1"
    ).fetchone()
    con.close()
    draft = {k: v for k, v in DRAFT.items() if k not in ("user_followers", "user_avg_engagement_rate")}
    implicit = client.post("/predict", json={**draft, "user_id": user}).json()
    stated = client.post(
        "/predict", json={**draft, "user_id": user, "user_followers": followers, "user_avg_engagement_rate": rate}
    ).json()
    assert implicit["features"]["user_followers"] == followers
    assert implicit["features"]["user_avg_engagement_rate"] == pytest.approx(rate)
    assert (implicit["predicted_reach"], implicit["predicted_likes"]) == (
        stated["predicted_reach"],
        stated["predicted_likes"],
    )
    assert implicit["predicted_likes"] > 0
    # What a draft states still wins over the account's figures.
    small = client.post("/predict", json={**draft, "user_id": user, "user_followers": 500}).json()
    assert small["features"]["user_followers"] == 500
