"""Retrying writes that lost a race to another writer's commit.

A DuckLake commits optimistically: two processes that change one table at once both write, and the
second to commit is refused (`TransactionException: Failed to commit DuckLake transaction. Transaction
conflict - attempting to insert into table with index "3" - but another transaction has deleted from
it`, for instance). Its transaction is gone by then, so the whole transaction is run again, on the
snapshot the winner left: nothing of the loser is lost and nothing is written twice. DuckDB's own MVCC
reports conflicts between connections of one process the same way ("write-write conflict",
"Conflict on tuple deletion"). Any other error is no race and is raised at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TypeVar

import duckdb
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from social_pipeline.warehouse.lake import is_lake_connection

# resources/warehouse.py points this at Dagster's logger, so retries show in the run's logs; this
# module itself imports no Dagster.
LOG = logging.getLogger("social_pipeline.warehouse")

T = TypeVar("T")
# Attempts in all, and the longest first wait; each later one doubles, up to MAX_WAIT_SECONDS. 8 attempts wait
# at most ~11 s, longer than any of our transactions holds a table.
MAX_ATTEMPTS = 8
FIRST_WAIT_SECONDS = 0.1
MAX_WAIT_SECONDS = 5.0


class WriteConflictsExhausted(RuntimeError):
    """Every attempt lost its race: something writes the same table without pause."""


def is_write_conflict(exc: BaseException) -> bool:
    if not isinstance(exc, duckdb.TransactionException):
        return False
    message = str(exc).lower()
    return "conflict" in message


def retry_conflicts(attempt: Callable[[], T], what: str, max_attempts: int = MAX_ATTEMPTS) -> T:
    """Run `attempt` until it does not lose a write conflict, at most `max_attempts` times; each retry is
    logged (in a Dagster step, to its event log)."""

    def log_retry(state: RetryCallState) -> None:
        # tenacity calls this after a failed attempt, with the wait before the next one decided.
        assert state.outcome is not None and state.next_action is not None
        exc = state.outcome.exception()
        LOG.warning(
            f"{what}: write conflict with another writer (attempt {state.attempt_number} of {max_attempts}); the "
            f"whole transaction runs again in {state.next_action.sleep:.2f} s. {str(exc).splitlines()[-1]}"
        )

    # Policy for a lost commit: exponential waits with full jitter, so that two losers do not collide again.
    retrying = Retrying(
        retry=retry_if_exception(is_write_conflict),
        stop=stop_after_attempt(max_attempts),
        wait=wait_random_exponential(multiplier=FIRST_WAIT_SECONDS, max=MAX_WAIT_SECONDS),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except duckdb.Error as exc:
        if not is_write_conflict(exc):
            raise
        raise WriteConflictsExhausted(f"{what}: lost {max_attempts} write conflicts in a row; last: {exc}") from exc


def claim_tables(claims) -> list[str]:
    """The one-row tables whose UPDATE claims each named table for a transaction (write_transaction)."""
    return sorted({"ops.write_claim_" + re.sub(r"[^a-z0-9]+", "_", claim.lower()).strip("_") for claim in claims})


def ensure_claim_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A claim table with its row (two processes making one at once conflict; the loser retries and
    finds it made; a second row would only be claimed too)."""

    def make():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} (claimed_at TIMESTAMP)")
        con.execute(f"INSERT INTO {table} SELECT now()::TIMESTAMP WHERE NOT EXISTS (SELECT 1 FROM {table})")

    retry_conflicts(make, f"claim table {table}")


def _rollback_if_open(con: duckdb.DuckDBPyConnection) -> None:
    with suppress(duckdb.Error):  # a failed commit has already ended the transaction
        con.execute("ROLLBACK")


def write_transaction(
    con: duckdb.DuckDBPyConnection,
    body: Callable[[duckdb.DuckDBPyConnection], T],
    what: str,
    max_attempts: int = MAX_ATTEMPTS,
    claims: Sequence[str] | None = None,
) -> T:
    """`body(con)` in one transaction, committed; on a write conflict the transaction is rolled back and
    `body` runs again from the start in a new one. Returns what the committed `body` returned.

    On a lake the transaction first claims each table in `claims` (default: `what`, a table name):
    DuckLake refuses a commit only when the two transactions' writes collide, and two that only insert
    never do, so two writers that each checked "not stored yet" and inserted would both commit
    (write skew). A claim is an UPDATE of that table's row in a claims table: two writers of one table
    always collide there, and the second runs again on the first's result."""
    claimed = claim_tables(claims or (what,)) if is_lake_connection(con) else []

    def claim(table: str) -> None:
        try:
            con.execute(f"UPDATE {table} SET claimed_at = now()::TIMESTAMP")
        except duckdb.CatalogException:  # the first writer of this table on this lake
            _rollback_if_open(con)
            ensure_claim_table(con, table)
            con.execute("BEGIN TRANSACTION")
            con.execute(f"UPDATE {table} SET claimed_at = now()::TIMESTAMP")

    def attempt() -> T:
        con.execute("BEGIN TRANSACTION")
        try:
            for table in claimed:
                claim(table)
            result = body(con)
            con.execute("COMMIT")
        except BaseException:
            _rollback_if_open(con)
            raise
        return result

    return retry_conflicts(attempt, what, max_attempts)
