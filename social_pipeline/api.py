"""The HTTP API (`make api`): `POST /predict`, `POST /suggest`, `GET /health` and the page at `GET /`.

A thin layer over `serving`: the request contract and its 422s are `PostPayload`'s, the response
is `predict()`'s, declared below so the OpenAPI schema documents it. The warehouse is read from
SOCIAL_PIPELINE_BI_DB / SOCIAL_PIPELINE_DB at every request, like the CLI.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import duckdb
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from .core.model_registry import ModelNotTrainedError
from .core.prediction_request import PostPayload
from .core.suggestions import suggest_description_for_media, suggest_hashtags
from .serving import latest_models, predict, read_database, user_history


class Interval(BaseModel):
    p10: int = Field(description="10th percentile")
    p90: int = Field(description="90th percentile")


class PredictionIntervals(BaseModel):
    reach: Interval
    likes: Interval


class Explanations(BaseModel):
    top_features: list[str] = Field(description="the features that moved this prediction most, largest first")
    method: str
    contributions: dict[str, dict[str, float]] = Field(
        description="per target (reach, likes) and feature: the factor the feature multiplies the prediction by, "
                    "against a typical post")


class PredictionResponse(BaseModel):
    """The prediction notebook's response contract, plus intervals, versions, contributions and notes."""

    suggested_hashtags: list[str]
    suggested_description: str | None = Field(description="only when the post has media")
    predicted_reach: int
    predicted_likes: int
    predicted_engagement_rate: float = Field(description="predicted likes / predicted reach, a ratio")
    explanations: Explanations
    prediction_intervals: PredictionIntervals
    model_versions: dict[str, str]
    features: dict[str, Any] = Field(description="the model's input row, derived from the request")
    notes: list[str] = Field(description="what was assumed, e.g. a time without timezone taken as UTC")
    timezone: str = Field(description="the IANA zone hour and day_of_week were read in: the request's, the "
                          "account's (user_id), else UTC")
    prediction_id: str
    predicted_at: str


# The subset of the request /suggest needs, with PostPayload's very field definitions.
SuggestRequest = create_model(
    "SuggestRequest", __config__=ConfigDict(extra="forbid"),
    **{name: (PostPayload.model_fields[name].annotation, PostPayload.model_fields[name])
       for name in ("post_text", "media_type", "user_id")},
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


UNAVAILABLE = {503: {"model": ErrorResponse, "description": "no trained models yet, or the warehouse is unreadable"}}

app = FastAPI(
    title="social_pipeline predictions",
    version="1",
    description="Predict a draft post's reach and likes, why, and how sure the model is. The page at / uses this API.",
)


@app.exception_handler(ModelNotTrainedError)
def _no_models(request: Request, error: ModelNotTrainedError) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": str(error)})


@app.exception_handler(duckdb.IOException)
def _warehouse_unreadable(request: Request, error: duckdb.IOException) -> JSONResponse:
    # A locked or unreadable file is the server's state, not the request's fault: retry later.
    return JSONResponse(status_code=503, content={"detail": f"the warehouse cannot be read right now: {error}"})


def _history_or_none(user_id: str | None):
    try:
        return user_history(user_id)
    except duckdb.Error:  # no warehouse yet: the offline heuristic alone
        return None


@app.post("/predict", response_model=PredictionResponse, responses=UNAVAILABLE)
def predict_post(payload: PostPayload) -> dict:
    """The prediction for one draft; it is recorded in the prediction log."""
    return predict(payload)  # the models run single-threaded (core/models.py single_threaded)


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
        return {"ok": True, "models_ready": False, "model_versions": {}, "detail": str(error)}
    return {"ok": True, "models_ready": True, "model_versions": versions,
            "detail": f"serving from {read_database()}"}


@lru_cache(maxsize=1)
def _page() -> str:
    return resources.files("social_pipeline").joinpath("api_page.html").read_text(encoding="utf-8")


@app.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> str:
    """One self-contained page: write a draft, see its prediction."""
    return _page()
