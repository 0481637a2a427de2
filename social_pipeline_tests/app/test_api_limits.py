"""The HTTP API under bursts, hostile input and a locked warehouse (issue 14, items 2 to 5), against
the real trained warehouse the API tests share."""

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from social_pipeline.app import http_api as api
from social_pipeline.app import serving
from social_pipeline.app.http_api import app
from social_pipeline_tests.helpers import DRAFT


@pytest.fixture
def client(serving_env):
    return TestClient(app)


def _logged(serving_env) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted(Path(serving_env["ops"]).glob("predictions/*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def _post_raw(client, body: str):
    return client.post(
        "/predict", content=body.encode("utf-8", "surrogatepass"), headers={"Content-Type": "application/json"}
    )


# ----- 2. bursts -----------------------------------------------------------------------------
def test_each_worker_computes_one_prediction_with_a_queue_bounded_by_time_behind_it():
    assert (api.PREDICTIONS.limit, api.PREDICTIONS.max_wait_s) == (1, 1.0)
    assert api.PREDICTIONS.max_wait_s == api.RETRY_AFTER_SECONDS  # nobody waits longer than a retry would


def test_a_full_server_answers_503_with_retry_after_at_once(client, serving_env, monkeypatch):
    """With every prediction slot taken (as by requests in progress) and no room in the queue, the
    next request is turned away at once, computing nothing; a freed slot serves again."""
    full = api.InFlightLimit(1, max_wait_s=1.0)
    full.typical_s = 2.0  # the next waiter would expect 2 s: over the bound, no room in the queue
    monkeypatch.setattr(api, "PREDICTIONS", full)
    assert full.try_acquire()
    try:
        answer = client.post("/predict", json=DRAFT)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        assert (
            answer.json()["detail"] == "the server is computing as many predictions as it can at once: retry after 1 s"
        )
        assert _logged(serving_env) == []  # nothing predicted
        assert _post_raw(client, "{not json").status_code == 503  # nor even parsed: turned away first
    finally:
        full.release()
    assert full.in_flight == 0
    assert client.post("/predict", json=DRAFT).status_code == 200
    assert len(_logged(serving_env)) == 1


def _answer(response: dict) -> dict:
    """A response as the API declares it, without the prediction's own id and time."""
    fields = api.PredictionResponse.model_validate(response).model_dump(mode="json")
    return {k: v for k, v in fields.items() if k not in ("prediction_id", "predicted_at")}


def _wait_until(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.005)


def test_a_burst_within_the_queue_is_served_in_turn_with_the_same_answers(serving_env, monkeypatch):
    """One prediction in flight (held here, as by a slow request) and four requests arriving behind it:
    with 15 s a prediction they expect 15, 30, 45 and 60 s, within the 60 s bound, and wait in the queue
    instead of being shed; the fifth would expect 75 s and gets its 503 at once; once the slot frees the
    four are served one after another with predict()'s answer."""
    queue = api.InFlightLimit(1, max_wait_s=60.0)
    queue.typical_s = 15.0
    monkeypatch.setattr(api, "PREDICTIONS", queue)
    expected = _answer(serving.predict(DRAFT, log=False))
    answers = [None] * 4
    with TestClient(app) as client, ThreadPoolExecutor(4) as pool:  # one event loop for every request
        assert queue.try_acquire()
        try:

            def post(i):
                answers[i] = client.post("/predict", json=DRAFT)

            waiting = [pool.submit(post, i) for i in range(4)]
            _wait_until(lambda: queue.queued == 4)
            started = time.monotonic()
            shed = client.post("/predict", json=DRAFT)
            assert shed.status_code == 503 and shed.headers["Retry-After"] == "1"
            assert time.monotonic() - started < 5  # at once: nowhere near the 60 s a waiter may wait
            assert not any(future.done() for future in waiting)  # still waiting: the slot is held
        finally:
            queue.release()
        for future in waiting:
            future.result(timeout=60)
    assert [answer.status_code for answer in answers] == [200] * 4
    assert all(_answer(answer.json()) == expected for answer in answers)
    assert (queue.in_flight, queue.queued) == (0, 0)
    assert queue.typical_s > 0  # the predictions' time, measured as they held their slot
    assert len(_logged(serving_env)) == 4


def test_a_request_that_waited_its_bound_is_turned_away(client, serving_env, monkeypatch):
    queue = api.InFlightLimit(1, max_wait_s=0.2)
    monkeypatch.setattr(api, "PREDICTIONS", queue)
    assert queue.try_acquire()
    try:
        started = time.monotonic()
        answer = client.post("/predict", json=DRAFT)
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
        assert time.monotonic() - started >= 0.2
        assert queue.queued == 0 and queue.in_flight == 1  # its place in the queue given up; the slot still held
    finally:
        queue.release()
    assert queue.in_flight == 0 and _logged(serving_env) == []


def test_the_queue_admits_only_what_the_recent_prediction_time_can_serve_in_the_bound():
    """Predictions recently took 0.4 s and the bound is 1 s: the first waiter expects 0.4 s, the second
    0.8 s, the third would expect 1.2 s and is turned away at once."""

    async def burst():
        queue = api.InFlightLimit(1, max_wait_s=1.0)
        queue.typical_s = 0.4
        assert queue.try_acquire()
        waiters = [asyncio.create_task(queue.acquire()) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert waiters[2].done() and waiters[2].result() is None
        assert queue.queued == 2
        queue.release(held_s=0.4)  # the slot passes to the oldest waiter, in_flight stays 1
        assert await waiters[0] is not None and queue.in_flight == 1
        queue.release(held_s=0.4)
        assert await waiters[1] is not None
        queue.release(held_s=0.4)
        return queue

    queue = asyncio.run(burst())
    assert (queue.in_flight, queue.queued) == (0, 0)
    assert queue.typical_s == pytest.approx(0.4)


def test_a_workers_slow_first_prediction_does_not_keep_the_queue_shut():
    """The first prediction of a worker loads the models (here 3 s): the median of the recent times
    forgets it after two ordinary ones, where a mean would keep turning requests away."""
    queue = api.InFlightLimit(1, max_wait_s=1.0)
    for held_s in (3.0, 0.05, 0.07):
        assert queue.try_acquire()
        queue.release(held_s=held_s)
    assert queue.typical_s == pytest.approx(0.07)  # so 14 waiters fit in the 1 s bound
    assert [queue.expected_wait_s(place) <= 1.0 for place in (14, 15)] == [True, False]


async def _burst_of_1000(limit: int) -> tuple[int, int, set]:
    """(turned away at once, waiting, what the turned-away got) for 1,000 requests at 1/64 s a prediction."""
    queue = api.InFlightLimit(limit, max_wait_s=1.0)
    queue.typical_s = 1 / 64
    for _ in range(limit):
        assert queue.try_acquire()
    requests = [asyncio.create_task(queue.acquire()) for _ in range(1_000)]
    await asyncio.sleep(0.01)
    turned_away = [task.result() for task in requests if task.done()]
    waiting = queue.queued
    for task in requests:
        task.cancel()
    await asyncio.gather(*requests, return_exceptions=True)
    assert queue.queued == 0
    return len(turned_away), waiting, set(turned_away)


def test_a_burst_waits_as_long_as_its_expected_wait_fits_the_bound():
    """At 1/64 s a prediction and a 1 s bound, 64 requests wait behind the one in flight (the 64th expects
    exactly 1 s); of a burst of 1,000 the other 936 are turned away at once. Two slots serve twice as
    fast: 128 wait."""
    assert asyncio.run(_burst_of_1000(1)) == (936, 64, {None})
    assert asyncio.run(_burst_of_1000(2)) == (872, 128, {None})


def test_an_unmeasured_worker_assumes_a_service_time_until_it_has_one():
    """Before its first prediction a worker assumes 0.05 s a prediction: 20 wait in a 1 s bound, not
    the whole burst (nothing measured is not free)."""
    queue = api.InFlightLimit(1, max_wait_s=1.0)
    assert queue.typical_s == api.InFlightLimit.UNMEASURED_SERVICE_S == 0.05
    assert [queue.expected_wait_s(place) <= 1.0 for place in (20, 21)] == [True, False]


def test_the_service_time_of_a_waiter_starts_when_the_slot_is_passed_to_it():
    """The slot passes to the waiter at release(); the waiter's coroutine resumes later (here 0.2 s
    later, as when the event loop is busy with a burst): that delay is part of the service time."""

    async def handed_over() -> tuple[float, float, float]:
        queue = api.InFlightLimit(1, max_wait_s=10.0)
        assert queue.try_acquire()
        waiter = asyncio.create_task(queue.acquire())
        await asyncio.sleep(0.01)
        before = time.perf_counter()
        queue.release(held_s=0.01)
        after = time.perf_counter()
        time.sleep(0.2)  # the loop is blocked: the waiter cannot resume yet
        granted_at = await waiter
        queue.release(held_s=time.perf_counter() - granted_at)
        return before, granted_at, after, queue.typical_s

    before, granted_at, after, typical_s = asyncio.run(handed_over())
    assert before <= granted_at <= after
    assert typical_s == pytest.approx((0.01 + 0.2) / 2, abs=0.05)  # the median of 0.01 and >= 0.2


def test_a_waiter_cancelled_as_the_slot_reaches_it_passes_the_slot_on():
    """A client that goes away while its request waits: its place is given up, and a slot handed to it
    at that moment goes to the next waiter, never lost."""

    async def burst():
        queue = api.InFlightLimit(1, max_wait_s=10.0)
        assert queue.try_acquire()
        first, second, third = (asyncio.create_task(queue.acquire()) for _ in range(3))
        await asyncio.sleep(0.01)
        third.cancel()  # gone while waiting
        await asyncio.sleep(0.01)
        assert queue.queued == 2
        queue.release()  # hands the slot to `first` ...
        first.cancel()  # ... which is cancelled before it could run
        assert await second is not None
        with pytest.raises(asyncio.CancelledError):
            await first
        assert queue.in_flight == 1 and queue.queued == 0
        queue.release()
        return queue

    queue = asyncio.run(burst())
    assert queue.in_flight == 0


def test_a_failed_prediction_frees_its_slot(client, serving_env, monkeypatch):
    monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", str(Path(serving_env["ops"]) / "missing.duckdb"))
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", str(Path(serving_env["ops"]) / "missing.duckdb"))
    for _ in range(api.PREDICTIONS.limit + 1):
        assert client.post("/predict", json=DRAFT).status_code == 503
    assert api.PREDICTIONS.in_flight == 0


# ----- 3. bad requests -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "field, literal",
    [
        ("user_avg_engagement_rate", "NaN"),
        ("user_avg_engagement_rate", "Infinity"),
        ("user_followers", "-Infinity"),
        ("num_hashtags", "NaN"),
    ],
)
def test_non_finite_numbers_are_a_422_naming_the_field(client, field, literal):
    answer = _post_raw(client, f'{{"post_text": "hello", "{field}": {literal}}}')
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", field]
    assert error["input"] == str(float(literal.replace("Infinity", "inf")))  # 'nan', 'inf', '-inf', as text


@pytest.mark.parametrize("field", ["post_text", "user_id", "scheduled_time"])
def test_a_lone_surrogate_is_a_422_naming_the_field(client, serving_env, field):
    answer = _post_raw(client, f'{{"{field}": "ab\\ud800cd"}}')
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", field]
    assert error["type"] == "string_unicode" and "unicode" in error["msg"]
    assert error["input"] == "ab\\ud800cd"  # escaped, so the answer encodes
    assert _logged(serving_env) == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("user_followers", True),
        ("user_followers", "40000"),
        ("user_followers", 40000.5),
        ("num_media_items", True),
        ("num_hashtags", False),
        ("user_avg_engagement_rate", True),
    ],
)
def test_booleans_and_strings_are_not_counts(client, field, value):
    answer = client.post("/predict", json={**DRAFT, field: value})
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", field]
    assert error["input"] == value


