"""Which source resource a deployment binds: SOCIAL_PIPELINE_SOURCE (read in definitions.py) names one
source or a comma-separated list of them."""

from __future__ import annotations

from social_pipeline.resources.bluesky import bluesky_source_from_env
from social_pipeline.resources.composite import composite_source_from_env
from social_pipeline.resources.sources import SourceResource, simulated_source_from_env, x_api_source_from_env


def source_resource_from_env(kind: str) -> SourceResource:
    """The source resource for `kind`: `simulated`, `x_api`, `bluesky`, or a list (`x_api,bluesky`) that one
    deployment collects together."""
    kinds = [k.strip() for k in kind.split(",") if k.strip()]
    if len(kinds) > 1:
        return composite_source_from_env(kinds)
    kind = kinds[0] if kinds else kind
    builders = {
        "simulated": simulated_source_from_env,
        "x_api": x_api_source_from_env,
        "bluesky": bluesky_source_from_env,
    }
    if kind not in builders:
        raise ValueError(f"SOCIAL_PIPELINE_SOURCE={kind!r} is not a known source; use one of: {', '.join(builders)}")
    return builders[kind]()
