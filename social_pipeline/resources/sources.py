"""The sources as Dagster resources: thin wrappers over social_pipeline/sources/ (the simulated source and
the X API client), configured from the environment as `dg.EnvVar`. A deployment binds one under "source"."""

from __future__ import annotations

import os

import dagster as dg
import pandas as pd
from pydantic import Field, PrivateAttr

from social_pipeline.core.clock import naive_utc
from social_pipeline.core.collection import DAILY_UNTIL_DAYS, HOURLY_UNTIL_DAYS, TrackingCadence
from social_pipeline.core.timezones import TIMEZONES_ENV_VAR, parse_account_timezones, resolve_timezones
from social_pipeline.core.x_cost import (
    DEFAULT_OWNED_READ_USD,
    DEFAULT_POST_READ_USD,
    DEFAULT_USER_READ_USD,
    XBudget,
    XPrices,
)
from social_pipeline.resources.env import env_var_settings
from social_pipeline.sources.protocol import (
    DEFAULT_X_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_X_MAX_RETRIES,
    DEFAULT_X_READ_TIMEOUT_SECONDS,
    TRACKING_ENV_VARS,
    X_BUDGET_ENV_VARS,
    X_PRICE_ENV_VARS,
    PostSource,
)
from social_pipeline.sources.simulated import SimulatedSource
from social_pipeline.warehouse.file_stores import env_settings


class SourceResource(dg.ConfigurableResource):
    """What every source resource shares; a deployment binds one of its kinds under the key "source"
    (SimulatedSourceResource or XApiSourceResource, chosen in definitions.py)."""

    history_days: int = Field(default=90, description="How far back a first run fetches posts and figures")
    account_timezones: str | None = Field(
        default=None,
        description=f"{TIMEZONES_ENV_VAR}: comma-separated account=IANA zone pairs "
        "(alice_data=Europe/Berlin,duckpond_eng=America/New_York); best times, reports and model hours are "
        "read in that zone. Default: UTC (the simulated accounts bring their own zones)",
    )

    x_track_hourly_days: int = Field(
        default=HOURLY_UNTIL_DAYS,
        ge=0,
        description="X_TRACK_HOURLY_DAYS: a post's metrics are collected every hour until it is this many days old",
    )
    x_track_daily_days: int = Field(
        default=DAILY_UNTIL_DAYS,
        ge=0,
        description="X_TRACK_DAILY_DAYS: then daily (00:00 UTC) until this age, then weekly (Mondays 00:00 UTC)",
    )
    x_track_max_days: int | None = Field(
        default=None,
        ge=0,
        description="X_TRACK_MAX_DAYS: no collection after this age. Unset: weekly for as long as the post exists",
    )

    def setup_for_execution(self, context) -> None:
        # An unknown zone or a wrong cadence fails the run at start, naming the setting.
        self.configured_timezones()
        self.cadence()

    def cadence(self) -> TrackingCadence:
        try:
            return TrackingCadence(self.x_track_hourly_days, self.x_track_daily_days, self.x_track_max_days)
        except ValueError as exc:
            raise dg.Failure(description=str(exc)) from None

    def configured_timezones(self) -> dict[str, str]:
        try:
            return parse_account_timezones(self.account_timezones)
        except ValueError as exc:
            raise dg.Failure(description=str(exc)) from None

    def timezones(self, source: PostSource, user_ids: list[str]) -> dict[str, str]:
        """Each account's zone (core/timezones.py resolve_timezones), the configured accounts included."""
        # Only some sources know their accounts' zones.
        default_timezones = getattr(source, "default_timezones", None)
        defaults = default_timezones() if default_timezones is not None else {}
        return resolve_timezones(user_ids, self.configured_timezones(), defaults)

    def get_source(self) -> PostSource:
        raise NotImplementedError(
            f"{type(self).__name__} names no source: bind SimulatedSourceResource or XApiSourceResource"
        )

    def now(self) -> pd.Timestamp:
        """Naive UTC."""
        return pd.Timestamp.now("UTC").tz_localize(None)


