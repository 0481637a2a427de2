"""What the X API costs: X's pay-per-use rates, the cost of the requests made, the budget that stops a
collection, and the expected cost of tracking posts under a cadence. Plain Python: no network, no Dagster.

X bills reads per resource returned (a post, a user), not per request. Owned reads, where the app reads
its own authenticated user's data (that user's own timeline), cost less. X also deduplicates a resource
read again within the same UTC day, but only as a soft guarantee: the figures recorded here are the
list price of every resource returned, an upper bound of the bill, and the budget counts them so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import pandas as pd

from .collection import TrackingCadence

# X's published pay-per-use rates (docs.x.com, "Pricing"), USD per resource returned.
DEFAULT_POST_READ_USD = 0.005
DEFAULT_USER_READ_USD = 0.010
DEFAULT_OWNED_READ_USD = 0.001
POST_READ, USER_READ, OWNED_READ = "post_read", "user_read", "owned_read"
READ_KINDS = (POST_READ, USER_READ, OWNED_READ)

# The endpoints the collection calls, as ops.x_api_usage names them.
POST_LOOKUP = "GET /2/tweets"
USER_TIMELINE = "GET /2/users/:id/tweets"
USER_LOOKUP = "GET /2/users"
USER_ME = "GET /2/users/me"
DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class XPrices:
    """USD per resource returned, by kind of read (X_PRICE_POST_READ_USD, X_PRICE_USER_READ_USD,
    X_PRICE_OWNED_READ_USD)."""

    post_read_usd: float = DEFAULT_POST_READ_USD
    user_read_usd: float = DEFAULT_USER_READ_USD
    owned_read_usd: float = DEFAULT_OWNED_READ_USD

    def __post_init__(self):
        for name in ("post_read_usd", "user_read_usd", "owned_read_usd"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"X_PRICE_{name.upper()}={value!r}: a price must be a number of USD >= 0")

    def per_resource_usd(self, read_kind: str) -> float:
        if read_kind not in READ_KINDS:
            raise ValueError(f"unknown kind of X read {read_kind!r}; one of {', '.join(READ_KINDS)}")
        return getattr(self, f"{read_kind}_usd")


@dataclass(frozen=True)
class XRequestUsage:
    """What one request read for one account: `requests` is 0 on the further accounts of a request
    whose resources belong to several accounts, so request counts add up."""

    day: date
    endpoint: str
    read_kind: str
    user_id: str
    resources: int
    estimated_usd: float
    requests: int = 1


def usage_frame(usage: list[XRequestUsage], run_id: str) -> pd.DataFrame:
    """The rows of ops.x_api_usage for one run: one per day, endpoint, account and kind of read."""
    columns = ["day", "endpoint", "user_id", "read_kind", "run_id", "request_count", "resources", "estimated_usd"]
    if not usage:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame([u.__dict__ for u in usage]).rename(columns={"requests": "request_count"})
    frame = frame.groupby(["day", "endpoint", "user_id", "read_kind"], as_index=False)[
        ["request_count", "resources", "estimated_usd"]
    ].sum()
    return frame.assign(run_id=run_id)[columns]


@dataclass(frozen=True)
class XBudget:
    """The most X may cost per UTC day and per calendar month (None: no limit), and what other runs
    already spent in the day and month the collection runs in (from ops.x_api_usage)."""

    per_day_usd: float | None = None
    per_month_usd: float | None = None
    spent_by_others_today_usd: float = 0.0
    spent_by_others_this_month_usd: float = 0.0

    def __post_init__(self):
        for name, var in (("per_day_usd", "X_BUDGET_USD_PER_DAY"), ("per_month_usd", "X_BUDGET_USD_PER_MONTH")):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"{var}={value!r}: a budget must be a number of USD >= 0 (unset: no limit)")

    def refusal(self, spent_by_run_usd: float, next_request_usd: float, what: str) -> str | None:
        """Why the next request must not be made, or None. The run's own spending counts against both
        the day and the month (a run that crosses midnight is counted in full against the new day)."""
        limits = (
            ("X_BUDGET_USD_PER_DAY", self.per_day_usd, self.spent_by_others_today_usd, "today (UTC)"),
            ("X_BUDGET_USD_PER_MONTH", self.per_month_usd, self.spent_by_others_this_month_usd, "this month"),
        )
        for var, limit, others, period in limits:
            if limit is None:
                continue
            spent = others + spent_by_run_usd
            # A float sum must not refuse a request that lands exactly on the budget.
            if spent + next_request_usd > limit + 1e-9:
                return (
                    f"{var}=${limit:.2f} would be crossed: ${spent:.3f} spent {period} (${spent_by_run_usd:.3f} "
                    f"by this run, ${others:.3f} by earlier runs), and the next request, {what}, may cost up "
                    f"to ${next_request_usd:.3f}"
                )
        return None


# The X spend per account between two UTC days (start inclusive, end exclusive), from ops.x_api_usage.
SPEND_BY_ACCOUNT_SQL = """
    SELECT user_id, sum(estimated_usd) AS usd, sum(resources) AS resources, sum(request_count) AS requests
    FROM ops.x_api_usage
    WHERE day >= $start::DATE AND day < $end::DATE AND user_id <> ''
    GROUP BY user_id ORDER BY user_id
