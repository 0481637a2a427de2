"""The environment at the deployment's edge: resource fields from the variables that are set."""

from __future__ import annotations

import os

import dagster as dg


def env_var_settings(env_vars: dict[str, str], int_fields: tuple[str, ...] = ()) -> dict:
    """{field: dg.EnvVar} for each variable that is set: an unset one keeps the field's default
    (a dg.EnvVar naming an unset variable would fail every run)."""
    return {
        field: dg.EnvVar.int(var) if field in int_fields else dg.EnvVar(var)
        for field, var in env_vars.items()
        if os.environ.get(var)
    }
