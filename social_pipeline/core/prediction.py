"""Predict a draft post: the notebook's response contract from trained models, with intervals,
per-prediction explanations and suggestions. Pure: the caller supplies models and history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from pydantic import TypeAdapter

from .analytics_queries import FOLLOWERS_BASIS_NETWORKS
from .model_registry import ModelNotTrainedError
from .models import TargetModel, TrainedModels
from .models.inputs import DEFAULT_NETWORK
from .prediction_request import PostPayload, feature_frame, feature_row
from .suggestions import HashtagHistory, suggest_description_for_media, suggest_hashtags
from .timezones import DEFAULT_TIMEZONE

TOP_FEATURES = 4
PAYLOADS = TypeAdapter(list[PostPayload])
EXPLANATION_METHOD = (
    "exact interventional Shapley values: the point models are boosted trees without feature "
    "interactions, so each feature's effect on log(prediction) is separable and computed exactly "
    "against 200 training posts; contributions are the factor each feature multiplies the prediction "
    "by, against a typical post"
)


def _explain(models: TrainedModels, features: pd.DataFrame, targets: tuple[str, ...]) -> tuple[list[str], dict]:
    """The top features and each of `targets`' factor for every feature of the draft. With a user's
    level, reach is relative to user_avg_reach and likes to user_avg_likes: a level a target's model
    does not take moves that target by x1 (log effect 0), so every named feature has a factor for each."""
    log_effects = {
        target: models.target_model(target).contributions(features).iloc[0].reindex(features.columns, fill_value=0.0)
        for target in targets
    }
    weight = pd.concat(list(log_effects.values()), axis=1).abs().sum(axis=1)
    top = weight.sort_values(ascending=False, kind="stable").index[:TOP_FEATURES].tolist()
    contributions = {
        target: {feature: round(float(np.exp(value)), 4) for feature, value in effects.items()}
        for target, effects in log_effects.items()
    }
    return top, contributions


def _extrapolation_notes(model: TargetModel, payload: PostPayload, level_known: bool) -> list[str]:
    """Say so when the follower count lies outside what `model` saw and nothing else anchors it."""
    low_high = getattr(model, "followers_range", None)  # None for models saved before the field
    if level_known or not low_high or payload.user_followers is None:
        return []
    low, high = low_high
    if low <= payload.user_followers <= high:
        return []
    how = (
        "it is extrapolated per follower from the nearest account size"
        if getattr(model, "per_follower", None) is not None
        else "the prediction is that of the nearest account size"
    )
    return [
        f"user_followers {payload.user_followers:,} is outside the {low:,.0f}-{high:,.0f} followers of the "
        f"accounts the models were trained on: {how}. Pass user_id for an account in the warehouse to "
        "predict from its own history."
    ]


def predict_payload(
    models: TrainedModels,
    payload: PostPayload | dict,
    model_versions: dict,
    history: HashtagHistory | None = None,
    user_levels: dict | None = None,
) -> dict:
    """The contract's response for one draft, plus intervals, versions, contributions and notes.
    `user_levels` (user_avg_reach, user_avg_likes: the user's settled means; user_followers,
    user_avg_engagement_rate as of the newest settled post) lets the models predict relative to the
    user's own level, as they do for known users in training; a figure the draft states is kept."""
    if not isinstance(payload, PostPayload):
        payload = PostPayload.model_validate(payload)
    network = payload.network or DEFAULT_NETWORK
    if network not in models.likes.networks:
        raise ModelNotTrainedError(
            f"the served likes model was trained on {' and '.join(models.likes.networks)} posts only, so it "
            f"cannot predict a draft for {network}: retrain (the ml_training job) once {network} posts have settled"
        )
    features, notes = feature_row(payload)
    if user_levels:
        # The account's own figures fill what the draft leaves out; what the draft states wins.
        stated = payload.model_fields_set
        features = features.assign(**{k: v for k, v in user_levels.items() if k not in stated})
    predicted = models.predict(features).iloc[0]
    # A network that counts no impressions (Bluesky) has no reach to predict: likes alone, on the
    # followers basis, and reach, its interval and the engagement rate per impression stay null.
    reach_available = models.reach_available(network)
    targets = ("reach", "likes") if reach_available else ("likes",)
    notes += _extrapolation_notes(models.target_model(targets[0]), payload, bool(user_levels))
    if not reach_available and network in FOLLOWERS_BASIS_NETWORKS:
        notes.append(
            f"reach is not available on {network}: it counts no impressions, so only likes are predicted "
            "(with their interval)"
        )
    elif not reach_available:
        notes.append(
            "reach is not predicted: no version of reach_model has passed its checks (beats the baseline) yet, "
            "so only likes are predicted (with their interval); retrain once more posts have settled"
        )
    likes = int(max(0, round(float(predicted["likes"]))))
    reach = int(max(0, round(float(predicted["reach"])))) if reach_available else None
    top, contributions = _explain(models, features, targets)
    has_media = payload.media_type in ("image", "video")
    return {
        "suggested_hashtags": suggest_hashtags(payload.post_text, history),
        "suggested_description": suggest_description_for_media(payload.post_text) if has_media else None,
        "predicted_reach": reach,
        "predicted_likes": likes,
        "predicted_engagement_rate": None if reach is None else round(likes / reach, 4) if reach > 0 else 0.0,
        "explanations": {"top_features": top, "method": EXPLANATION_METHOD, "contributions": contributions},
        "prediction_intervals": {
            target: {
                "p10": int(round(float(predicted[f"{target}_p10"]))),
                "p90": int(round(float(predicted[f"{target}_p90"]))),
            }
            if target in targets
            else None
            for target in ("reach", "likes")
        },
        "network": network,
        "reach_available": reach_available,
        "model_versions": dict(model_versions),
        "features": {
            k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in features.iloc[0].items()
        },
        "notes": notes,
        "timezone": payload.timezone or DEFAULT_TIMEZONE,  # hour and day_of_week were read in it
        "prediction_id": uuid.uuid4().hex,
        "predicted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def predict_frame(models: TrainedModels, payloads: Sequence[PostPayload | dict]) -> pd.DataFrame:
    """Point predictions and intervals for many drafts in one pass (no suggestions, no explanations)."""
    validated = PAYLOADS.validate_python(payloads)
    return models.predict(feature_frame(validated))