"""


def spend_line(spend: dict | None) -> str | None:
    """The report footer's sentence on what the account's X reads cost in the week, or None without any."""
    if not spend:
        return None
    return (
        f"X API reads of this account this week: ${spend['usd']:,.2f} estimated at list price "
        f"({int(spend['resources']):,} resources in {int(spend['requests']):,} requests)."
    )


def reads_per_post_lifetime(cadence: TrackingCadence, collections_per_day: int = 24) -> dict[str, float]:
    """How often one post is read in each phase of its tracked life (hourly, daily, weekly)."""
    weekly_days = (cadence.max_days - cadence.daily_days) if cadence.max_days is not None else 0
    return {
        "hourly": cadence.hourly_days * collections_per_day,
        "daily": cadence.daily_days - cadence.hourly_days,
        "weekly": max(weekly_days, 0) / 7,
    }


def expected_daily_cost(
    accounts: pd.DataFrame,
    cadence: TrackingCadence,
    prices: XPrices,
    owned_user_id: str | None,
    collections_per_day: int = 24,
) -> pd.DataFrame:
    """Expected reads and USD per day and per month (30 days), per account and endpoint, for an account
    posting steadily at its rate: one row per account and endpoint.

    `accounts` has user_id, posts_per_day and weekly_tracked_posts (posts past the daily phase and still
    tracked: for an unlimited X_TRACK_MAX_DAYS the ones stored now, a number that only grows). The
    authenticated account (`owned_user_id`) reads its posts of the hourly phase and its new posts through
    its own timeline (owned reads); the rest are post lookups. Each collection also reads the accounts'
    follower figures (one user read per account) and, with user context, the authenticated user.
    """
    rows = []
    lifetime = reads_per_post_lifetime(cadence, collections_per_day)
    # Any: pandas-stubs type every field of a row as any scalar; these are the columns named above.
    for account in cast(Iterable[Any], accounts.itertuples(index=False)):
        rate = float(account.posts_per_day)
        owned = owned_user_id is not None and account.user_id == owned_user_id
        if cadence.max_days is not None:
            weekly_posts = rate * max(cadence.max_days - cadence.daily_days, 0)
        else:
            weekly_posts = float(account.weekly_tracked_posts)
        hourly_reads = rate * lifetime["hourly"]
        lookup_reads = rate * lifetime["daily"] + weekly_posts / 7 + (0 if owned else hourly_reads)
        timeline_kind = OWNED_READ if owned else POST_READ
        reads = [
            (POST_LOOKUP, POST_READ, lookup_reads),
            (USER_TIMELINE, timeline_kind, rate + (hourly_reads if owned else 0)),
            (USER_LOOKUP, USER_READ, 2 * collections_per_day),
        ]
        if owned:
            reads.append((USER_ME, USER_READ, collections_per_day))
        for endpoint, kind, per_day in reads:
            usd = per_day * prices.per_resource_usd(kind)
            rows.append(
                {
                    "user_id": account.user_id,
                    "endpoint": endpoint,
                    "read_kind": kind,
                    "reads_per_day": per_day,
                    "usd_per_day": usd,
                    "usd_per_month": usd * DAYS_PER_MONTH,
                }
            )
    return pd.DataFrame(
        rows, columns=["user_id", "endpoint", "read_kind", "reads_per_day", "usd_per_day", "usd_per_month"]
    )
