"""Dagster's SQLite event log with batched writes, for DAGSTER_HOME (data/dagster_home/dagster.yaml).

A backfill of a partition range records two events per asset and partition (planned,
materialized). Dagster hands such events over in batches when DAGSTER_EVENT_BATCH_SIZE is set,
but its SQLite storage still writes each one in its own connections and commits (~15-40 ms each):
`make run`'s 2,160 hourly partitions cost over a minute of bookkeeping. This storage writes a
batch in one transaction per database file. Everything else, the file layout included
($DAGSTER_HOME/history/runs, as by default), is Dagster's own SqliteEventLogStorage.
PostgreSQL (deploy/dagster.yaml) needs none of this.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_result

# Events per batch: a whole single-run backfill of make run's history in a few transactions.
EVENT_BATCH_SIZE = "5000"


# Every process whose instance uses this storage imports this module while building the instance,
# before any event: setting the variable here lets Dagster hand it batches (read at each event).
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    @classmethod
    def config_type(cls):
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        base_dir = config_value.get("base_dir")
        if not base_dir:
            if not os.environ.get("DAGSTER_HOME"):
                raise dg.DagsterInvariantViolationError(
                    "BatchedSqliteEventLogStorage keeps its files in $DAGSTER_HOME/history/runs: set DAGSTER_HOME "
                    "(the Makefile sets data/dagster_home) or give the storage a base_dir")
            base_dir = os.path.join(os.environ["DAGSTER_HOME"], "history", "runs")
        return cls(base_dir=base_dir, inst_data=inst_data)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        # Dagster batches asset events (and planned checks) only; anything else goes one by one.
        asset_events = [e for e in events if e.is_dagster_event and e.dagster_event_type in ASSET_EVENTS
                        and e.dagster_event.asset_key]
        others = [e for e in events if not any(e is a for a in asset_events)]
        by_run: dict[str, list[EventLogEntry]] = {}
        for event in asset_events:
            by_run.setdefault(event.run_id, []).append(event)
        for run_id, run_events in by_run.items():
            with self.run_connection(run_id) as conn:
                for event in run_events:
                    conn.execute(self.prepare_insert_event(event))
        if asset_events:
            with self.index_transaction() as conn:
                ids = []
                for event in asset_events:
                    with db_result(conn, self.prepare_insert_event(event)) as result:
                        ids.append(result.inserted_primary_key[0])
                self._store_asset_event_tags(conn, asset_events, ids)
                for event, event_id in zip(asset_events, ids):
                    self._store_asset_event(conn, event, event_id)
        for event in others:
            self.store_event(event)
