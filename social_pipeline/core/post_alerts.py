"""Early post alerts: young posts against what was expected of them, recorded in ops.post_alerts and
delivered through the configured channels. Plain Python over a DuckDB connection (no Dagster)."""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist

import duckdb
import pandas as pd

from . import model_registry
from .alert_delivery import DeliveryBudget, DeliveryFailed, WebhookChannel, alert_text
from .clock import utc_now
from .features import daypart, text_feature_frame
from .lifecycle import (
    ALERT_BAND_Z,
    ALERT_INTERVAL_COVERAGE_RANGE,
    ALERT_MAX_AGE_HOURS,
    ALERT_MAX_SNAPSHOT_LAG_HOURS,
    ALERT_SEND_WITHIN_HOURS,
    INTERVAL_Z,
    LIFECYCLE_AGES_HOURS,
)
from .snapshot_collections import newest_snapshot_time
from .sql_files import scalar, sql_loader

sql = sql_loader(__file__)
REACH_MODEL = "reach_model"
EXPECTATION_COLUMNS = ["post_id", "predicted_reach", "reach_p10", "reach_p90", "expectation_source"]


def publication_features(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The model features of the posts in the temp table expectation_posts(post_id), as known when
    each was published (the layout of ml.training_dataset)."""
    frame = con.execute(sql("post_publication_features")).df()
    frame = pd.concat([frame.drop(columns=["text"]), text_feature_frame(frame["text"])], axis=1)
    frame["daypart"] = daypart(frame["hour"])
    return frame


def model_expectations(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The served reach model's prediction for the posts in expectation_posts, from their features at
    publication; empty when no reach model is served (or its file is gone)."""
    row = model_registry.latest(con, REACH_MODEL, promoted_only=True)
    if row is None:
        return pd.DataFrame(columns=EXPECTATION_COLUMNS)
    try:
        model = model_registry.load(row["artifact_path"])
    except model_registry.ModelNotTrainedError:
        return pd.DataFrame(columns=EXPECTATION_COLUMNS)
    features = publication_features(con)
    if features.empty:
        return pd.DataFrame(columns=EXPECTATION_COLUMNS)
    predicted = model.predict(features)
    return pd.DataFrame(
        {
            "post_id": features["post_id"].to_numpy(),
            "predicted_reach": predicted["reach"].to_numpy(dtype=float),
            "reach_p10": predicted["reach_p10"].to_numpy(dtype=float),
            "reach_p90": predicted["reach_p90"].to_numpy(dtype=float),
            "expectation_source": f"{REACH_MODEL} {row['version']}",
            "model_version": row["version"],
        }
    )


def interval_z(con: duckdb.DuckDBPyConnection, model_versions: pd.Series) -> pd.Series:
    """How many log-unit spreads each prediction's p10-p90 spans either side, from the held-out coverage
    of the reach model version that made it (ml.model_registry): an interval that held 90 % of held-out
    posts is read as z 1.645, one that held 70 % as z 1.036. A version without a figure is read as the
    nominal 80 %; the figure is bounded to ALERT_INTERVAL_COVERAGE_RANGE (a small held-out set can show
    100 %, which would read as no spread at all)."""
    registry = con.execute(
        "SELECT version, TRY_CAST(metrics->>'interval_coverage' AS DOUBLE) AS coverage "
        "FROM ml.model_registry WHERE model_name = $name",
        {"name": REACH_MODEL},
    ).fetchall()
    low, high = ALERT_INTERVAL_COVERAGE_RANGE
    z_by_version = {
        version: NormalDist().inv_cdf(0.5 + min(max(coverage, low), high) / 2)
        for version, coverage in registry
        if coverage is not None
    }
    return model_versions.map(lambda version: z_by_version.get(version, INTERVAL_Z)).astype(float)


def record_new_alerts(
    con: duckdb.DuckDBPyConnection,
    settle_age_hours: int,
    recent_only: bool = True,
    detected_at: pd.Timestamp | None = None,
    band_z: float = ALERT_BAND_Z,
) -> int:
    """Insert the alerts the lifecycle rows now call for into ops.post_alerts, in the caller's
    transaction; returns how many. A post's expectation is its logged prediction (ml.predictions,
    newest first), else the served reach model's; either is the reach at `settle_age_hours`. The band
    reaches `band_z` spreads of the combined uncertainty either side of it (ALERT_BAND_Z: a 97.5 % band)."""
    if settle_age_hours not in LIFECYCLE_AGES_HOURS:
        raise ValueError(
            f"the prediction's age {settle_age_hours} h is none of the lifecycle ages "
            f"{LIFECYCLE_AGES_HOURS}: its curve share is unknown"
        )
    window = {"send_within_hours": ALERT_SEND_WITHIN_HOURS, "newest_snapshot_time": newest_snapshot_time(con)}
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE alert_candidates AS {sql('post_alert_candidates')}",
        {
            "alert_max_age_hours": ALERT_MAX_AGE_HOURS,
            "max_snapshot_lag_hours": ALERT_MAX_SNAPSHOT_LAG_HOURS,
            "recent_only": recent_only,
            **window,
        },
    )
    logged = con.execute(sql("post_alert_logged_predictions")).df()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE expectation_posts AS SELECT DISTINCT post_id FROM alert_candidates "
        "WHERE post_id NOT IN (SELECT post_id FROM ml.predictions WHERE post_id IS NOT NULL "
        "AND predicted_reach IS NOT NULL AND reach_p10 IS NOT NULL AND reach_p90 IS NOT NULL)"
    )
    modelled = model_expectations(con)
    columns = [*EXPECTATION_COLUMNS, "model_version"]
    frames = [frame[columns] for frame in (logged, modelled) if not frame.empty]
    expectations = pd.concat(frames, ignore_index=True) if frames else logged[columns]
    expectations["interval_z"] = interval_z(con, expectations["model_version"])
    con.register("post_expectations", expectations)
    before = int(scalar(con, "SELECT count(*) FROM ops.post_alerts"))
    con.execute(
        f"INSERT INTO ops.post_alerts BY NAME {sql('post_alerts_new')}",
        {
            "settle_age_hours": settle_age_hours,
            "share_interval_z": INTERVAL_Z,
            "band_z": band_z,
            "detected_at": detected_at or utc_now().floor("s"),
            **window,
        },
    )
    con.unregister("post_expectations")
    con.execute("DROP TABLE alert_candidates")
    con.execute("DROP TABLE expectation_posts")
    return int(scalar(con, "SELECT count(*) FROM ops.post_alerts")) - before


