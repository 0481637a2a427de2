"""The HTTP API (`make api`): `POST /predict`, `POST /suggest`, `GET /health` and the page at `GET /`.

A thin layer over `serving`: the request contract and its 422s are `PostPayload`'s, the response
is `predict()`'s, declared below so the OpenAPI schema documents it. The warehouse is read from
SOCIAL_PIPELINE_BI_DB / SOCIAL_PIPELINE_DB at every request, like the CLI.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import statistics
import threading
import time
from collections import deque
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from social_pipeline.app.serving import NetworkMismatchError, latest_models, predict, read_database, user_history
from social_pipeline.core.model_registry import ModelNotTrainedError
from social_pipeline.core.prediction_request import PostPayload
from social_pipeline.core.suggestions import suggest_description_for_media, suggest_hashtags
from social_pipeline.warehouse.lake import is_lake


class Interval(BaseModel):
    p10: int = Field(description="10th percentile")
    p90: int = Field(description="90th percentile")


class PredictionIntervals(BaseModel):
    reach: Interval | None = Field(description="null where the network counts no impressions (Bluesky)")
    likes: Interval


class Explanations(BaseModel):
    top_features: list[str] = Field(description="the features that moved this prediction most, largest first")
    method: str
    contributions: dict[str, dict[str, float]] = Field(
        description="per target (reach, likes; likes alone without reach) and feature of the draft (every one "
        "in `features`, so every "
        "top feature): the factor the feature multiplies the prediction by, against a typical post; "
        "1.0 where the target's model does not take the feature (likes does not take user_avg_reach, "
        "reach not user_avg_likes)"
    )


class PredictionResponse(BaseModel):
    """The prediction notebook's response contract, plus intervals, versions, contributions and notes."""

    suggested_hashtags: list[str]
    suggested_description: str | None = Field(description="only when the post has media")
    predicted_reach: int | None = Field(description="null where the network counts no impressions (Bluesky)")
    predicted_likes: int
    predicted_engagement_rate: float | None = Field(
        description="predicted likes / predicted reach, a ratio; null where there is no reach (Bluesky)"
    )
    explanations: Explanations
    prediction_intervals: PredictionIntervals
    network: str = Field(description="the network predicted for: the request's, the account's (user_id), else x")
    reach_available: bool = Field(
        description="false on a network that counts no impressions (Bluesky): only likes are predicted"
    )
    model_versions: dict[str, str]
    features: dict[str, Any] = Field(description="the model's input row, derived from the request")
    notes: list[str] = Field(description="what was assumed, e.g. a time without timezone taken as UTC")
    timezone: str = Field(
        description="the IANA zone hour and day_of_week were read in: the request's, the account's (user_id), else UTC"
    )
    prediction_id: str
    predicted_at: str


# The subset of the request /suggest needs, with PostPayload's very field definitions.
_SUGGEST_FIELDS: dict[str, Any] = {
    name: (PostPayload.model_fields[name].annotation, PostPayload.model_fields[name])
    for name in ("post_text", "media_type", "user_id")
}
SuggestRequest = create_model(
    "SuggestRequest",
    __config__=ConfigDict(extra="forbid"),
    **_SUGGEST_FIELDS,
)


class SuggestResponse(BaseModel):
    suggested_hashtags: list[str]
    suggested_description: str | None = Field(description="only when the post has media")


class HealthResponse(BaseModel):
    ok: bool = Field(description="the API is up (true even when no models are ready)")
    models_ready: bool
    model_versions: dict[str, str]
    detail: str | None = Field(None, description="why no prediction can be served yet")


class ErrorResponse(BaseModel):
    detail: str


UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorResponse,
        "description": "no trained models yet, the warehouse is unreadable, "
        "or the server is at its limit of predictions in flight "
        "(then with Retry-After)",
    }
}

# The longest valid draft (25,000 characters, every one a \u-escaped emoji) is ~300 KB of JSON.
MAX_REQUEST_BYTES = 384 * 1024
# Echoed values in a 422 are cut to this many characters; messages too.
MAX_ECHO_CHARS = 200
_log = logging.getLogger(__name__)

app = FastAPI(
    title="social_pipeline predictions",
    version="1",
    description="Predict a draft post's reach and likes, why, and how sure the model is. The page at / uses this API.",
    max_body_size=MAX_REQUEST_BYTES,  # a larger body is a 413 before it is read whole
)


