"""`social_pipeline.predict(payload)`: the latest promoted models, the user's history, and the
prediction log. Used by the CLI and the HTTP API.

Serving never opens the warehouse for writing and prefers the BI copy for reading, so it never
waits for a run and never blocks one. What it reads there (the served versions, a user's level
and history) is kept until the file changes: the BI copy is replaced by a rename after each run,
and a write to the warehouse itself changes it or its WAL, so a request after that reads anew.
Every served prediction is appended as one JSON line to data/ops/predictions/<UTC day>.jsonl;
the `prediction_log` asset moves them into ml.predictions.
The log is bounded: a line holds at most MAX_LOGGED_TEXT_CHARS of any text (~11 KB per line at most)
and a day's file stops at MAX_LOG_BYTES_PER_DAY (later predictions are served but not logged, and
the server log says so), so unauthenticated requests cannot fill the disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from social_pipeline.core import model_registry
from social_pipeline.core.clock import utc_now
from social_pipeline.core.model_registry import ModelNotTrainedError
from social_pipeline.core.models import TrainedModels
from social_pipeline.core.prediction import predict_frame, predict_payload
from social_pipeline.core.prediction_request import PostPayload
from social_pipeline.core.suggestions import HashtagHistory
from social_pipeline.warehouse.connection import connect, database_path, is_local_file
from social_pipeline.warehouse.file_stores import file_stores_from_env, reader_database
from social_pipeline.warehouse.lake import redacted

MODEL_NAMES = {"reach": "reach_model", "likes": "likes_model"}
_log_lock = threading.Lock()
_log = logging.getLogger(__name__)
# 1,000 characters: over three full X posts; a longer text is logged cut, with its length and SHA-256.
MAX_LOGGED_TEXT_CHARS = 1_000
MAX_LOG_BYTES_PER_DAY = int(os.environ.get("SOCIAL_PIPELINE_PREDICTION_LOG_MAX_MB_PER_DAY") or 64) * 1024 * 1024
_full_days: set[str] = set()
# Reads of the warehouse kept per (what, database, key) with the file state they were read at.
READ_CACHE_ENTRIES = 1_024
_read_cache: OrderedDict = OrderedDict()
_read_cache_lock = threading.Lock()


def _file_state(database: str) -> tuple | None:
    """Identity and last change of a local database file and its WAL; None when it cannot be told
    (MotherDuck, a missing file): then nothing is kept."""
    if not is_local_file(database):
        return None
    try:
        main = os.stat(database)
    except OSError:
        return None
    try:
        wal = os.stat(database + ".wal")
        wal_state = (wal.st_ino, wal.st_size, wal.st_mtime_ns)
    except OSError:
        wal_state = None
    return main.st_ino, main.st_size, main.st_mtime_ns, wal_state


def _read_once(what: str, database: str, key, read):
    """`read()`, or its value from the last call with the same arguments while the file is unchanged."""
    state = _file_state(database)
    if state is None:
        return read()
    cache_key = (what, database, key)
    with _read_cache_lock:
        cached = _read_cache.get(cache_key)
        if cached is not None and cached[0] == state:
            _read_cache.move_to_end(cache_key)
            return cached[1]
    value = read()
    with _read_cache_lock:
        _read_cache[cache_key] = (state, value)
        while len(_read_cache) > READ_CACHE_ENTRIES:
            _read_cache.popitem(last=False)
    return value


def read_database(database: str | None = None) -> str:
    """The BI copy when there is one (never locked by runs), else the warehouse itself; a lake live."""
    return database or reader_database(database_path())


@lru_cache(maxsize=8)
def _load_models(
    reach_path: str | None, likes_path: str, reach_version: str | None, likes_version: str
) -> TrainedModels:
    reach = model_registry.load(reach_path) if reach_path else None
    models = TrainedModels(reach=reach, likes=model_registry.load(likes_path), n_train=0)
    for target_model in (models.reach, models.likes):
        if target_model is not None:
            target_model._background_terms()  # tables of a model saved before them: built once, here
    return models


def latest_models(database: str | None = None) -> tuple[TrainedModels, dict]:
    """The newest promoted (check-passing) reach and likes models, and their versions. Without a reach
    model to serve (none registered, as with Bluesky alone, or none that passed its checks) the likes
    model serves alone and reach is null."""
    database = read_database(database)
    if not os.path.exists(database) and not database.startswith("md:"):
        raise ModelNotTrainedError(f"no warehouse at {database}: run `make run` (or materialise the ml assets) first")
    registered, rows = _read_once("registry", database, None, lambda: _registry_rows(database))
    if rows and registered["reach"] is None and registered["likes"] is not None:
        registered, rows = {"likes": registered["likes"]}, {"likes": rows["likes"]}
    if not rows or any(row is None for row in registered.values()):
        raise ModelNotTrainedError(
            f"no registered reach and likes models in {redacted(database)}: "
            "materialise the reach_model and likes_model assets "
            "(`make run`, or the ml_training job in the Dagster UI) first"
        )
    if rows.get("reach") is None and rows.get("likes") is not None:
        rows = {"likes": rows["likes"]}
    failed = [MODEL_NAMES[t] for t, row in rows.items() if row is None]
    if failed:
        raise ModelNotTrainedError(
            f"no version of {' and '.join(failed)} in {redacted(database)} passed its checks "
            "(beats the baseline, not worse than the previous version), so none is served: "
            "see the model's asset checks in the Dagster UI, and retrain once more posts have settled"
        )
    reach = rows.get("reach")
    models = _load_models(
        reach["artifact_path"] if reach else None,
        rows["likes"]["artifact_path"],
        reach["version"] if reach else None,
        rows["likes"]["version"],
    )
    return models, {MODEL_NAMES[t]: rows[t]["version"] for t in rows}


def _registry_rows(database: str) -> tuple[dict, dict]:
    """The newest registered and the newest promoted registry row of each model ({} without a registry)."""
    with connect(database, read_only=True) as con:
        has_registry = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ml' AND table_name = 'model_registry'"
        ).fetchall()[0][0]
        if not has_registry:
            return {}, {}
        return (
            {target: model_registry.latest(con, name) for target, name in MODEL_NAMES.items()},
            {target: model_registry.latest(con, name, promoted_only=True) for target, name in MODEL_NAMES.items()},
        )


def user_levels(user_id: str | None, database: str | None = None) -> dict | None:
    """The user's mean reach and likes over their settled posts, and their followers and engagement rate as of
    the newest one, or None for an unknown user."""
    if not user_id:
        return None
    database = read_database(database)
    return _read_once("levels", database, user_id, lambda: _read_user_levels(user_id, database))


def _read_user_levels(user_id: str, database: str) -> dict | None:
    with connect(database, read_only=True) as con:
        try:
            # The account's followers and engagement rate as of its newest settled post, as training saw them.
            row = con.execute(
                "SELECT avg(reach), avg(likes), arg_max(user_followers, published_at), "
                "arg_max(user_avg_engagement_rate, published_at) "
                "FROM ml.training_dataset WHERE user_id = $u AND NOT is_synthetic",
                {"u": user_id},
            ).fetchall()[0]
        except duckdb.Error:  # no ml tables yet
            return None
    if row[1] is None:
        return None
    # A Bluesky account has likes and no reach: its level is likes alone.
    levels = (
        {"user_avg_likes": float(row[1])}
        if row[0] is None
        else {
            "user_avg_reach": float(row[0]),
            "user_avg_likes": float(row[1]),
        }
    )
    if row[2] is not None:
        levels["user_followers"] = int(row[2])
    if row[3] is not None:
        levels["user_avg_engagement_rate"] = float(row[3])
    return levels


def user_history(user_id: str | None, database: str | None = None) -> HashtagHistory | None:
    """The user's posts and engagement rates, for hashtag suggestions; None without a user or posts."""
    if not user_id:
        return None
    database = read_database(database)
    return _read_once("history", database, user_id, lambda: _read_user_history(user_id, database))


