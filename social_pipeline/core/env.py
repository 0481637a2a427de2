"""Settings from the environment, read now: for entry points outside Dagster (the CLI, the HTTP API,
the seed's Python API). Inside Dagster, resources read the same variables as `dg.EnvVar`."""

from __future__ import annotations

import os


def env_settings(env_vars: dict[str, str]) -> dict:
    """{field: value} for each variable that is set, read now."""
    return {field: os.environ[var] for field, var in env_vars.items() if os.environ.get(var)}
