"""The X API v2 source through tweepy: batched, bounded retries, credentials kept out of sight.

Cost is per request, so every read is batched: `get_tweets` takes 100 ids per call (250
posts = 3 requests), the account's own timeline is read with `get_users_tweets` pages of
100 (X bills owned reads cheaper), and follower counts come from one `get_users` call.

tweepy's `wait_on_rate_limit=True` sleeps and recurses forever when the reset header is
missing and cannot tell a monthly usage cap from a 15-minute window, so it stays off: we
catch `TooManyRequests` and decide ourselves (see `XApiSource._call`).

tweepy sends every request without a timeout, so a silent server would hang the collection
forever: `_TimeoutSession` gives each request a connect and a read timeout.

Every request that returns records what it read in `usage` (endpoint, resources, estimated USD at
`prices`); with a `budget`, a request that could cross it is not made (`XBudgetStop`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import cast

import pandas as pd
import requests
import tweepy
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from social_pipeline.core.clock import utc_now
from social_pipeline.core.metrics import COUNT_COLUMNS
from social_pipeline.core.x_cost import (
    OWNED_READ,
    POST_LOOKUP,
    POST_READ,
    USER_LOOKUP,
    USER_ME,
    USER_READ,
    USER_TIMELINE,
    XBudget,
    XPrices,
    XRequestUsage,
)
from social_pipeline.core.x_payloads import (
    NON_PUBLIC_METRICS_MAX_AGE,
    error_post_id,
    is_repost,
    metrics_from_tweet,
    post_from_tweet,
    post_response_slice,
    published_at_from_id,
    referenced_keys,
    status_from_error,
)
from social_pipeline.sources.protocol import (
    ACCOUNT_COLUMNS,
    DEFAULT_X_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_X_MAX_RETRIES,
    DEFAULT_X_READ_TIMEOUT_SECONDS,
    METRIC_COLUMNS,
    POST_COLUMNS,
    PROFILE_COLUMNS,
    MetricsBatch,
)

BATCH_SIZE = 100  # ids per get_tweets call, X's maximum
TIMELINE_PAGE_SIZE = 100  # posts per get_users_tweets page, X's maximum
TWEET_FIELDS = ["public_metrics", "created_at", "author_id"]
PRIVATE_FIELDS = ["non_public_metrics", "organic_metrics"]
TIMELINE_FIELDS = [
    "created_at",
    "public_metrics",
    "attachments",
    "entities",
    "referenced_tweets",
    "in_reply_to_user_id",
    "author_id",
]
# A reset further away than one 15-minute window plus slack is not a rate limit: it is a cap.
MAX_RATE_LIMIT_WAIT_SECONDS = 16 * 60
TWEEPY_API_HOST = "https://api.twitter.com"  # hard-coded in tweepy.Client.request
# Request errors that no retry mends: a malformed URL or header (a token ending in a line break).
NOT_SENDABLE = (
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)


class XApiError(RuntimeError):
    """The X API refused or garbled a request; the message says which and what to do."""

    # What the failed fetch had already received (and paid for), handed over with the error.
    partial_batch: MetricsBatch | None = None
    partial_posts: pd.DataFrame | None = None


class RateLimitError(XApiError):
    """The seed's name: raised when 429s persist after bounded retries."""

    def __init__(self, message: str, usage_cap_likely: bool = False, reset_at: pd.Timestamp | None = None):
        super().__init__(message)
        self.usage_cap_likely = usage_cap_likely
        self.reset_at = reset_at


class _Transient(Exception):
    """A failure a retry may mend (a 429 window, a 5xx, a network error); `wait_seconds`: until the reset."""

    def __init__(self, problem: str, wait_seconds: float | None = None):
        super().__init__(problem)
        self.problem = problem
        self.wait_seconds = wait_seconds


class XBudgetStop(XApiError):
    """The next request could cross X_BUDGET_USD_PER_DAY or X_BUDGET_USD_PER_MONTH, so it was not made."""


class XPermissionError(XApiError):
    """401/403: the credentials are wrong or lack a permission (named in the message)."""