class SimulatedSourceResource(SourceResource):
    """The embedded default (`SOCIAL_PIPELINE_SOURCE=simulated`): deterministic accounts, no credentials."""

    sim_seed: int = Field(default=42, description="Seed of the simulated accounts")
    sim_accounts: int = Field(
        default=4, description="How many simulated accounts (1-4): three on X, the fourth on Bluesky (no impressions)"
    )
    clock: str | None = Field(
        default=None,
        description="The time the simulated source takes as now (ISO 8601, UTC). Default: the wall clock.",
    )

    def get_source(self) -> PostSource:
        return SimulatedSource(seed=self.sim_seed, num_accounts=self.sim_accounts)

    def now(self) -> pd.Timestamp:
        """Naive UTC. A fixed clock only makes sense for a source that can backfill."""
        if self.clock:
            return naive_utc(self.clock)
        return super().now()


class XApiSourceResource(SourceResource):
    """The X API v2 through tweepy (`SOCIAL_PIPELINE_SOURCE=x_api`). Secrets arrive as dg.EnvVar (see
    `x_api_source_from_env`); repr=False keeps resolved values out of reprs, and nothing else here logs
    or stores them."""

    x_bearer_token: str | None = Field(default=None, repr=False, description="X_BEARER_TOKEN")
    x_consumer_key: str | None = Field(default=None, repr=False, description="X_CONSUMER_KEY")
    x_consumer_secret: str | None = Field(default=None, repr=False, description="X_CONSUMER_SECRET")
    x_access_token: str | None = Field(default=None, repr=False, description="X_ACCESS_TOKEN")
    x_access_token_secret: str | None = Field(default=None, repr=False, description="X_ACCESS_TOKEN_SECRET")
    x_usernames: str | None = Field(
        default=None, description="X_USERNAMES: comma-separated handles to collect (default: the authenticated account)"
    )
    x_user_ids: str | None = Field(default=None, description="X_USER_IDS: comma-separated numeric account ids")
    x_connect_timeout_seconds: float = Field(
        default=DEFAULT_X_CONNECT_TIMEOUT_SECONDS,
        gt=0,
        description="X_CONNECT_TIMEOUT_SECONDS: per attempt, to open a connection to the X API",
    )
    x_read_timeout_seconds: float = Field(
        default=DEFAULT_X_READ_TIMEOUT_SECONDS,
        gt=0,
        description="X_READ_TIMEOUT_SECONDS: per attempt, the longest silence while waiting for the X API's answer",
    )
    x_max_retries: int = Field(
        default=DEFAULT_X_MAX_RETRIES,
        ge=0,
        description="X_MAX_RETRIES: retries of one "
        "X API call after a 429, 5xx or network error (exponential backoff 2 s, 4 s, ...)",
    )
    x_api_base_url: str | None = Field(
        default=None,
        description="X_API_BASE_URL: another host for the X API "
        "(https://api.x.com, a gateway). Default: tweepy's https://api.twitter.com",
    )
    x_price_post_read_usd: float = Field(
        default=DEFAULT_POST_READ_USD,
        ge=0,
        description="X_PRICE_POST_READ_USD: USD per post a lookup or another account's timeline returns",
    )
    x_price_user_read_usd: float = Field(
        default=DEFAULT_USER_READ_USD,
        ge=0,
        description="X_PRICE_USER_READ_USD: USD per user returned (follower figures, account look-ups)",
    )
    x_price_owned_read_usd: float = Field(
        default=DEFAULT_OWNED_READ_USD,
        ge=0,
        description="X_PRICE_OWNED_READ_USD: USD per resource of the authenticated account's own data (its timeline)",
    )
    x_budget_usd_per_day: float | None = Field(
        default=None,
        ge=0,
        description="X_BUDGET_USD_PER_DAY: the most the X reads of one UTC day may cost; unset: no limit",
    )
    x_budget_usd_per_month: float | None = Field(
        default=None,
        ge=0,
        description="X_BUDGET_USD_PER_MONTH: the most "
        "the X reads of one calendar month (UTC) may cost; unset: no limit",
    )
    _x_source: PostSource | None = PrivateAttr(default=None)

    def prices(self) -> XPrices:
        return XPrices(self.x_price_post_read_usd, self.x_price_user_read_usd, self.x_price_owned_read_usd)

    def budget(self, spent_by_others_today_usd: float = 0.0, spent_by_others_this_month_usd: float = 0.0) -> XBudget:
        return XBudget(
            self.x_budget_usd_per_day,
            self.x_budget_usd_per_month,
            spent_by_others_today_usd,
            spent_by_others_this_month_usd,
        )

    def get_source(self) -> PostSource:
        # One client per run: account look-ups are paid requests, made once.
        if self._x_source is not None:
            return self._x_source
        # Imported here: tweepy costs the code location's load about a second, and most deployments never use it.
        from social_pipeline.sources.x_api import XApiError, XApiSource, XCredentials

        credentials = XCredentials(
            self.x_bearer_token,
            self.x_consumer_key,
            self.x_consumer_secret,
            self.x_access_token,
            self.x_access_token_secret,
        )
        try:
            self._x_source = XApiSource(
                credentials,
                usernames=self.x_usernames,
                user_ids=self.x_user_ids,
                max_retries=self.x_max_retries,
                connect_timeout_seconds=self.x_connect_timeout_seconds,
                read_timeout_seconds=self.x_read_timeout_seconds,
                api_base_url=self.x_api_base_url,
                prices=self.prices(),
                budget=self.budget(),
                owned_timeline_days=self.cadence().hourly_days,
            )
            return self._x_source
        except XApiError as exc:
            raise dg.Failure(description=f"SOCIAL_PIPELINE_SOURCE=x_api: {exc}") from None