def _read_user_history(user_id: str, database: str) -> HashtagHistory | None:
    with connect(database, read_only=True) as con:
        try:
            posts = con.execute(
                "SELECT text, engagement_rate_pct FROM analytics.post_performance WHERE user_id = $u", {"u": user_id}
            ).df()
        except duckdb.Error:  # a warehouse without analytics yet: suggestions fall back to the heuristic
            return None
    return HashtagHistory.from_frame(posts) if len(posts) else None


def account_timezones(user_ids, database: str | None = None) -> dict[str, str]:
    """user_id -> the account's zone in raw.accounts; {} for unknown accounts or an older warehouse."""
    wanted = tuple(sorted({u for u in user_ids if u}))
    if not wanted:
        return {}
    database = read_database(database)
    return _read_once("timezones", database, wanted, lambda: _read_account_timezones(wanted, database))


def _read_account_timezones(wanted: tuple[str, ...], database: str) -> dict[str, str]:
    with connect(database, read_only=True) as con:
        try:
            rows = con.execute(
                "SELECT user_id, timezone FROM raw.accounts WHERE user_id IN (SELECT unnest($u))", {"u": list(wanted)}
            ).fetchall()
        except duckdb.Error:  # no raw.accounts yet: UTC
            return {}
    return dict(rows)