def test_an_integral_rate_and_integer_counts_still_validate(client):
    answer = client.post("/predict", json={**DRAFT, "user_avg_engagement_rate": 0, "num_hashtags": 2})
    assert answer.status_code == 200, answer.text
    assert answer.json()["features"]["num_hashtags"] == 2


def test_a_body_over_the_limit_is_a_413_and_a_long_value_is_not_echoed(client):
    huge = json.dumps({**DRAFT, "post_text": "x" * (api.MAX_REQUEST_BYTES + 1)})
    answer = _post_raw(client, huge)
    assert answer.status_code == 413
    assert len(answer.content) < 200

    long_text = "word " * 6_000  # 30,000 characters: under the body limit, over the post limit
    answer = client.post("/predict", json={**DRAFT, "post_text": long_text, "scheduled_time": "9" * 64})
    assert answer.status_code == 422
    errors = {e["loc"][-1]: e for e in answer.json()["detail"]}
    assert errors["post_text"]["input"] == long_text[: api.MAX_ECHO_CHARS] + "… (30,000 characters)"
    assert len(answer.content) < 2_000

    many = json.dumps([DRAFT] * 500)  # a list where an object belongs: summarised, not echoed
    answer = _post_raw(client, many)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["input"] == "<list of 500 items>"


# ----- 4. leaks ------------------------------------------------------------------------------
def test_health_and_503_details_name_no_path_or_pid(client, serving_env, tmp_path, monkeypatch, caplog):
    """The BI copy locked by another process: DuckDB's error names the file, the interpreter and the
    PID holding it. The answers say what is wrong without them; the server log keeps them."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(60)",
            serving_env["bi"] + ".locked",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", serving_env["bi"] + ".locked")
        with caplog.at_level(logging.WARNING, logger="social_pipeline.app.http_api"):
            health = client.get("/health").json()
            predict = client.post("/predict", json=DRAFT)
    finally:
        holder.kill()
        holder.wait()
    assert health["models_ready"] is False and predict.status_code == 503
    assert predict.headers["Retry-After"] == "5"
    for detail in (health["detail"], predict.json()["detail"]):
        assert str(holder.pid) not in detail and "PID" not in detail
        assert sys.executable not in detail and os.path.dirname(serving_env["bi"]) not in detail
        assert "lock" in detail
    assert "bi.duckdb.locked" in health["detail"]
    assert any(str(holder.pid) in r.getMessage() and serving_env["bi"] in r.getMessage() for r in caplog.records)

    missing = tmp_path / "nowhere" / "warehouse.duckdb"
    monkeypatch.setenv("SOCIAL_PIPELINE_BI_DB", str(missing))
    monkeypatch.setenv("SOCIAL_PIPELINE_DB", str(missing))
    detail = client.get("/health").json()["detail"]
    assert detail.startswith("no warehouse at warehouse.duckdb: run `make run`") and str(tmp_path) not in detail
    assert client.post("/predict", json=DRAFT).json()["detail"] == detail


def test_health_names_the_served_file_not_its_path(client, serving_env):
    assert client.get("/health").json()["detail"] == f"serving from {Path(serving_env['bi']).name}"


# ----- 5. the prediction log ----------------------------------------------------------------
def test_one_request_writes_a_bounded_line(client, serving_env):
    """The longest valid draft, one 25,000-character 'word' of 4-byte emoji (it becomes the description
    and a hashtag too): its log line is cut, stating what was cut, and stays small."""
    text = "🚀" * 25_000
    answer = client.post("/predict", json={**DRAFT, "post_text": text})
    assert answer.status_code == 200, answer.text[:300]
    line = next(Path(serving_env["ops"]).glob("predictions/*.jsonl")).read_bytes()
    assert len(line) < 12_000  # the request alone was 300 KB as JSON
    (logged,) = _logged(serving_env)
    assert logged["request"]["post_text"] == "🚀" * serving.MAX_LOGGED_TEXT_CHARS
    cut = {c["field"]: c for c in logged["truncated"]}
    assert cut["request.post_text"]["chars"] == 25_000
    import hashlib

    assert cut["request.post_text"]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert logged["response"]["prediction_id"] == answer.json()["prediction_id"]


def test_a_full_day_of_log_stops_logging_not_serving(client, serving_env, monkeypatch, caplog):
    client.post("/predict", json=DRAFT)
    (path,) = Path(serving_env["ops"]).glob("predictions/*.jsonl")
    size = path.stat().st_size
    monkeypatch.setattr(serving, "MAX_LOG_BYTES_PER_DAY", int(size * 2.5))
    monkeypatch.setattr(serving, "_full_days", set())
    with caplog.at_level(logging.WARNING, logger="social_pipeline.app.serving"):
        answers = [client.post("/predict", json=DRAFT) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len(_logged(serving_env)) == 2 and path.stat().st_size <= serving.MAX_LOG_BYTES_PER_DAY
    assert sum("is full" in r.getMessage() for r in caplog.records) == 1
