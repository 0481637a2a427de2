"""The Bluesky source resource (`SOCIAL_PIPELINE_SOURCE=bluesky`).

`BlueskySource` (`social_pipeline/sources/bluesky.py`) answers the source protocol with the AT Protocol
SDK's calls; `BlueskySourceResource` only configures it. Post ids are
the posts' `at://` URIs, so they can never collide with X's numeric ids.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field, PrivateAttr

from social_pipeline.sources.bluesky import (
    DEFAULT_APPVIEW_URL,
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_READ_TIMEOUT_SECONDS,
    BlueskyError,
    BlueskySettings,
    BlueskySource,
    parse_handles,
)
from social_pipeline.warehouse.file_stores import env_settings

from .env import env_var_settings
from .sources import SourceResource, _shared_source_settings


class BlueskySourceResource(SourceResource):
    """Bluesky through the AT Protocol SDK (`SOCIAL_PIPELINE_SOURCE=bluesky`). The public AppView needs no
    login; an app password (a dg.EnvVar) raises the rate limits."""

    bluesky_handles: str | None = Field(
        default=None, description="BLUESKY_HANDLES: comma-separated handles (alice.bsky.social,bob.example.com)"
    )
    bluesky_appview_url: str = Field(
        default=DEFAULT_APPVIEW_URL, description="BLUESKY_APPVIEW_URL: the AppView read without a login"
    )
    bluesky_handle: str | None = Field(
        default=None, description="BLUESKY_HANDLE: the account an app password logs in as (optional)"
    )
    bluesky_app_password: str | None = Field(
        default=None,
        repr=False,
        description="BLUESKY_APP_PASSWORD (optional; an app password, never the account password)",
    )
    bluesky_connect_timeout_seconds: float = Field(
        default=DEFAULT_CONNECT_TIMEOUT_SECONDS, gt=0, description="BLUESKY_CONNECT_TIMEOUT_SECONDS, per attempt"
    )
    bluesky_read_timeout_seconds: float = Field(
        default=DEFAULT_READ_TIMEOUT_SECONDS, gt=0, description="BLUESKY_READ_TIMEOUT_SECONDS, per attempt"
    )
    bluesky_max_attempts: int = Field(
        default=DEFAULT_MAX_ATTEMPTS,
        ge=1,
        description="BLUESKY_MAX_ATTEMPTS: tries of one call after a 429, 5xx, timeout or unreadable answer",
    )
    _bluesky_source: BlueskySource | None = PrivateAttr(default=None)

    def settings(self) -> BlueskySettings:
        return BlueskySettings(
            appview_url=self.bluesky_appview_url,
            connect_timeout_seconds=self.bluesky_connect_timeout_seconds,
            read_timeout_seconds=self.bluesky_read_timeout_seconds,
            max_attempts=self.bluesky_max_attempts,
            login_handle=self.bluesky_handle,
            app_password=self.bluesky_app_password,
        )

    def get_source(self) -> BlueskySource:
        if self._bluesky_source is None:
            try:
                handles = parse_handles(self.bluesky_handles)
                if not handles:
                    raise ValueError("BLUESKY_HANDLES is not set: name the accounts to collect")
                self._bluesky_source = BlueskySource(handles, self.settings())
            except (ValueError, BlueskyError) as exc:
                raise dg.Failure(description=f"SOCIAL_PIPELINE_SOURCE=bluesky: {exc}") from None
        return self._bluesky_source


BLUESKY_ENV_VARS = {
    "bluesky_handles": "BLUESKY_HANDLES",
    "bluesky_appview_url": "BLUESKY_APPVIEW_URL",
    "bluesky_handle": "BLUESKY_HANDLE",
    "bluesky_app_password": "BLUESKY_APP_PASSWORD",
    "bluesky_max_attempts": "BLUESKY_MAX_ATTEMPTS",
}
BLUESKY_FLOAT_ENV_VARS = {
    "bluesky_connect_timeout_seconds": "BLUESKY_CONNECT_TIMEOUT_SECONDS",
    "bluesky_read_timeout_seconds": "BLUESKY_READ_TIMEOUT_SECONDS",
}


def bluesky_source_from_env(**overrides) -> BlueskySourceResource:
    """The Bluesky source; the app password is a dg.EnvVar reference, only when it is set."""
    return BlueskySourceResource(
        **{
            **_shared_source_settings(),
            **env_var_settings(BLUESKY_ENV_VARS, int_fields=("bluesky_max_attempts",)),
            **env_settings(BLUESKY_FLOAT_ENV_VARS),
            **overrides,
        }
    )