def account_networks(user_ids, database: str | None = None) -> dict[str, str]:
    """user_id -> the network of the account's posts and follower figures; {} for unknown accounts (or
    an id with figures on two networks, which names no one network)."""
    wanted = tuple(sorted({u for u in user_ids if u}))
    if not wanted:
        return {}
    database = read_database(database)
    return _read_once("networks", database, wanted, lambda: _read_account_networks(wanted, database))


def _read_account_networks(wanted: tuple[str, ...], database: str) -> dict[str, str]:
    with connect(database, read_only=True) as con:
        try:
            rows = con.execute(
                "SELECT user_id, any_value(network) FROM (SELECT user_id, network FROM raw.posts UNION ALL "
                "SELECT user_id, network FROM raw.account_snapshots) WHERE user_id IN (SELECT unnest($u)) "
                "GROUP BY user_id HAVING count(DISTINCT network) = 1",
                {"u": list(wanted)},
            ).fetchall()
        except duckdb.Error:  # no raw tables yet: the draft's own network, else X
            return {}
    return dict(rows)


class NetworkMismatchError(ValueError):
    """A draft names a network other than its account's."""


def with_account_networks(payloads: list[PostPayload], database: str | None = None) -> list[PostPayload]:
    """A payload without `network` but with a known user_id is for the account's network; one that names
    another network than its account's is refused (NetworkMismatchError)."""
    networks = account_networks([p.user_id for p in payloads], database)
    for p in payloads:
        if p.network is not None and p.user_id in networks and networks[p.user_id] != p.network:
            raise NetworkMismatchError(
                f"network {p.network!r} does not match account {p.user_id!r}, whose posts are on "
                f"{networks[p.user_id]!r}: leave network out or name the account's own"
            )
    return [
        p.model_copy(update={"network": networks[p.user_id]}) if p.network is None and p.user_id in networks else p
        for p in payloads
    ]


def known_account(user_id: str, database: str | None = None) -> bool | None:
    """Whether the warehouse knows `user_id` (in raw.accounts or with posts in analytics.post_performance);
    None when it cannot tell (no such tables yet)."""
    database = read_database(database)
    return _read_once("known", database, user_id, lambda: _read_known_account(user_id, database))


def _read_known_account(user_id: str, database: str) -> bool | None:
    with connect(database, read_only=True) as con:
        found = None
        for table in ("raw.accounts", "analytics.post_performance"):
            try:
                found = bool(
                    con.execute(
                        f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE user_id = $u LIMIT 1)", {"u": user_id}
                    ).fetchall()[0][0]
                )
            except duckdb.Error:  # an older or fresh warehouse without the table
                continue
            if found:
                return True
    return found


