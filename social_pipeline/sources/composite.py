"""Several sources as one (`SOCIAL_PIPELINE_SOURCE=x_api,bluesky`): each account is read by the
source that lists it, and one source failing keeps what the others fetched."""

from __future__ import annotations

import pandas as pd

from social_pipeline.sources.protocol import METRIC_COLUMNS, POST_COLUMNS, MetricsBatch, PostSource


class SourcesFailedError(RuntimeError):
    """One or more of the sources failed; `partial_posts` / `partial_batch` hold what all of them fetched."""


class CompositeSource:
    def __init__(self, sources: list[PostSource]):
        self.sources = sources
        self.name = ",".join(s.name for s in sources)
        self.can_backfill = all(s.can_backfill for s in sources)
        self._owners: dict[str, list[str]] | None = None

    def _accounts(self) -> dict[str, list[str]]:
        if self._owners is None:
            self._owners = {s.name: s.user_ids() for s in self.sources}
        return self._owners

    def user_ids(self) -> list[str]:
        return [u for ids in self._accounts().values() for u in ids]

    def default_timezones(self) -> dict[str, str]:
        zones: dict[str, str] = {}
        for s in self.sources:
            # Only some sources know their accounts' zones.
            default_timezones = getattr(s, "default_timezones", None)
            zones.update(default_timezones() if default_timezones is not None else {})
        return zones

    def _each(self, call, user_ids: list[str], partial: str, empty) -> tuple[list, list[str]]:
        """call(source, its user ids) for every source; a failure's partial result is kept, the rest go on."""
        results, problems = [], []
        for s in self.sources:
            own = [u for u in user_ids if u in self._accounts()[s.name]]
            try:
                results.append(call(s, own))
            except Exception as exc:
                kept = getattr(exc, partial, None)
                results.append(empty if kept is None else kept)
                problems.append(f"{s.name}: {exc}")
        return results, problems

    def fetch_posts(self, user_ids, start, end) -> pd.DataFrame:
        frames, problems = self._each(
            lambda s, own: s.fetch_posts(own, start, end), user_ids, "partial_posts", pd.DataFrame(columns=POST_COLUMNS)
        )
        posts = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
        if problems:
            error = SourcesFailedError("; ".join(problems))
            error.partial_posts = posts
            raise error
        return posts

    def fetch_metrics(self, requests: pd.DataFrame) -> MetricsBatch:
        def call(s, own):
            return s.fetch_metrics(requests[requests["user_id"].isin(own)].reset_index(drop=True))

        batches, problems = self._each(
            call,
            requests["user_id"].drop_duplicates().tolist(),
            "partial_batch",
            MetricsBatch(frame=pd.DataFrame(columns=METRIC_COLUMNS)),
        )
        batch = MetricsBatch(
            frame=pd.concat([b.frame for b in batches if len(b.frame)] or [batches[0].frame], ignore_index=True),
            requests_made=sum(b.requests_made for b in batches),
            notes=[n for b in batches for n in b.notes],
        )
        if problems:
            error = SourcesFailedError("; ".join(problems))
            error.partial_batch = batch
            raise error
        return batch

    def fetch_account_figures(self, user_ids, collected_at) -> pd.DataFrame:
        frames = [
            s.fetch_account_figures([u for u in user_ids if u in self._accounts()[s.name]], collected_at)
            for s in self.sources
        ]
        return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)

    def fetch_profile_activity(self, user_ids, days) -> pd.DataFrame:
        frames = [
            s.fetch_profile_activity([u for u in user_ids if u in self._accounts()[s.name]], days) for s in self.sources
        ]
        return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
