"""The prediction page in a real headless Chromium, against uvicorn serving the API on a trained warehouse:
fill the form, submit, read the prediction, the explanation and the errors from the page.

Skips only when Chromium is absent on a developer machine; in CI (CI=true) a missing Chromium fails.
"""

import re
import socket
import threading
import time

import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from social_pipeline.app.http_api import app
from social_pipeline.app.serving import predict
from social_pipeline_tests.helpers import chromium_binary

DRAFT = {
    "post_text": "Our DuckDB and Dagster pipeline, explained in one chart 🦆",
    "media_type": "video",
    "num_media_items": 1,
    "scheduled_time": "2026-11-25T18:00:00Z",
    "user_followers": 40000,
    "user_avg_engagement_rate": 0.03,
}


def whole(n: int) -> str:
    return f"{n:,}"


@pytest.fixture(scope="module")
def browser():
    executable = chromium_binary()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def server(serving_env):
    """uvicorn on a free port in this process, so it reads the environment serving_env set."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not served.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    served.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser, server):
    context = browser.new_context()
    opened = context.new_page()
    opened.console_errors = []
    opened.on("console", lambda message: message.type == "error" and opened.console_errors.append(message.text))
    opened.on("pageerror", lambda error: opened.console_errors.append(str(error)))
    opened.goto(server)
    yield opened
    context.close()


def fill(page, draft: dict) -> None:
    page.fill("#post_text", draft["post_text"])
    page.select_option("#media_type", draft["media_type"])
    page.fill("#num_media_items", str(draft["num_media_items"]))
    page.fill("#scheduled_time", draft["scheduled_time"].removesuffix(":00Z"))  # the page's field is UTC
    page.fill("#user_followers", str(draft["user_followers"]))
    page.fill("#user_avg_engagement_rate", str(draft["user_avg_engagement_rate"]))


def test_a_draft_gets_its_prediction_explanation_and_hashtags(page):
    expected = predict(DRAFT, log=False)
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Models ready')")
    fill(page, DRAFT)
    page.click("#predict")
    page.wait_for_selector("#result", state="visible")

    assert page.inner_text("#reach") == whole(expected["predicted_reach"])
    reach, likes = expected["prediction_intervals"]["reach"], expected["prediction_intervals"]["likes"]
    assert page.inner_text("#reach_interval") == f"{whole(reach['p10'])} – {whole(reach['p90'])}"
    assert page.inner_text("#likes") == whole(expected["predicted_likes"])
    assert page.inner_text("#likes_interval") == f"{whole(likes['p10'])} – {whole(likes['p90'])}"
    assert page.inner_text("#engagement_rate") == f"{100 * expected['predicted_engagement_rate']:.2f}%"
    rows = page.query_selector_all("#top_features tr")
    assert [row.get_attribute("data-feature") for row in rows] == expected["explanations"]["top_features"]
    followers = page.query_selector("#top_features tr[data-feature=user_followers]")
    cells = [cell.inner_text() for cell in followers.query_selector_all("td")]
    factor = expected["explanations"]["contributions"]["reach"]["user_followers"]
    assert cells[:3] == ["Followers", "40,000", f"×{factor:.2f} {'▲' if factor > 1 else '▼'}"]
    tags = [chip.inner_text() for chip in page.query_selector_all("#hashtags .chip")]
    assert tags == expected["suggested_hashtags"] and tags
    assert page.inner_text("#description") == expected["suggested_description"] == DRAFT["post_text"]
    assert not page.is_visible("#error")

    # A suggested hashtag is added to the draft with one click.
    page.click("#hashtags .chip >> nth=0")
    assert page.input_value("#post_text") == f"{DRAFT['post_text']} {tags[0]}"
    assert page.console_errors == []


def test_errors_are_shown_readably(page, monkeypatch, tmp_path):
    fill(page, {**DRAFT, "user_followers": -5, "user_avg_engagement_rate": 1.5})
    page.click("#predict")
    page.wait_for_selector("#error", state="visible")
    shown = page.inner_text("#error")
    assert shown.startswith("Please check the draft:")
    assert "Followers: Input should be greater than or equal to 0" in shown
    assert "Avg engagement rate: Input should be less than or equal to 1" in shown
    assert not page.is_visible("#result")

    # The models disappear (a fresh warehouse): the page says so instead of failing.
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", str(tmp_path / "fresh.duckdb"))
    monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", str(tmp_path / "fresh-bi.duckdb"))
    fill(page, DRAFT)
    page.click("#predict")
    page.wait_for_function("document.getElementById('error').textContent.includes('not ready')")
    shown = page.inner_text("#error")
    assert shown.startswith("No prediction yet: the models are not ready.")
    assert "make run" in shown
    # The browser logs each failed request; the page's script itself logged nothing.
    statuses = [re.search(r"status of (\d+)", line).group(1) for line in page.console_errors]
    assert statuses == ["422", "503"], page.console_errors


def _factor(factor: float) -> str:
    return f"×{factor:.2f}" + (" ▲" if factor > 1.005 else " ▼" if factor < 0.995 else "")


def test_a_draft_with_an_account_shows_every_top_feature_on_the_accounts_clock(page, tmp_path):
    """With an account the models predict from its own level (user_avg_reach for reach, user_avg_likes for
    likes) and read the hour in its zone: each top feature shows both factors (x1.00 where a target's
    model does not take it) and the clock features are labelled with the account's zone, not UTC."""
    draft = {**DRAFT, "user_id": "alice_data"}
    expected = predict(draft, log=False)
    assert expected["timezone"] == "Europe/Berlin"
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Models ready')")
    fill(page, DRAFT)
    page.fill("#user_id", "alice_data")
    page.click("#predict")
    page.wait_for_selector("#result", state="visible")
    page.screenshot(path=str(tmp_path / "prediction_with_account.png"), full_page=True)

    assert not page.is_visible("#error")
    assert page.inner_text("#reach") == whole(expected["predicted_reach"])
    contributions = expected["explanations"]["contributions"]
    labels = {
        "user_avg_reach": "Account's average reach",
        "user_avg_likes": "Account's average likes",
        "hour": "Hour (Europe/Berlin)",
        "daypart": "Time of day (Europe/Berlin)",
        "day_of_week": "Day of week (Europe/Berlin)",
    }
    shown = {
        row.get_attribute("data-feature"): [cell.inner_text() for cell in row.query_selector_all("td")]
        for row in page.query_selector_all("#top_features tr")
    }
    assert list(shown) == expected["explanations"]["top_features"]
    assert set(labels) & set(shown)  # an account-level or zone-labelled feature is among those shown
    for feature, cells in shown.items():
        assert cells[2:] == [_factor(contributions["reach"][feature]), _factor(contributions["likes"][feature])]
        if feature in labels:
            assert cells[0] == labels[feature]
    if "user_avg_reach" in shown:
        assert shown["user_avg_reach"][1:] == [
            whole(round(expected["features"]["user_avg_reach"])),
            _factor(contributions["reach"]["user_avg_reach"]),
            "×1.00",
        ]
    assert page.inner_text("#clock") == "Hour, time of day and day of week are read in Europe/Berlin."
    assert (
        page.inner_text("#notes")
        == expected["notes"][0]
        == ("hour and day_of_week read in Europe/Berlin, the time zone of account 'alice_data'")
    )
    assert page.console_errors == []


