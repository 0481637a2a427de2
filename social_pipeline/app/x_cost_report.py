"""`social-pipeline x-cost`: what collecting the tracked X posts is expected to cost per day and per month,
per account and per endpoint, under the configured cadence and rates, before any of it is spent."""

from __future__ import annotations

import os

import pandas as pd

from social_pipeline.core.collection import TrackingCadence
from social_pipeline.core.x_cost import XPrices, expected_daily_cost
from social_pipeline.sources.protocol import TRACKING_ENV_VARS, X_PRICE_ENV_VARS
from social_pipeline.warehouse.connection import connect

RATE_WINDOW_DAYS = 28  # an account's posting rate: its posts of the last four weeks


def cadence_and_prices_from_env() -> tuple[TrackingCadence, XPrices]:
    """The cadence and rates the collection would use (X_TRACK_*, X_PRICE_*_USD); a bad value names its variable."""

    def number(var: str, kind):
        try:
            return kind(os.environ[var])
        except ValueError:
            raise ValueError(f"{var}={os.environ[var]!r} is not a {kind.__name__}") from None

    tracking = {
        field.removeprefix("x_track_"): number(var, int)
        for field, var in TRACKING_ENV_VARS.items()
        if os.environ.get(var)
    }
    prices = {
        field.removeprefix("x_price_"): number(var, float)
        for field, var in X_PRICE_ENV_VARS.items()
        if os.environ.get(var)
    }
    return TrackingCadence(**tracking), XPrices(**prices)


def tracked_accounts(database: str, cadence: TrackingCadence, now: pd.Timestamp) -> pd.DataFrame:
    """Each account the X API collects (one with posts from it): posts per day over the last four weeks, and
    the posts past the daily phase that are still read weekly."""
    with connect(database, read_only=True) as con:
        return con.execute(
            """SELECT user_id,
                      count(*) FILTER (WHERE published_at > $now::TIMESTAMP - to_days($window)) / $window
                          AS posts_per_day,
                      count(*) FILTER (WHERE published_at <= $now::TIMESTAMP - to_days($daily_days::INTEGER)
                                         AND ($max_days::INTEGER IS NULL
                                              OR published_at > $now::TIMESTAMP - to_days($max_days::INTEGER)))
                          AS weekly_tracked_posts
               FROM raw.posts
               -- The collection reads every stored post of the accounts it collects, export files' included.
               WHERE user_id IN (SELECT user_id FROM raw.posts WHERE source = 'x_api')
               GROUP BY user_id ORDER BY user_id""",
            {"now": now, "window": RATE_WINDOW_DAYS, "daily_days": cadence.daily_days, "max_days": cadence.max_days},
        ).df()


def x_cost_table(
    accounts: pd.DataFrame, cadence: TrackingCadence, prices: XPrices, owned_user_id: str | None
) -> pd.DataFrame:
    """expected_daily_cost plus a total row per account and one for all accounts."""
    rows = expected_daily_cost(accounts, cadence, prices, owned_user_id)
    per_account = (
        rows.groupby("user_id", as_index=False, sort=False)[["reads_per_day", "usd_per_day", "usd_per_month"]]
        .sum()
        .assign(endpoint="all", read_kind="")
    )
    overall = (
        rows[["reads_per_day", "usd_per_day", "usd_per_month"]]
        .sum()
        .to_frame()
        .T.assign(user_id="all accounts", endpoint="all", read_kind="")
    )
    parts = [part for user, part in rows.groupby("user_id", sort=False)]
    table = []
    for part in parts:
        table += [part, per_account[per_account["user_id"] == part["user_id"].iloc[0]]]
    return pd.concat([*table, overall], ignore_index=True)[rows.columns]


def render(table: pd.DataFrame, cadence: TrackingCadence, prices: XPrices) -> str:
    ends = f"weekly until {cadence.max_days} days" if cadence.max_days is not None else "weekly with no end"
    lines = [
        f"Cadence: hourly until {cadence.hourly_days} days, daily until {cadence.daily_days}, {ends}. "
        f"Rates (USD per resource): post read {prices.post_read_usd:g}, user read {prices.user_read_usd:g}, "
        f"owned read {prices.owned_read_usd:g}.",
        "List prices before X's deduplication of a resource read again the same UTC day (a soft guarantee "
        "of X's that usually makes the bill lower).",
        "",
    ]
    shown = table.assign(
        reads_per_day=table["reads_per_day"].map(lambda v: f"{v:,.1f}"),
        usd_per_day=table["usd_per_day"].map(lambda v: f"{v:,.2f}"),
        usd_per_month=table["usd_per_month"].map(lambda v: f"{v:,.2f}"),
    )
    lines.append(shown.to_string(index=False))
    return "\n".join(lines)
