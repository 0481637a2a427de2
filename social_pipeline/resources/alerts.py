"""Where early post alerts go besides mail: a Slack-style webhook, configured from the environment."""

import os

import dagster as dg
from pydantic import Field

from social_pipeline.core.alert_delivery import WebhookChannel, check_webhook_url
from social_pipeline.resources.env import env_var_settings

WEBHOOK_URL_VAR = "SOCIAL_PIPELINE_ALERT_WEBHOOK_URL"


class AlertChannelsResource(dg.ConfigurableResource):
    """The webhook for early post alerts (off while `webhook_url` is empty). A URL that is not
    http(s) fails the run at its start, with the variable named and the URL (a secret) left out."""

    webhook_url: str = Field(default="", description=f"Slack-style webhook ({WEBHOOK_URL_VAR}); empty: off")
    webhook_timeout_seconds: float = Field(default=5.0, description="Timeout of one POST")
    webhook_attempts: int = Field(
        default=3, description="POSTs per message while the webhook fails (429, 5xx, unreachable)"
    )
    delivery_budget_seconds: float = Field(
        default=20.0, description="The most a run spends delivering alerts; the rest are retried by the next run"
    )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        check_webhook_url(self.webhook_url)

    def webhook(self) -> WebhookChannel | None:
        if not self.webhook_url:
            return None
        return WebhookChannel(self.webhook_url, self.webhook_timeout_seconds, self.webhook_attempts)


def alert_channels_from_env() -> AlertChannelsResource:
    """The resource with the webhook URL as a dg.EnvVar; a malformed URL is refused here, when the
    code location loads, so the mistake shows before any run."""
    check_webhook_url(os.environ.get(WEBHOOK_URL_VAR, ""))
    return AlertChannelsResource(**env_var_settings({"webhook_url": WEBHOOK_URL_VAR}))
