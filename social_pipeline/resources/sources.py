"""Where posts and metrics come from: one protocol, several implementations.

Every source answers the same four questions, in bulk (never one call per post):
posts published in a window, cumulative metrics for many posts at once, account
figures (followers), and profile activity. Frames come back with the column names of
the raw tables in `core/schema.py`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import dagster as dg
import pandas as pd
from pydantic import Field, PrivateAttr

from ..core.metrics import COUNT_COLUMNS
from ..core.simulation import Simulation, metrics_payload_json
from ..core.timezones import TIMEZONES_ENV_VAR, parse_account_timezones, resolve_timezones
from .env import env_settings, env_var_settings
from ..core.clock import naive_utc

POST_COLUMNS = ["post_id", "user_id", "text", "content_type", "media_type", "num_media_items",
                "published_at", "published_time_known"]
METRIC_COLUMNS = ["post_id", "collected_at", *COUNT_COLUMNS, "status", "payload"]
ACCOUNT_COLUMNS = ["user_id", "collected_at", "followers", "following", "post_count"]
PROFILE_COLUMNS = ["user_id", "platform", "snapshot_date", "profile_views", "connections_new",
                   "connection_requests", "search_appearances", "inmails_received", "recruiter_messages",
                   "profile_saves", "conversations_started", "interviews_scheduled"]
# X answers in well under a second; a connection silent for longer than this is dead, not slow.
DEFAULT_X_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_X_READ_TIMEOUT_SECONDS = 30.0
DEFAULT_X_MAX_RETRIES = 4  # per call, after a 429, 5xx or network error


DEFAULT_NETWORK = "x"  # the warehouse's default too: rows from before networks were named are X's


def with_network(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a network on every row: a source that names none (X, the simulated X accounts) is X."""
    if "network" not in frame.columns:
        return frame.assign(network=DEFAULT_NETWORK)
    return frame.assign(network=frame["network"].fillna(DEFAULT_NETWORK))