class InFlightLimit:
    """At most `limit` predictions computing at once, and a queue behind them admitted by time: a request
    waits for a slot when its expected wait (its place in the queue x the recent service time / `limit`)
    stays within `max_wait_s`, the bound Retry-After promises; it is turned away at once past that, or
    after waiting `max_wait_s` without a slot. A prediction is CPU-bound and mostly holds the GIL: two at
    once in one process each take ~1.5x as long for ~1.3x the throughput, so one process computes one
    (`make api` runs a worker process per core, each with its own limit and queue).

    The service time runs from the moment a slot became the request's (for a waiter: when the slot was
    passed on, not when its coroutine resumed) until it is freed, so time the event loop spends on other
    connections in a burst counts too. Waiters are futures of the event loop they wait on; a freed slot
    passes straight to the oldest (FIFO), so a waiter is never overtaken by a request that came later."""

    # `typical_s` is the median service time of this many recent predictions: a worker's first, which
    # loads the models (a second or more), does not make it turn away requests for long after.
    RECENT_PREDICTIONS = 21
    # Until a prediction was measured, this service time is assumed (20 wait within a 1 s bound).
    UNMEASURED_SERVICE_S = 0.05

    def __init__(self, limit: int, max_wait_s: float = 0.0):
        self.limit, self.max_wait_s = limit, max_wait_s
        self.in_flight = 0
        self.typical_s = self.UNMEASURED_SERVICE_S  # how long a prediction recently held its slot
        self._recent_s: deque = deque(maxlen=self.RECENT_PREDICTIONS)
        self._waiters: deque = deque()  # (loop, future), oldest first
        self._lock = threading.Lock()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def expected_wait_s(self, place: int) -> float:
        """How long the request at `place` in the queue (1: next) is expected to wait for a slot."""
        return place * self.typical_s / self.limit

    def try_acquire(self) -> bool:
        """A slot if one is free now (and nobody waits for it), else False; release() it after."""
        with self._lock:
            admitted = self.in_flight < self.limit and not self._waiters
            self.in_flight += admitted
            return admitted

    async def acquire(self) -> float | None:
        """A slot now, or after a bounded wait in the queue: the time.perf_counter() at which the slot
        became this request's; None when the request is to be turned away."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.in_flight < self.limit and not self._waiters:
                self.in_flight += 1
                return time.perf_counter()
            if self.expected_wait_s(len(self._waiters) + 1) > self.max_wait_s:
                return None
            waiter = (loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter[1]), self.max_wait_s)
        except BaseException as error:  # timed out, or the client went away (cancelled)
            with self._lock:
                handed = waiter not in self._waiters
                if not handed:
                    self._waiters.remove(waiter)
            if handed:  # release() passed the slot on just as the wait ended: it is ours
                if isinstance(error, asyncio.TimeoutError):
                    return await waiter[1]
                self.release()
            if isinstance(error, asyncio.TimeoutError):
                return None
            raise

    def release(self, held_s: float | None = None) -> None:
        """Free a slot, or pass it to the oldest waiter; `held_s` (the service time) updates `typical_s`."""
        with self._lock:
            if held_s is not None:
                self._recent_s.append(held_s)
                self.typical_s = statistics.median(self._recent_s)
            if self._waiters:
                loop, future = self._waiters.popleft()  # it keeps the slot: in_flight is unchanged
                loop.call_soon_threadsafe(_resolve, future, time.perf_counter())
            else:
                self.in_flight -= 1


def _resolve(future: asyncio.Future, handed_at: float) -> None:
    if not future.done():
        future.set_result(handed_at)


RETRY_AFTER_SECONDS = 1  # a prediction takes a fraction of a second: a slot frees within one
# No request waits longer than the Retry-After a turned-away request is told: past that, retrying is as
# quick. At ~10 ms a prediction, ~100 wait behind each worker's one in flight; a larger burst is mostly
# told at once to retry.
PREDICTIONS = InFlightLimit(
    max(1, int(os.environ.get("SOCIAL_PIPELINE_API_MAX_IN_FLIGHT") or 1)),
    max_wait_s=float(os.environ.get("SOCIAL_PIPELINE_API_MAX_WAIT_S") or RETRY_AFTER_SECONDS),
)
_BUSY = json.dumps(
    {"detail": f"the server is computing as many predictions as it can at once: retry after {RETRY_AFTER_SECONDS} s"}
).encode()


class ShedWhenFull:
    """ASGI middleware: a POST /predict past the in-flight limit and its queue gets its 503 before its
    body is read or validated, so a burst costs the server next to nothing."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/predict" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        limit = PREDICTIONS
        started = await limit.acquire()
        if started is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                        (b"content-length", str(len(_BUSY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _BUSY})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            limit.release(time.perf_counter() - started)


app.add_middleware(ShedWhenFull)


_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/\\])(?:[A-Za-z]:)?[/\\][^\s'\"()<>,;]*[^\s'\"()<>,;.:]")