@dataclass(frozen=True)
class XCredentials:
    bearer_token: str | None = None
    consumer_key: str | None = None
    consumer_secret: str | None = None
    access_token: str | None = None
    access_token_secret: str | None = None

    @property
    def has_user_context(self) -> bool:
        """OAuth 1.0a user context: needed for non_public/organic metrics and get_me."""
        return all((self.consumer_key, self.consumer_secret, self.access_token, self.access_token_secret))

    @property
    def usable(self) -> bool:
        return bool(self.bearer_token) or self.has_user_context

    def secrets(self) -> list[str]:
        return [
            s
            for s in (
                self.bearer_token,
                self.consumer_key,
                self.consumer_secret,
                self.access_token,
                self.access_token_secret,
            )
            if s
        ]

    def __repr__(self) -> str:  # never the values
        return (
            f"XCredentials(bearer_token={'set' if self.bearer_token else 'unset'}, oauth1_user_context="
            f"{'set' if self.has_user_context else 'unset'})"
        )

    __str__ = __repr__


class _RedactSecrets(logging.Filter):
    """tweepy logs request headers (the bearer token) at DEBUG; blank the secrets out."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


def _api_messages(exc: tweepy.HTTPException) -> str:
    messages = "; ".join(str(m) for m in exc.api_messages)
    return f" X said: {messages}" if messages else ""


def _usage_cap_reason(exc: tweepy.TooManyRequests) -> str | None:
    """Why a 429 looks like a usage cap rather than a rate-limit window, or None."""
    headers = exc.response.headers
    body = " ".join(str(m) for m in exc.api_messages)
    with suppress(ValueError):
        body += " " + json.dumps(exc.response.json())
    if "UsageCapExceeded" in body or "usage-capped" in body or "usage cap" in body.lower():
        return "X reports the usage cap of your plan is exhausted (monthly post cap)"
    for header in ("x-user-limit-24hour-remaining", "x-app-limit-24hour-remaining"):
        if headers.get(header) == "0":
            return f"the 24-hour cap is exhausted ({header}: 0)"
    return None


class _TimeoutSession(requests.Session):
    """The session tweepy sends through: a (connect, read) timeout on every request, and an
    optional other host (api.x.com, a gateway) in place of the one tweepy hard-codes."""

    def __init__(self, connect_timeout_seconds: float, read_timeout_seconds: float, base_url: str | None = None):
        super().__init__()
        self.timeout = (connect_timeout_seconds, read_timeout_seconds)
        self.base_url = base_url.rstrip("/") if base_url else None

    def request(self, method, url, *args, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.base_url and url.startswith(TWEEPY_API_HOST):
            url = self.base_url + url[len(TWEEPY_API_HOST) :]
        return super().request(method, url, *args, **kwargs)


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """An answer of a shape we did not expect becomes an XApiError naming the call, so the
    batches already fetched are handed over instead of lost to a raw KeyError."""
    try:
        yield
    except XApiError:
        raise
    except Exception as exc:
        raise XApiError(
            f"{what}: unexpected {type(exc).__name__} reading X's answer: {exc}; nothing from this call was stored."
        ) from exc


def _split(values: str | list[str] | None) -> list[str]:
    if not values:
        return []
    if isinstance(values, str):
        values = values.split(",")
    return [v.strip() for v in values if v and v.strip()]


class XApiSource:
    """`PostSource` over the X API v2. Live only: it knows "now", so it cannot backfill."""

    name = "x_api"
    can_backfill = False

    def __init__(
        self,
        credentials: XCredentials,
        usernames: str | list[str] | None = None,
        user_ids: str | list[str] | None = None,
        max_retries: int = DEFAULT_X_MAX_RETRIES,
        backoff_seconds: float = 2.0,
        backoff_cap_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], pd.Timestamp] | None = None,
        connect_timeout_seconds: float = DEFAULT_X_CONNECT_TIMEOUT_SECONDS,
        read_timeout_seconds: float = DEFAULT_X_READ_TIMEOUT_SECONDS,
        api_base_url: str | None = None,
        prices: XPrices | None = None,
        budget: XBudget | None = None,
        owned_timeline_days: float = 7,
    ):
        if not credentials.usable:
            raise XPermissionError(
                "The X API source needs X_BEARER_TOKEN, or all four OAuth 1.0a variables X_CONSUMER_KEY, "
                "X_CONSUMER_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET."
            )
        self.credentials = credentials
        self.client = tweepy.Client(
            bearer_token=credentials.bearer_token,
            consumer_key=credentials.consumer_key,
            consumer_secret=credentials.consumer_secret,
            access_token=credentials.access_token,
            access_token_secret=credentials.access_token_secret,
            wait_on_rate_limit=False,
        )
        self.client.session = _TimeoutSession(connect_timeout_seconds, read_timeout_seconds, api_base_url)
        _install_redaction(credentials.secrets())
        # Without a bearer token every call goes out under the OAuth 1.0a user context.
        self.public_user_auth = not credentials.bearer_token
        self.configured_usernames = [u.lower().lstrip("@") for u in _split(usernames)]
        self.configured_user_ids = _split(user_ids)
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.backoff_cap_seconds = backoff_cap_seconds
        self.sleep = sleep
        self.clock = clock or utc_now
        self.requests_made = 0
        self.prices = prices or XPrices()
        self.budget = budget or XBudget()
        self.usage: list[XRequestUsage] = []
        self._usage_taken = 0
        # The authenticated account's posts up to this age are read through its own timeline (owned reads).
        self.owned_timeline_max_age = pd.Timedelta(days=owned_timeline_days)
        self._accounts: dict[str, str] | None = None  # handle -> numeric id
        self._me: str | None = None
        self._me_id: str | None = None

    def __repr__(self) -> str:
        return f"XApiSource({self.credentials!r}, usernames={self.configured_usernames})"

    # ---- the request loop ------------------------------------------------------------
    def _call(self, what: str, method: Callable, user_auth: bool = False, **kwargs):
        """One API call with bounded retries: 429 waits for the reset (or backs off), 5xx and network errors
        back off; anything else is raised at once as an XApiError naming the call."""
        waited_for_reset = False

        def attempt():
            nonlocal waited_for_reset
            self.requests_made += 1
            try:
                return method(**kwargs, user_auth=user_auth)
            except tweepy.TooManyRequests as exc:
                cap = _usage_cap_reason(exc)
                reset_at = pd.Timestamp(exc.reset_time, unit="s") if exc.reset_time else None
                if cap:
                    raise RateLimitError(
                        f"{what}: HTTP 429, likely a usage cap: {cap}. Retrying will not help "
                        "before the cap resets; check the usage page of your X developer portal.",
                        usage_cap_likely=True,
                        reset_at=reset_at,
                    ) from None
                if exc.reset_time is None:
                    raise _Transient("HTTP 429 without an x-rate-limit-reset header") from None
                if waited_for_reset:
                    raise RateLimitError(
                        f"{what}: HTTP 429 again after waiting for the rate-limit reset; this "
                        "is likely a usage cap (monthly or 24-hour), not a 15-minute window.",
                        usage_cap_likely=True,
                        reset_at=reset_at,
                    ) from None
                wait = exc.reset_time - time.time() + 1
                if wait > MAX_RATE_LIMIT_WAIT_SECONDS:
                    raise RateLimitError(
                        f"{what}: HTTP 429 and the limit resets at {reset_at} UTC, "
                        f"{wait / 3600:.1f} h away: likely a usage cap rather than a "
                        "15-minute rate limit.",
                        usage_cap_likely=True,
                        reset_at=reset_at,
                    ) from None
                waited_for_reset = True
                raise _Transient(f"HTTP 429 (rate limit, reset at {reset_at} UTC)", max(wait, 1.0)) from None
            except tweepy.TwitterServerError as exc:
                raise _Transient(f"HTTP {exc.response.status_code} (X server error)") from None
            except requests.JSONDecodeError as exc:  # a RequestException too, but retrying will not mend it
                raise XApiError(
                    f"{what}: X answered with malformed JSON ({exc.msg} at char {exc.pos}); "
                    "nothing from this call was stored."
                ) from None
            except NOT_SENDABLE as exc:
                raise XApiError(
                    f"{what}: the request could not be sent ({type(exc).__name__}: "
                    f"{self._redacted(str(exc))}); check X_API_BASE_URL, and that the X_ credential "
                    "variables hold no spaces or line breaks."
                ) from None
            except requests.RequestException as exc:
                # Refused or reset connections, timeouts, a body cut short (ChunkedEncodingError).
                raise _Transient(self._network_problem(exc)) from None
            except tweepy.Unauthorized as exc:
                raise XPermissionError(
                    f"{what}: HTTP 401, X rejected the credentials. Check X_BEARER_TOKEN (or the OAuth 1.0a "
                    "variables for user-context calls) and that the app's keys were not regenerated."
                    f"{_api_messages(exc)}"
                ) from None
            except tweepy.Forbidden as exc:
                if user_auth and "non_public_metrics" in str(kwargs.get("tweet_fields", "")):
                    need = (
                        "non_public_metrics/organic_metrics need OAuth 1.0a user context of the posts' "
                        "author (X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET of "
                        "that account) and an app with Read permission"
                    )
                elif what.startswith("get_me"):
                    need = (
                        "get_me needs a user context (OAuth 1.0a variables); with only an app bearer token "
                        "set X_USERNAMES or X_USER_IDS instead"
                    )
                else:
                    need = (
                        "the app's access level or project does not include this endpoint (check the app is "
                        "attached to a project with a plan that allows it)"
                    )
                raise XPermissionError(f"{what}: HTTP 403 Forbidden: {need}.{_api_messages(exc)}") from None
            except tweepy.HTTPException as exc:
                raise XApiError(f"{what}: X refused the request: {exc}") from None
            except Exception as exc:
                # E.g. tweepy's int() of a non-integer x-rate-limit-reset, or a 200 whose body is a JSON
                # array: not transient, so no retry, but an XApiError so earlier batches survive.
                raise XApiError(
                    f"{what}: unexpected {type(exc).__name__} from the request: "
                    f"{self._redacted(str(exc))}; nothing from this call was stored."
                ) from exc

        # Policy for an X API call: only transient failures are retried, max_retries times; a 429 with a
        # reset time waits for it, anything else backs off exponentially (backoff_seconds, doubling, capped).
        backoff = wait_exponential(multiplier=self.backoff_seconds, max=self.backoff_cap_seconds)

        def wait(state: RetryCallState) -> float:
            assert state.outcome is not None  # tenacity waits after an attempt, never before
            failure = state.outcome.exception()
            assert isinstance(failure, _Transient)  # the only failure retried
            return failure.wait_seconds or backoff(state)

        retrying = Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Transient as exc:
            last_problem = exc.problem
        usage = (
            " Repeated 429s without a reset header usually mean a usage cap (monthly post cap of the "
            "plan), not a rate limit."
            if "without an x-rate-limit-reset" in last_problem
            else ""
        )
        message = f"{what}: gave up after {self.max_retries + 1} attempts, last: {last_problem}.{usage}"
        if "429" in last_problem:
            raise RateLimitError(message, usage_cap_likely=bool(usage))
        raise XApiError(message)

    def _paid_call(
        self,
        what: str,
        endpoint: str,
        read_kind: str,
        max_resources: int,
        accounts: Callable,
        method: Callable,
        user_auth: bool = False,
        **kwargs,
    ):
        """`_call` within the budget: refused before it is made if its most expensive answer (`max_resources`)
        could cross the budget; afterwards what it returned is recorded in `usage`, split over the accounts
        `accounts(response)` names ({user_id: resources})."""
        per_resource_usd = self.prices.per_resource_usd(read_kind)
        refusal = self.budget.refusal(self.spent_usd, max_resources * per_resource_usd, what)
        if refusal:
            raise XBudgetStop(f"X budget reached, {what} not requested: {refusal}.")
        response = self._call(what, method, user_auth=user_auth, **kwargs)
        with _reading(what):
            by_account = accounts(response)
        day = self.clock().date()
        for n, (user_id, resources) in enumerate(sorted(by_account.items())):
            self.usage.append(
                XRequestUsage(
                    day, endpoint, read_kind, user_id, resources, resources * per_resource_usd, requests=int(n == 0)
                )
            )
        if not by_account:
            self.usage.append(XRequestUsage(day, endpoint, read_kind, "", 0, 0.0))
        return response

    def take_usage(self) -> list[XRequestUsage]:
        """The usage recorded since the last call, for the warehouse (`spent_usd` keeps counting all of it)."""
        taken, self._usage_taken = self.usage[self._usage_taken :], len(self.usage)
        return taken

    @property
    def spent_usd(self) -> float:
        """The estimated cost of every request this source made."""
        return sum(u.estimated_usd for u in self.usage)

    def _network_problem(self, exc: requests.RequestException) -> str:
        connect_s, read_s = cast(_TimeoutSession, self.client.session).timeout  # set in __init__
        if isinstance(exc, requests.ConnectTimeout):
            return (
                f"no connection within the connect timeout of {connect_s:g} s (x_connect_timeout_seconds, "
                "X_CONNECT_TIMEOUT_SECONDS)"
            )
        if isinstance(exc, requests.ReadTimeout):
            return f"no answer within the read timeout of {read_s:g} s (x_read_timeout_seconds, X_READ_TIMEOUT_SECONDS)"
        return f"network error {type(exc).__name__}: {self._redacted(str(exc))[:300]}"

    def _redacted(self, text: str) -> str:
        """Exception texts can quote headers (requests' InvalidHeader quotes the token's value)."""
        for secret in self.credentials.secrets():
            for form in sorted({secret, secret.strip(), repr(secret)[1:-1]}, key=len, reverse=True):
                if len(form) >= 4:
                    text = text.replace(form, "***")
        return text

    # ---- accounts ---------------------------------------------------------------------
    def _resolve_accounts(self) -> dict[str, str]:
        if self._accounts is not None:
            return self._accounts
        if self.configured_usernames or self.configured_user_ids:
            asked = (
                {"usernames": self.configured_usernames}
                if self.configured_usernames
                else {"ids": self.configured_user_ids}
            )
            response = self._paid_call(
                "get_users",
                USER_LOOKUP,
                USER_READ,
                len(next(iter(asked.values()))),
                _users_read,
                self.client.get_users,
                user_auth=self.public_user_auth,
                **asked,
            )
        else:
            response = self._paid_call(
                "get_me (no X_USERNAMES or X_USER_IDS set)",
                USER_ME,
                USER_READ,
                1,
                _users_read,
                self.client.get_me,
                user_auth=self.credentials.has_user_context,
            )
            response = tweepy.Response([response.data] if response.data else [], {}, response.errors, {})
        with _reading("get_users"):
            if response.errors:
                missing = "; ".join(str(e.get("detail") or e) for e in response.errors)
                raise XApiError(f"X could not find some configured accounts: {missing}")
            self._accounts = {user.username.lower(): str(user.id) for user in response.data or []}
        return self._accounts

    def user_ids(self) -> list[str]:
        """Our user_id for X accounts is the lower-case handle: the export files know only that.
        Configured handles cost no request; numeric ids are looked up only for the timeline."""
        if self.configured_usernames:
            return sorted(self.configured_usernames)
        return sorted(self._resolve_accounts())

    def _me_handle(self) -> str | None:
        if self._me is None and self.credentials.has_user_context:
            me = self._paid_call("get_me", USER_ME, USER_READ, 1, _users_read, self.client.get_me, user_auth=True)
            with _reading("get_me"):
                self._me = me.data.username.lower() if me.data else ""
                self._me_id = str(me.data.id) if me.data else ""
        return self._me or None

    def _is_me(self, handle: str) -> bool:
        """Whether reads of `handle`'s own data are owned reads: the account is the authenticated user."""
        return self.credentials.has_user_context and handle == self._me_handle()

    # ---- metrics ----------------------------------------------------------------------
    def _private_metrics_allowed(self, requests_frame: pd.DataFrame, now: pd.Timestamp) -> pd.Series:
        """Posts for which X serves non-public metrics: user context, younger than 30 days, ours."""
        if not self.credentials.has_user_context:
            return pd.Series(False, index=requests_frame.index)
        if "published_at" in requests_frame:
            published = pd.to_datetime(requests_frame["published_at"])
        else:
            published = requests_frame["post_id"].map(published_at_from_id)
        # An hour of margin: a post turning 30 days old mid-call must not fail the whole batch.
        young = (now - pd.to_datetime(published)) < NON_PUBLIC_METRICS_MAX_AGE - pd.Timedelta(hours=1)
        young = young.fillna(False).astype(bool)
        if "user_id" in requests_frame and young.any():
            young &= requests_frame["user_id"].astype(str).str.lower() == (self._me_handle() or "")
        return young

    def fetch_metrics(self, requests: pd.DataFrame) -> MetricsBatch:
        """Cumulative metrics of the requested posts now: the authenticated account's posts younger than
        `owned_timeline_max_age` through its own timeline (owned reads, pages of 100), the rest 100 ids
        per lookup request.

        `requests` needs post_id; user_id and published_at are used when present (whose posts they are,
        who may see non-public metrics); the requested collected_at is ignored: a live API only
        knows now, which is what the rows record.
        """
        started = self.requests_made
        unique = requests.drop_duplicates("post_id").reset_index(drop=True)
        unique = unique.assign(post_id=unique["post_id"].astype(str))
        owners = (
            dict(zip(unique["post_id"], unique["user_id"].astype(str).str.lower(), strict=True))
            if "user_id" in unique
            else {}
        )
        now = self.clock()
        private = self._private_metrics_allowed(unique, now)
        rows, notes = [], []

        def batch() -> MetricsBatch:
            frame = pd.DataFrame(rows, columns=["post_id", *COUNT_COLUMNS, "status", "payload"])
            frame.insert(1, "collected_at", self.clock())
            return MetricsBatch(frame=frame[METRIC_COLUMNS], requests_made=self.requests_made - started, notes=notes)

        try:
            owned = self._owned_timeline_posts(unique, private, now)
            if owned:
                self._fetch_owned_timeline(owned, now, rows)
            looked_up = ~unique["post_id"].isin({row["post_id"] for row in rows})
            for with_private, group in ((True, unique[private & looked_up]), (False, unique[~private & looked_up])):
                ids = group["post_id"].tolist()
                for offset in range(0, len(ids), BATCH_SIZE):
                    rows.extend(self._fetch_batch(ids[offset : offset + BATCH_SIZE], with_private, notes, owners))
        except XApiError as exc:
            if isinstance(exc, XBudgetStop):
                exc.args = (f"{exc} Skipped: {len(unique) - len(rows)} of {len(unique)} posts due.",)
            # Paid-for batches that arrived before the failure are handed over, not thrown away.
            exc.partial_batch = batch()
            raise
        return batch()

    def _owned_timeline_posts(self, unique: pd.DataFrame, private: pd.Series, now: pd.Timestamp) -> dict:
        """{post_id: published_at} of the requested posts to read through the account's own timeline: the
        authenticated account's, young enough for its non-public metrics and within owned_timeline_max_age."""
        if "user_id" not in unique or not private.any():
            return {}
        published = unique["post_id"].map(published_at_from_id)
        recent = private & published.notna() & ((now - pd.to_datetime(published)) < self.owned_timeline_max_age)
        return dict(zip(unique.loc[recent, "post_id"], pd.to_datetime(published[recent]), strict=True))

    def _fetch_owned_timeline(self, owned: dict[str, pd.Timestamp], now: pd.Timestamp, rows: list[dict]) -> None:
        """Adds to `rows` the `owned` posts from the account's own timeline since the oldest of them, page by
        page (a failure keeps the pages before it). Posts the timeline does not return (deleted, protected)
        are left to the lookup, which reports why."""
        token = None
        me, what = self._me_handle() or "", f"get_users_tweets ({self._me_handle()}, own metrics)"
        params = dict(
            id=self._me_id,
            max_results=TIMELINE_PAGE_SIZE,
            tweet_fields=TWEET_FIELDS + PRIVATE_FIELDS,
            exclude=["retweets"],
            start_time=(min(owned.values()) - pd.Timedelta(seconds=1)).to_pydatetime(),
            end_time=(now - pd.Timedelta(seconds=10)).to_pydatetime(),
        )
        while True:
            page = self._paid_call(
                what,
                USER_TIMELINE,
                OWNED_READ,
                TIMELINE_PAGE_SIZE,
                lambda page: {me: _resources(page)},
                self.client.get_users_tweets,
                user_auth=True,
                **params,
                **({"pagination_token": token} if token else {}),
            )
            with _reading(what):
                for tweet in page.data or []:
                    if str(tweet.id) in owned:
                        # No meta: the page's pagination says nothing about the post, and a lookup has none.
                        payload = post_response_slice(tweet.data, {}, [], None)
                        rows.append(
                            {
                                "post_id": str(tweet.id),
                                **metrics_from_tweet(tweet.data),
                                "status": "ok",
                                "payload": json.dumps(payload, ensure_ascii=False),
                            }
                        )
                token = (page.meta or {}).get("next_token")
            if not token:
                return

    def _fetch_batch(self, ids: list[str], with_private: bool, notes: list[str], owners: dict[str, str]) -> list[dict]:
        fields = TWEET_FIELDS + (PRIVATE_FIELDS if with_private else [])
        user_auth = with_private or self.public_user_auth
        what = f"get_tweets ({len(ids)} ids)"

        def read(response) -> dict[str, int]:
            by_account: dict[str, int] = {}
            for tweet in response.data or []:
                owner = owners.get(str(tweet.id), "")
                by_account[owner] = by_account.get(owner, 0) + 1
            return by_account

        response = self._paid_call(
            what,
            POST_LOOKUP,
            POST_READ,
            len(ids),
            read,
            self.client.get_tweets,
            user_auth=user_auth,
            ids=ids,
            tweet_fields=fields,
        )
        with _reading(what):
            return self._batch_rows(response, ids, notes)

    def _batch_rows(self, response: tweepy.Response, ids: list[str], notes: list[str]) -> list[dict]:
        rows, seen = [], set()
        # Each post keeps its slice of the response: its data plus the includes/errors/meta about it.
        includes = {key: [getattr(e, "data", e) for e in entries] for key, entries in (response.includes or {}).items()}
        referenced = set()
        for tweet in response.data or []:
            seen.add(str(tweet.id))
            referenced |= referenced_keys(tweet.data)
            payload = post_response_slice(tweet.data, includes, response.errors or [], response.meta)
            rows.append(
                {
                    "post_id": str(tweet.id),
                    **metrics_from_tweet(tweet.data),
                    "status": "ok",
                    "payload": json.dumps(payload, ensure_ascii=False),
                }
            )
        # Posts in `errors` (deleted, protected) are recorded as such; the rest of the batch stands.
        for error in response.errors or []:
            post_id = error_post_id(error)
            if post_id in referenced and post_id not in ids:
                continue  # about a post one of ours references: kept in that post's payload
            if post_id is None or post_id in seen or post_id not in ids:
                notes.append(f"unattributed API error: {error}")
                continue
            seen.add(post_id)
            rows.append(
                {
                    "post_id": post_id,
                    **dict.fromkeys(COUNT_COLUMNS),
                    "status": status_from_error(error),
                    "payload": json.dumps({"errors": [error]}, ensure_ascii=False),
                }
            )
        for post_id in ids:
            if post_id not in seen:
                notes.append(f"post {post_id} was neither returned nor reported as an error")
                rows.append(
                    {"post_id": post_id, **dict.fromkeys(COUNT_COLUMNS), "status": "not_found", "payload": None}
                )
        return rows

    # ---- posts, accounts, profile ------------------------------------------------------
    def fetch_posts(self, user_ids: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Own timeline pages of 100 (owned reads), from `start` (exclusive of older posts) to `end`."""
        accounts = self._resolve_accounts()
        rows = []

        def posts() -> pd.DataFrame:
            frame = pd.DataFrame(rows, columns=POST_COLUMNS)
            return frame[frame["published_at"] > pd.Timestamp(start)].reset_index(drop=True) if len(frame) else frame

        try:
            for handle in user_ids:
                if handle not in accounts:
                    continue
                what, token = f"get_users_tweets ({handle})", None
                while True:
                    end_time = min(pd.Timestamp(end), self.clock() - pd.Timedelta(seconds=10))
                    params = dict(
                        id=accounts[handle],
                        max_results=TIMELINE_PAGE_SIZE,
                        tweet_fields=TIMELINE_FIELDS,
                        expansions=["attachments.media_keys"],
                        media_fields=["type"],
                        exclude=["retweets"],
                        start_time=pd.Timestamp(start).to_pydatetime(),
                        end_time=end_time.to_pydatetime(),
                    )
                    if token:
                        params["pagination_token"] = token
                    owned = self._is_me(handle)
                    page = self._paid_call(
                        what,
                        USER_TIMELINE,
                        OWNED_READ if owned else POST_READ,
                        TIMELINE_PAGE_SIZE,
                        lambda page, h=handle: {h: _resources(page)},
                        self.client.get_users_tweets,
                        user_auth=owned or self.public_user_auth,
                        **params,
                    )
                    with _reading(what):
                        media = {m.media_key: m.type for m in (page.includes or {}).get("media", [])}
                        # Reposts are not the account's posts (their counts are the original's), as in the exports.
                        rows.extend(
                            post_from_tweet(t.data, handle, media) for t in page.data or [] if not is_repost(t.data)
                        )
                        token = (page.meta or {}).get("next_token")
                    if not token:
                        break
        except XApiError as exc:
            # The pages that arrived before the failure are handed over, as fetch_metrics does.
            exc.partial_posts = posts()
            raise
        return posts()

    def fetch_account_figures(self, user_ids: list[str], collected_at: list[pd.Timestamp]) -> pd.DataFrame:
        """Follower counts now, one request for up to 100 accounts."""
        if not user_ids:
            return pd.DataFrame(columns=ACCOUNT_COLUMNS)
        asked = list(user_ids)[:100]
        response = self._paid_call(
            "get_users (public_metrics)",
            USER_LOOKUP,
            USER_READ,
            len(asked),
            _users_read,
            self.client.get_users,
            user_auth=self.public_user_auth,
            usernames=asked,
            user_fields=["public_metrics"],
        )
        now = self.clock()
        rows = []
        with _reading("get_users (public_metrics)"):
            for user in response.data or []:
                metrics = user.data.get("public_metrics") or {}
                rows.append(
                    {
                        "user_id": user.username.lower(),
                        "collected_at": now,
                        "followers": metrics.get("followers_count"),
                        "following": metrics.get("following_count"),
                        "post_count": _first_present(metrics, "tweet_count", "post_count"),
                    }
                )
        return pd.DataFrame(rows, columns=ACCOUNT_COLUMNS)

    def fetch_profile_activity(self, user_ids, days) -> pd.DataFrame:
        """The X API has no profile-activity figures; profile CSV files in the inbox supply them."""
        return pd.DataFrame(columns=PROFILE_COLUMNS)


def _resources(response) -> int:
    """What X bills a read for: every object returned, in `data` and in `includes` (errors are not)."""
    data = response.data
    count = len(data) if isinstance(data, list) else int(data is not None)
    return count + sum(len(entries) for entries in (response.includes or {}).values())


def _users_read(response) -> dict[str, int]:
    data = response.data if isinstance(response.data, list) else [response.data] if response.data else []
    return {user.username.lower(): 1 for user in data}


def _first_present(mapping: dict, *keys):
    return next((mapping[k] for k in keys if mapping.get(k) is not None), None)


def _install_redaction(secrets: list[str]) -> None:
    logger = logging.getLogger("tweepy.client")
    for existing in logger.filters:
        if isinstance(existing, _RedactSecrets):
            existing.secrets = sorted(set(existing.secrets) | {s for s in secrets if len(s) >= 4})
            return
    logger.addFilter(_RedactSecrets(secrets))