def undelivered_alerts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Alerts still to deliver: pending or failed, found within the send window, with the post's text."""
    return con.execute(
        "SELECT a.*, p.text FROM ops.post_alerts AS a LEFT JOIN raw.posts AS p USING (post_id) "
        "WHERE a.delivery_status IN ('pending', 'failed') "
        "AND a.snapshot_time >= $newest - $hours * INTERVAL 1 HOUR ORDER BY a.detected_at, a.post_id, a.direction",
        {"hours": ALERT_SEND_WITHIN_HOURS, "newest": newest_snapshot_time(con)},
    ).df()


def deliver(
    alerts: pd.DataFrame,
    webhook: WebhookChannel | None,
    send_email: Callable[[str, str], None] | None,
    budget_seconds: float,
) -> pd.DataFrame:
    """Try each alert on each configured channel that has not had it yet, within `budget_seconds`
    for them all; a channel that failed is not tried again in this call. Returns one row per alert:
    post_id, direction, delivery_status, last_error, webhook_sent_at, email_sent_at, sent_at."""
    budget = DeliveryBudget(budget_seconds)
    down: dict[str, str] = {}
    results = []
    for alert in alerts.to_dict("records"):
        text = alert_text(alert)
        sent = {"webhook": alert.get("webhook_sent_at"), "email": alert.get("email_sent_at")}
        channels = {
            "webhook": webhook and (lambda text=text: webhook.send(text, budget.remaining)),
            "email": send_email and (lambda text=text: send_email(f"[social_pipeline] {text[:120]}", text + "\n")),
        }
        errors = []
        for name, send in channels.items():
            if send is None or not pd.isna(sent[name]):
                continue
            if name in down or budget.remaining <= 0:
                errors.append(down.get(name) or f"{name}: not tried, the run's {budget_seconds:g} s for alerts ran out")
                continue
            try:
                send()
                sent[name] = utc_now()
            except (DeliveryFailed, OSError) as error:
                down[name] = f"{name}: {error}"
                errors.append(down[name])
        configured = [name for name, send in channels.items() if send is not None]
        done = configured and all(not pd.isna(sent[name]) for name in configured)
        results.append(
            {
                "post_id": alert["post_id"],
                "direction": alert["direction"],
                "delivery_status": "no_channel" if not configured else "sent" if done else "failed",
                "last_error": "; ".join(errors) or None,
                "webhook_sent_at": sent["webhook"],
                "email_sent_at": sent["email"],
                "sent_at": utc_now() if done else None,
            }
        )
    return pd.DataFrame(
        results,
        columns=[
            "post_id",
            "direction",
            "delivery_status",
            "last_error",
            "webhook_sent_at",
            "email_sent_at",
            "sent_at",
        ],
    )


def record_delivery(con: duckdb.DuckDBPyConnection, results: pd.DataFrame) -> None:
    """Write the outcome of deliver() onto the alerts' rows (one more attempt each)."""
    if results.empty:
        return
    frame = results.astype({c: "datetime64[ns]" for c in ("webhook_sent_at", "email_sent_at", "sent_at")})
    con.register("delivery_results", frame)
    con.execute(
        "UPDATE ops.post_alerts AS a SET delivery_status = r.delivery_status, last_error = r.last_error, "
        "webhook_sent_at = r.webhook_sent_at, email_sent_at = r.email_sent_at, sent_at = r.sent_at, "
        "delivery_attempts = a.delivery_attempts + CASE WHEN r.delivery_status = 'no_channel' THEN 0 ELSE 1 END "
        "FROM delivery_results AS r WHERE a.post_id = r.post_id AND a.direction = r.direction"
    )
    con.unregister("delivery_results")