def test_an_unknown_account_is_named_on_the_page(page):
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Models ready')")
    fill(page, DRAFT)
    page.fill("#user_id", "alice_dta")
    page.click("#predict")
    page.wait_for_selector("#result", state="visible")
    assert page.is_visible("#notes_section")
    assert "user_id 'alice_dta' is not an account in the warehouse" in page.inner_text("#notes")
    assert page.inner_text("#clock") == "Hour, time of day and day of week are read in UTC."
    assert page.console_errors == []


def test_a_bluesky_accounts_draft_shows_likes_and_no_reach(page):
    """Bluesky counts no impressions: the page shows n/a for reach and the engagement rate, never 0, and the
    likes with their range; the explanation's reach column shows – (the reach model took no part)."""
    draft = {**DRAFT, "user_id": "duckpond.bsky.social"}
    expected = predict(draft, log=False)
    assert (expected["network"], expected["predicted_reach"]) == ("bluesky", None)
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Models ready')")
    fill(page, DRAFT)
    page.fill("#user_id", "duckpond.bsky.social")
    page.click("#predict")
    page.wait_for_selector("#result", state="visible")
    assert not page.is_visible("#error")
    assert page.inner_text("#reach") == "n/a"
    assert page.inner_text("#reach_interval") == "not counted on bluesky"
    assert page.inner_text("#engagement_rate") == "n/a"
    likes = expected["prediction_intervals"]["likes"]
    assert page.inner_text("#likes") == whole(expected["predicted_likes"])
    assert page.inner_text("#likes_interval") == f"{whole(likes['p10'])} – {whole(likes['p90'])}"
    rows = page.query_selector_all("#top_features tr")
    assert [row.get_attribute("data-feature") for row in rows] == expected["explanations"]["top_features"]
    likes_factors = expected["explanations"]["contributions"]["likes"]
    for row in rows:
        cells = [cell.inner_text() for cell in row.query_selector_all("td")]
        assert cells[2:] == ["–", _factor(likes_factors[row.get_attribute("data-feature")])]
    assert "reach is not available on bluesky" in page.inner_text("#notes")
    assert page.console_errors == []
