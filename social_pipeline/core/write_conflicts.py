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
import random
import time
from typing import Callable, Sequence, TypeVar

import duckdb

# resources/warehouse.py points this at Dagster's logger, so retries show in the run's logs; core
# itself imports no Dagster.
LOG = logging.getLogger("social_pipeline.warehouse")

T = TypeVar("T")
# Attempts in all, and the first wait; each later wait doubles, with jitter so that two losers do not
# collide again. 8 attempts wait at most ~13 s, longer than any of our transactions holds a table.
MAX_ATTEMPTS = 8
FIRST_WAIT_SECONDS = 0.05
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
    for number in range(1, max_attempts + 1):
        try:
            return attempt()
        except duckdb.Error as exc:
            if not is_write_conflict(exc):
                raise
            if number == max_attempts:
                raise WriteConflictsExhausted(
                    f"{what}: lost {max_attempts} write conflicts in a row; last: {exc}") from exc
            wait = min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * 2 ** (number - 1)) * (0.5 + random.random())
            LOG.warning(
                f"{what}: write conflict with another writer (attempt {number} of {max_attempts}); the whole "
                f"transaction runs again in {wait:.2f} s. {str(exc).splitlines()[-1]}")
            time.sleep(wait)
    raise AssertionError("unreachable")


def _rollback_if_open(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # a failed commit has already ended the transaction


def write_transaction(con: duckdb.DuckDBPyConnection, body: Callable[[duckdb.DuckDBPyConnection], T],
                      what: str, max_attempts: int = MAX_ATTEMPTS, claims: Sequence[str] | None = None) -> T:
    """`body(con)` in one transaction, committed; on a write conflict the transaction is rolled back and
    `body` runs again from the start in a new one. Returns what the committed `body` returned.

    On a lake the transaction first claims each table in `claims` (default: `what`, a table name):
    DuckLake refuses a commit only when the two transactions' writes collide, and two that only insert
    never do, so two writers that each checked "not stored yet" and inserted would both commit
    (write skew). A claim is an UPDATE of that table's row in a claims table: two writers of one table
    always collide there, and the second runs again on the first's result."""
    from social_pipeline.resources.lake import claim_tables, ensure_claim_table, is_lake_connection

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