def public_detail(message: str) -> str:
    """A server-side message fit for a client: absolute paths cut to their file name, no PIDs or
    interpreter paths (DuckDB's lock errors name the process holding the lock). The whole message
    goes to the server log."""
    text = re.sub(
        r"Conflicting lock is held in \S+( \(PID \d+\))?( by user [^\s.]+)?", "another process holds a lock", message
    )
    text = re.sub(r" ?\(?\bPID:? ?\d+\)?", "", text, flags=re.IGNORECASE)
    return _ABSOLUTE_PATH.sub(lambda m: Path(m.group(0)).name or "…", text)


@app.exception_handler(ModelNotTrainedError)
def _no_models(request: Request, error: ModelNotTrainedError) -> JSONResponse:
    _log.warning("503 on %s: %s", request.url.path, error)
    return JSONResponse(status_code=503, content={"detail": public_detail(str(error))})


@app.exception_handler(NetworkMismatchError)
def _network_mismatch(request: Request, error: NetworkMismatchError) -> JSONResponse:
    """422 in the shape of a validation error: the draft's network is not its account's."""
    detail = [{"loc": ["body", "network"], "msg": _echo(str(error)), "type": "value_error", "input": None}]
    return JSONResponse(status_code=422, content={"detail": detail})


@app.exception_handler(duckdb.IOException)
def _warehouse_unreadable(request: Request, error: duckdb.IOException) -> JSONResponse:
    # A locked or unreadable file is the server's state, not the request's fault: retry later.
    _log.warning("503 on %s, the warehouse cannot be read: %s", request.url.path, error)
    return JSONResponse(
        status_code=503,
        headers={"Retry-After": "5"},
        content={
            "detail": "the warehouse cannot be read right now (locked by another process or unreadable): retry later"
        },
    )


def _echo(value: Any) -> Any:
    """A value from the request, safe to put in JSON and short: no NaN, no lone surrogate, no 50 MB."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # 'nan', 'inf': JSON has no such numbers
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, (dict, list)):
        return f"<{type(value).__name__} of {len(value)} items>"
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_ECHO_CHARS else f"{text[:MAX_ECHO_CHARS]}… ({len(text):,} characters)"


@app.exception_handler(RequestValidationError)
def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 naming each field and what is wrong with it, echoing at most a short piece of the value."""
    detail = [
        {
            "loc": list(e.get("loc", ())),
            "msg": _echo(e.get("msg", "")),
            "type": e.get("type"),
            "input": _echo(e.get("input")),
        }
        for e in error.errors()[:20]
    ]
    return JSONResponse(status_code=422, content={"detail": detail})


def _history_or_none(user_id: str | None):
    try:
        return user_history(user_id)
    except duckdb.Error:  # no warehouse yet: the offline heuristic alone
        return None


@app.post("/predict", response_model=PredictionResponse, responses=UNAVAILABLE)
def predict_post(payload: PostPayload) -> dict:
    """The prediction for one draft; it is recorded in the prediction log. Past the in-flight limit
    (ShedWhenFull), a 503 with Retry-After answers at once."""
    return predict(payload)


@app.post("/suggest", response_model=SuggestResponse)
def suggest(request: SuggestRequest) -> dict:  # type: ignore[valid-type]
    """Hashtags (ranked by the user's own history when user_id has posts) and, with media, a description."""
    has_media = request.media_type in ("image", "video")
    return {
        "suggested_hashtags": suggest_hashtags(request.post_text, _history_or_none(request.user_id)),
        "suggested_description": suggest_description_for_media(request.post_text) if has_media else None,
    }


@app.get("/health", response_model=HealthResponse)
def health() -> dict:
    """Up, and whether models are registered (HTTP 200 either way)."""
    try:
        _, versions = latest_models()
    except (ModelNotTrainedError, duckdb.Error) as error:
        _log.warning("/health: no models can be served: %s", error)
        return {"ok": True, "models_ready": False, "model_versions": {}, "detail": public_detail(str(error))}
    return {
        "ok": True,
        "models_ready": True,
        "model_versions": versions,
        # A lake's name is a connection string: never shown (it may hold a password).
        "detail": "serving from "
        + ("the DuckLake warehouse" if is_lake(read_database()) else Path(read_database()).name),
    }


@lru_cache(maxsize=1)
def _page() -> str:
    return resources.files("social_pipeline.app").joinpath("api_page.html").read_text(encoding="utf-8")


@app.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> str:
    """One self-contained page: write a draft, see its prediction."""
    return _page()