@dataclass
class MetricsBatch:
    """Metrics for many posts plus what fetching them cost."""

    frame: pd.DataFrame  # METRIC_COLUMNS
    requests_made: int = 0
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class PostSource(Protocol):
    name: str
    # False for live APIs: they only know "now", so an old partition cannot be re-collected.
    can_backfill: bool

    def user_ids(self) -> list[str]: ...

    def fetch_posts(self, user_ids: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame: ...

    def fetch_metrics(self, requests: pd.DataFrame) -> MetricsBatch:
        """`requests` has post_id and collected_at; a live source gets one collected_at (now)."""
        ...

    def fetch_account_figures(self, user_ids: list[str], collected_at: list[pd.Timestamp]) -> pd.DataFrame: ...

    def fetch_profile_activity(self, user_ids: list[str], days: list[pd.Timestamp]) -> pd.DataFrame: ...


class SimulatedSource:
    """The embedded default: deterministic accounts, no credentials, no network."""

    name = "simulated"
    can_backfill = True

    def __init__(self, seed: int = 42, num_accounts: int = 4):
        from ..core.simulation import DEFAULT_ACCOUNTS

        if not 1 <= num_accounts <= len(DEFAULT_ACCOUNTS):
            raise ValueError(f"num_accounts must be 1..{len(DEFAULT_ACCOUNTS)}, got {num_accounts}")
        self.simulation = Simulation(seed=seed, accounts=DEFAULT_ACCOUNTS[:num_accounts])

    def user_ids(self) -> list[str]:
        return self.simulation.user_ids

    def default_timezones(self) -> dict[str, str]:
        """The simulated accounts live in different zones (their rhythm follows their clock)."""
        return {a.user_id: a.timezone for a in self.simulation.accounts}

    def fetch_posts(self, user_ids, start, end) -> pd.DataFrame:
        posts = self.simulation.posts_between(start, end, user_ids)
        posts = posts.assign(published_time_known=True)
        return posts[[*POST_COLUMNS, "network"]].reset_index(drop=True)

    def fetch_metrics(self, requests: pd.DataFrame) -> MetricsBatch:
        frame = self.simulation.metrics_at(requests["post_id"], requests["collected_at"])
        frame["collected_at"] = pd.to_datetime(requests["collected_at"]).to_numpy()
        frame["payload"] = metrics_payload_json(frame)
        # What a batched API would have cost: 100 ids per request, per collection time.
        per_collection = requests.groupby("collected_at").size()
        requests_made = int(((per_collection + 99) // 100).sum())
        return MetricsBatch(frame=frame[[*METRIC_COLUMNS, "network"]], requests_made=requests_made)

    def fetch_account_figures(self, user_ids, collected_at) -> pd.DataFrame:
        times = pd.to_datetime(pd.Series(collected_at))
        frames = []
        for user_id in user_ids:
            followers = self.simulation.followers(user_id, times)
            frames.append(pd.DataFrame({
                "user_id": user_id,
                "collected_at": times.to_numpy(),
                "followers": followers,
                "following": 300 + followers // 40,
                "post_count": pd.NA,
                "network": self.simulation.account(user_id).network,
            }))
        if not frames:
            return pd.DataFrame(columns=ACCOUNT_COLUMNS)
        return pd.concat(frames, ignore_index=True)[[*ACCOUNT_COLUMNS, "network"]]

    def fetch_profile_activity(self, user_ids, days) -> pd.DataFrame:
        # Profile activity (views, InMails) is the X and LinkedIn accounts' figure; Bluesky has none.
        rows = [self.simulation.profile_activity(u, d) for u in user_ids for d in days
                if self.simulation.account(u).network == "x"]
        return pd.DataFrame(rows, columns=PROFILE_COLUMNS)


class SourceResource(dg.ConfigurableResource):
    """What every source resource shares; a deployment binds one of its kinds under the key "source"
    (SimulatedSourceResource or XApiSourceResource, chosen in definitions.py)."""

    history_days: int = Field(default=90, description="How far back a first run fetches posts and figures")
    account_timezones: str | None = Field(
        default=None, description=f"{TIMEZONES_ENV_VAR}: comma-separated account=IANA zone pairs "
        "(alice_data=Europe/Berlin,duckpond_eng=America/New_York); best times, reports and model hours are "
        "read in that zone. Default: UTC (the simulated accounts bring their own zones)")

    def setup_for_execution(self, context) -> None:
        # An unknown zone fails the run at start, naming the account, not halfway through a report.
        self.configured_timezones()

    def configured_timezones(self) -> dict[str, str]:
        try:
            return parse_account_timezones(self.account_timezones)
        except ValueError as exc:
            raise dg.Failure(description=str(exc)) from None

    def timezones(self, source: PostSource, user_ids: list[str]) -> dict[str, str]:
        """Each account's zone (core/timezones.py resolve_timezones), the configured accounts included."""
        defaults = source.default_timezones() if hasattr(source, "default_timezones") else {}
        return resolve_timezones(user_ids, self.configured_timezones(), defaults)

    def get_source(self) -> PostSource:
        raise NotImplementedError(f"{type(self).__name__} names no source: bind SimulatedSourceResource or "
                                  "XApiSourceResource")

    def now(self) -> pd.Timestamp:
        """Naive UTC."""
        return pd.Timestamp.now("UTC").tz_localize(None)


class SimulatedSourceResource(SourceResource):
    """The embedded default (`SOCIAL_PIPELINE_SOURCE=simulated`): deterministic accounts, no credentials."""

    sim_seed: int = Field(default=42, description="Seed of the simulated accounts")
    sim_accounts: int = Field(default=4, description="How many simulated accounts (1-4): three on X, the fourth "
                              "on Bluesky (no impressions)")
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
    x_usernames: str | None = Field(default=None, description="X_USERNAMES: comma-separated handles to collect "
                                    "(default: the authenticated account)")
    x_user_ids: str | None = Field(default=None, description="X_USER_IDS: comma-separated numeric account ids")
    x_connect_timeout_seconds: float = Field(default=DEFAULT_X_CONNECT_TIMEOUT_SECONDS, gt=0,
                                             description="X_CONNECT_TIMEOUT_SECONDS: per attempt, to open a "
                                             "connection to the X API")
    x_read_timeout_seconds: float = Field(default=DEFAULT_X_READ_TIMEOUT_SECONDS, gt=0,
                                          description="X_READ_TIMEOUT_SECONDS: per attempt, the longest silence "
                                          "while waiting for the X API's answer")
    x_max_retries: int = Field(default=DEFAULT_X_MAX_RETRIES, ge=0, description="X_MAX_RETRIES: retries of one "
                               "X API call after a 429, 5xx or network error (exponential backoff 2 s, 4 s, ...)")
    x_api_base_url: str | None = Field(default=None, description="X_API_BASE_URL: another host for the X API "
                                       "(https://api.x.com, a gateway). Default: tweepy's https://api.twitter.com")
    _x_source: object = PrivateAttr(default=None)

    def get_source(self) -> PostSource:
        # One client per run: account look-ups are paid requests, made once.
        if self._x_source is not None:
            return self._x_source
        from .x_api import XApiError, XApiSource, XCredentials

        credentials = XCredentials(self.x_bearer_token, self.x_consumer_key, self.x_consumer_secret,
                                   self.x_access_token, self.x_access_token_secret)
        try:
            self._x_source = XApiSource(
                credentials, usernames=self.x_usernames, user_ids=self.x_user_ids, max_retries=self.x_max_retries,
                connect_timeout_seconds=self.x_connect_timeout_seconds,
                read_timeout_seconds=self.x_read_timeout_seconds, api_base_url=self.x_api_base_url)
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
}


def _shared_source_settings() -> dict:
    settings: dict = {}
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
    return XApiSourceResource(**{
        **_shared_source_settings(),
        **env_var_settings({**X_SECRET_ENV_VARS, **X_SETTING_ENV_VARS}, int_fields=("x_max_retries",)),
        **env_settings(X_FLOAT_ENV_VARS),
        **overrides,
    })


def source_resource_from_env(kind: str) -> SourceResource:
    """The source resource a deployment binds for `kind` (SOCIAL_PIPELINE_SOURCE, read in definitions.py)."""
    from .bluesky import bluesky_source_from_env
    from .composite import composite_source_from_env

    kinds = [k.strip() for k in kind.split(",") if k.strip()]
    if len(kinds) > 1:  # x_api,bluesky: one deployment collects both networks
        return composite_source_from_env(kinds)
    kind = kinds[0] if kinds else kind
    builders = {"simulated": simulated_source_from_env, "x_api": x_api_source_from_env,
                "bluesky": bluesky_source_from_env}
    if kind not in builders:
        raise ValueError(f"SOCIAL_PIPELINE_SOURCE={kind!r} is not a known source; use one of: {', '.join(builders)}")
    return builders[kind]()
