"""Delivery of early post alerts to a Slack-style webhook: a JSON POST `{"text": ...}` with a timeout
per attempt and retries by tenacity, inside a time budget so a channel that is down never holds up
the collection that found the alerts. Plain Python: no Dagster, no warehouse."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_exponential


class AlertChannelError(ValueError):
    """A channel setting that cannot work (named, never with the secret in it)."""


class DeliveryFailed(RuntimeError):
    """A message that did not get through; `retryable` when a later attempt may succeed."""

    def __init__(self, message: str, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


def check_webhook_url(url: str, variable: str = "SOCIAL_PIPELINE_ALERT_WEBHOOK_URL") -> None:
    """Refuse a URL that is not http(s) with a host. The message names the variable and the scheme,
    never the URL: a Slack webhook URL carries its token in the path."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        scheme = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise AlertChannelError(
            f"{variable} must be an http:// or https:// URL with a host (it has {scheme}"
            f"{'' if parts.hostname else ' and no host'})"
        )


def redacted_url(url: str) -> str:
    """The URL as it may appear in a log or the warehouse: scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    timeout_seconds: float = 5.0
    attempts: int = 3

    def __post_init__(self):
        check_webhook_url(self.url)

    def _post_once(self, text: str) -> None:
        body = json.dumps({"text": text}).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        where = redacted_url(self.url)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                response.read()
        except urllib.error.HTTPError as error:
            # 429 and 5xx pass; other 4xx (a revoked or wrong URL) will not, however often it is tried.
            raise DeliveryFailed(
                f"webhook {where} answered HTTP {error.code}", retryable=error.code == 429 or error.code >= 500
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise DeliveryFailed(f"webhook {where} unreachable: {reason}", retryable=True) from None

    def send(self, text: str, budget_seconds: float) -> None:
        """POST the message; retried while retryable, within `attempts`, and no attempt starts that
        could end after `budget_seconds`. Raises DeliveryFailed with the last problem."""
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(max(0.0, budget_seconds - self.timeout_seconds)),
            wait=wait_exponential(multiplier=0.5, max=4),
            retry=retry_if_exception(lambda error: isinstance(error, DeliveryFailed) and error.retryable),
            reraise=True,
        )
        retrying(self._post_once, text)


@dataclass
class DeliveryBudget:
    """The time the alerts of one run may take to deliver: past it, the rest wait for the next run."""

    seconds: float
    started: float = 0.0

    def __post_init__(self):
        self.started = time.monotonic()

    @property
    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)


def alert_text(alert: dict) -> str:
    """The message of one alert row (post_id, user_id, direction, age_hours, actual_impressions,
    expected_low, expected_high, and the post's text when known)."""
    verb = {"ahead": "is taking off", "behind": "is falling behind"}[alert["direction"]]
    text = (alert.get("text") or "").replace("\n", " ")
    quoted = f' "{text[:77]}…"' if len(text) > 80 else f' "{text}"' if text else ""
    return (
        f"Post {alert['post_id']} of {alert['user_id']}{quoted} {verb}: {int(alert['actual_impressions']):,} "
        f"impressions at {int(alert['age_hours'])} h, expected {int(round(alert['expected_low'])):,}"
        f"-{int(round(alert['expected_high'])):,}."
    )