def with_account_timezones(payloads: list[PostPayload], database: str | None = None) -> list[PostPayload]:
    """A payload without `timezone` but with a known user_id is read in the account's zone."""
    zones = account_timezones([p.user_id for p in payloads if p.timezone is None], database)
    return [
        p.model_copy(update={"timezone": zones[p.user_id]}) if p.timezone is None and p.user_id in zones else p
        for p in payloads
    ]


def _bounded(value, path: str, cut: list):
    """`value` with every string cut to MAX_LOGGED_TEXT_CHARS; `cut` collects what was cut."""
    if isinstance(value, dict):
        return {k: _bounded(v, f"{path}.{k}" if path else k, cut) for k, v in value.items()}
    if isinstance(value, list):
        return [_bounded(v, f"{path}[{i}]", cut) for i, v in enumerate(value)]
    if isinstance(value, str) and len(value) > MAX_LOGGED_TEXT_CHARS:
        cut.append({"field": path, "chars": len(value), "sha256": hashlib.sha256(value.encode("utf-8")).hexdigest()})
        return value[:MAX_LOGGED_TEXT_CHARS]
    return value


def log_prediction(payload: PostPayload, response: dict) -> Path | None:
    """Append one JSON line; a line is written whole under a lock, so concurrent requests never mix.
    Texts are cut to MAX_LOGGED_TEXT_CHARS (`truncated` records each cut field's length and SHA-256);
    once the day's file holds MAX_LOG_BYTES_PER_DAY nothing more is written that day (None)."""
    day = utc_now().strftime("%Y-%m-%d")
    path = file_stores_from_env().predictions_log_path() / f"{day}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    cut: list[dict] = []
    record = {
        "request": _bounded(payload.model_dump(), "request", cut),
        "response": _bounded(response, "response", cut),
    }
    if cut:
        record["truncated"] = cut
    line = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode(
        "utf-8"
    )  # valid: no lone surrogates pass
    with _log_lock:
        size = path.stat().st_size if path.exists() else 0
        if size + len(line) > MAX_LOG_BYTES_PER_DAY:
            if day not in _full_days:
                _full_days.add(day)
                _log.warning(
                    "prediction log %s is full (%d bytes, the cap is %d): predictions are served but no "
                    "longer logged until tomorrow (UTC)",
                    path,
                    size,
                    MAX_LOG_BYTES_PER_DAY,
                )
            return None
        with path.open("ab") as handle:
            handle.write(line)
    return path


def predict(payload: PostPayload | dict, database: str | None = None, log: bool = True) -> dict:
    """The prediction notebook's contract for one draft (see core/prediction.py for the extras)."""
    if not isinstance(payload, PostPayload):
        payload = PostPayload.model_validate(payload)
    models, versions = latest_models(database)
    (zoned,) = with_account_timezones(with_account_networks([payload], database), database)
    response = predict_payload(
        models, zoned, versions, user_history(payload.user_id, database), user_levels(payload.user_id, database)
    )
    if zoned.timezone != payload.timezone:
        response["notes"].append(
            f"hour and day_of_week read in {zoned.timezone}, the time zone of account {payload.user_id!r}"
        )
    if payload.user_id and known_account(payload.user_id, database) is False:
        lost = "history, average reach and likes" + ("" if payload.timezone else " or time zone (hour read in UTC)")
        response["notes"].append(
            f"user_id {payload.user_id!r} is not an account in the warehouse: predicted "
            f"without an account's {lost}; check the handle"
        )
    if log:
        log_prediction(payload, response)
    return response


def predict_batch(payloads: list[PostPayload | dict], database: str | None = None) -> pd.DataFrame:
    """Point predictions and intervals for many drafts at once (not logged)."""
    models, _ = latest_models(database)
    validated = [p if isinstance(p, PostPayload) else PostPayload.model_validate(p) for p in payloads]
    timezoned: list[PostPayload | dict] = list(
        with_account_timezones(with_account_networks(validated, database), database)
    )
    return predict_frame(models, timezoned)