X_SECRET_ENV_VARS = {
    "x_bearer_token": "X_BEARER_TOKEN",
    "x_consumer_key": "X_CONSUMER_KEY",
    "x_consumer_secret": "X_CONSUMER_SECRET",
    "x_access_token": "X_ACCESS_TOKEN",
    "x_access_token_secret": "X_ACCESS_TOKEN_SECRET",
}


X_SETTING_ENV_VARS = {
    "x_usernames": "X_USERNAMES",
    "x_user_ids": "X_USER_IDS",
    "x_max_retries": "X_MAX_RETRIES",
    "x_api_base_url": "X_API_BASE_URL",
}
# dg.EnvVar holds strings and ints only: these are read as the code location loads.
X_FLOAT_ENV_VARS = {
    "x_connect_timeout_seconds": "X_CONNECT_TIMEOUT_SECONDS",
    "x_read_timeout_seconds": "X_READ_TIMEOUT_SECONDS",
    **X_PRICE_ENV_VARS,
    **X_BUDGET_ENV_VARS,
}


def _shared_source_settings() -> dict:
    settings: dict = env_var_settings(TRACKING_ENV_VARS, int_fields=tuple(TRACKING_ENV_VARS))
    if os.environ.get(TIMEZONES_ENV_VAR):
        parse_account_timezones(os.environ[TIMEZONES_ENV_VAR])  # a wrong zone stops the code location loading
        settings["account_timezones"] = dg.EnvVar(TIMEZONES_ENV_VAR)
    return settings


def simulated_source_from_env(**overrides) -> SimulatedSourceResource:
    """The simulated source with the environment's account zones (a dg.EnvVar)."""
    return SimulatedSourceResource(**{**_shared_source_settings(), **overrides})


def x_api_source_from_env(**overrides) -> XApiSourceResource:
    """The X API source. Credentials are dg.EnvVar references, and only for variables that are set,
    so a deployment without them loads (and its runs fail saying which credential is missing)."""
    return XApiSourceResource(
        **{
            **_shared_source_settings(),
            **env_var_settings({**X_SECRET_ENV_VARS, **X_SETTING_ENV_VARS}, int_fields=("x_max_retries",)),
            **env_settings(X_FLOAT_ENV_VARS),
            **overrides,
        }
    )
