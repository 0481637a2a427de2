"""Each account's IANA time zone: parsing `SOCIAL_PIPELINE_ACCOUNT_TIMEZONES` and checking names.

Analytics read local day and hour in DuckDB (ICU, DST included) from `raw.accounts.timezone`;
an account without a row there is read in UTC. Every path that brings posts (a source run, the inbox,
`social-pipeline ingest`) stores the zones through `store_account_timezones`. No Dagster here.
"""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

DEFAULT_TIMEZONE = "UTC"
TIMEZONES_ENV_VAR = "SOCIAL_PIPELINE_ACCOUNT_TIMEZONES"


def check_timezone(name: str, account: str | None = None) -> str:
    """`name` when it is an IANA zone (e.g. Europe/Berlin), else a ValueError naming the account."""
    where = f" for account {account!r}" if account else ""
    try:
        zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"unknown time zone {name!r}{where}: use an IANA name such as Europe/Berlin, America/New_York or UTC"
        ) from None
    return str(name)


def parse_account_timezones(text: str | None) -> dict[str, str]:
    """`alice_data=Europe/Berlin,duckpond_eng=America/New_York` -> {account: zone}; empty -> {}."""
    zones: dict[str, str] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        account, sep, zone = (part.strip() for part in item.partition("="))
        if not sep or not account or not zone:
            raise ValueError(f"{TIMEZONES_ENV_VAR}: {item!r} is not account=Zone (e.g. alice_data=Europe/Berlin)")
        if account in zones and zones[account] != zone:
            raise ValueError(
                f"{TIMEZONES_ENV_VAR}: account {account!r} is given two zones, {zones[account]!r} and {zone!r}"
            )
        zones[account] = check_timezone(zone, account)
    return zones


def resolve_timezones(user_ids, configured: dict[str, str], defaults: dict[str, str] | None = None) -> dict[str, str]:
    """Each account's zone: the configured one, else the source's own (simulated accounts), else UTC.
    Accounts only named in the configuration (export-file users) are included."""
    defaults = defaults or {}
    return {
        user: configured.get(user) or defaults.get(user) or DEFAULT_TIMEZONE
        for user in dict.fromkeys([*user_ids, *configured])
    }


def store_account_timezones(con: duckdb.DuckDBPyConnection, zones: dict[str, str], source: str, updated_at) -> None:
    """raw.accounts: one row per account, the zone as given now (changing it re-reads the account's whole
    history in the new zone). Idempotent; the caller's transaction holds it together with its other writes."""
    if not zones:
        return
    users = list(zones)
    con.execute("DELETE FROM raw.accounts WHERE user_id IN (SELECT unnest($users))", {"users": users})
    con.execute(
        "INSERT INTO raw.accounts (user_id, timezone, source, updated_at) "
        "SELECT unnest($users), unnest($zones), $source, $updated_at",
        {"users": users, "zones": [zones[u] for u in users], "source": source, "updated_at": updated_at},
    )


def utc_to_local(times_utc, zones) -> pd.Series:
    """Naive UTC times -> naive wall-clock times, each in its zone (None: UTC); one conversion per zone."""
    import pandas as pd

    times_utc = pd.Series(pd.to_datetime(times_utc)).reset_index(drop=True)
    zones = pd.Series([z or DEFAULT_TIMEZONE for z in zones], dtype=object)
    local = times_utc.copy()
    for zone in zones.unique():
        mask = (zones == zone).to_numpy()
        local[mask] = times_utc[mask].dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
    return local
