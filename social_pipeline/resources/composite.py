"""Several sources as one (`SOCIAL_PIPELINE_SOURCE=x_api,bluesky`): each account is read by the
source that lists it, and one source failing keeps what the others fetched."""

from __future__ import annotations

from pydantic import Field

from social_pipeline.sources.composite import CompositeSource

from .bluesky import BlueskySourceResource, bluesky_source_from_env
from .sources import SourceResource, XApiSourceResource


class CompositeSourceResource(SourceResource):
    """`SOCIAL_PIPELINE_SOURCE=x_api,bluesky`: the named sources, each configured as on its own."""

    sources: str = Field(description="SOCIAL_PIPELINE_SOURCE: the comma-separated sources (x_api, bluesky)")
    x_api: XApiSourceResource
    bluesky: BlueskySourceResource

    def get_source(self) -> CompositeSource:
        chosen = {"x_api": self.x_api, "bluesky": self.bluesky}
        return CompositeSource([chosen[name].get_source() for name in self.sources.split(",")])


def composite_source_from_env(kinds: list[str], **overrides) -> CompositeSourceResource:
    from .sources import _shared_source_settings, x_api_source_from_env

    known = {"x_api", "bluesky"}
    unknown = [k for k in kinds if k not in known]
    if unknown or len(set(kinds)) != len(kinds):
        raise ValueError(
            f"SOCIAL_PIPELINE_SOURCE={','.join(kinds)!r}: a list combines each of "
            f"{', '.join(sorted(known))} at most once"
        )
    return CompositeSourceResource(
        sources=",".join(kinds),
        x_api=x_api_source_from_env(),
        bluesky=bluesky_source_from_env(),
        **{**_shared_source_settings(), **overrides},
    )
