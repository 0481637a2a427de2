"""Dagster's PostgreSQL instance storage (dagster-postgres) as deploy/dagster.yaml configures it, with
the server's port read from DAGSTER_PG_PORT, 5432 when unset. A pooler often listens elsewhere
(pgbouncer: 6432), and dagster.yaml's `{env: ...}` has no default, so the port is read here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dagster_postgres import DagsterPostgresStorage

PORT_VARIABLE = "DAGSTER_PG_PORT"
DEFAULT_PORT = 5432


def port_from_env() -> int:
    """DAGSTER_PG_PORT as a port number; DEFAULT_PORT when it is unset or empty."""
    text = os.environ.get(PORT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_PORT
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{PORT_VARIABLE}={text!r} is not a port number (1-65535); unset it for {DEFAULT_PORT}")
    return int(text)


class PostgresStorageWithPortFromEnv(DagsterPostgresStorage):
    """DagsterPostgresStorage whose `postgres_db.port` is DAGSTER_PG_PORT (default 5432)."""

    @classmethod
    def from_config_value(cls, inst_data, config_value: Mapping[str, Any]):
        postgres_db = {**config_value["postgres_db"], "port": port_from_env()}
        config = {**config_value, "postgres_db": postgres_db}
        # Dagster types this dict with a TypedDict of a private module (no public name to cast to).
        return super().from_config_value(inst_data, config)  # pyright: ignore[reportArgumentType]
