"""post_alerts: young posts that left their expected band, recorded and sent within the collection."""

import dagster as dg

from social_pipeline.core import post_alerts as alerts
from social_pipeline.defs.analytics.lifecycle import post_lifecycle
from social_pipeline.defs.common import (
    WAREHOUSE_POOL,
    asset_labels,
    code_version,
    table_definition_metadata,
    table_metadata,
)
from social_pipeline.defs.ml.assets import SETTLE_AGE_HOURS
from social_pipeline.resources.alerts import AlertChannelsResource
from social_pipeline.resources.smtp import SmtpResource
from social_pipeline.resources.warehouse import WarehouseResource
from social_pipeline.warehouse.write_conflicts import write_transaction

DELIVERED_CHECK = "recent_alerts_delivered"


class PostAlertsConfig(dg.Config):
    # Also record crossings older than the send window (never sent): to study a loaded history.
    evaluate_all_history: bool = False


@dg.asset(
    deps=[post_lifecycle, "prediction_log", "reach_model"],
    group_name="ops",
    kinds={"duckdb", "sql"},
    pool=WAREHOUSE_POOL,
    description="Early alerts: at 1, 3, 6 and 24 h a young post's impressions are compared with what was "
    "expected of it (its logged prediction in ml.predictions, else the served reach model's from its "
    "features at publication), scaled to the age by the account's typical curve. The band combines the "
    "prediction's p10-p90 (read by its model's held-out coverage) with the spread of the curve's shares "
    "at that age and holds 97.5% of ordinary posts. "
    "Above the band is `ahead`, below `behind`; one row per post and direction in `ops.post_alerts`, "
    "sent by the webhook (SOCIAL_PIPELINE_ALERT_WEBHOOK_URL) and mail (SOCIAL_PIPELINE_SMTP_*) within the "
    "run's delivery budget. Alerts a channel did not take are retried by later runs.",
    metadata=table_definition_metadata("ops.post_alerts"),
    code_version=code_version(
        "1",
        alerts.sql("post_alert_candidates"),
        alerts.sql("post_alert_logged_predictions"),
        alerts.sql("post_publication_features"),
        alerts.sql("post_alerts_new"),
    ),
    check_specs=[
        dg.AssetCheckSpec(
            DELIVERED_CHECK,
            asset="post_alerts",
            description="Every alert of the last 24 h went out through the configured "
            "channels (warns while one is pending or failed).",
        )
    ],
    **asset_labels("data_platform", "ops", "hourly"),
)
def post_alerts(
    context: dg.AssetExecutionContext,
    config: PostAlertsConfig,
    warehouse: WarehouseResource,
    alert_channels: AlertChannelsResource,
    smtp: SmtpResource,
):
    with warehouse.get_connection() as con:
        fired = write_transaction(
            con,
            lambda con: alerts.record_new_alerts(con, SETTLE_AGE_HOURS, recent_only=not config.evaluate_all_history),
            "ops.post_alerts",
        )
        undelivered = alerts.undelivered_alerts(con)
    # The network is used with the warehouse released: a slow channel holds no lock.
    results = alerts.deliver(
        undelivered,
        alert_channels.webhook(),
        smtp.send if smtp.enabled else None,
        alert_channels.delivery_budget_seconds,
    )
    with warehouse.get_connection() as con:
        write_transaction(con, lambda con: alerts.record_delivery(con, results), "ops.post_alerts")
        meta = table_metadata(
            con,
            "ops.post_alerts",
            order_by="detected_at DESC, post_id",
            where="detected_at >= (SELECT max(detected_at) FROM ops.post_alerts)",
        )
        waiting = alerts.undelivered_alerts(con)["delivery_status"].value_counts().to_dict()
    for problem in results["last_error"].dropna().unique():
        context.log.warning(f"alert delivery: {problem}")
    meta["alerts_fired"] = dg.MetadataValue.int(fired)
    meta["alerts_sent"] = dg.MetadataValue.int(int((results["delivery_status"] == "sent").sum()))
    meta["alerts_not_sent"] = dg.MetadataValue.int(int((results["delivery_status"] == "failed").sum()))
    yield dg.MaterializeResult(metadata=meta)
    yield dg.AssetCheckResult(
        check_name=DELIVERED_CHECK,
        passed=not waiting,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"pending": int(waiting.get("pending", 0)), "failed": int(waiting.get("failed", 0))},
        description=None if not waiting else "alerts wait for a channel: see ops.post_alerts.last_error",
    )
