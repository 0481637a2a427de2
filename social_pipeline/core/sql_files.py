"""The one SQL loader: each module's queries live as `.sql` files in a `sql/` folder beside it; and
`scalar`, the one helper that runs a query for a single value."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any


def sql_loader(module_file: str) -> Callable[[str], str]:
    """`sql = sql_loader(__file__)`, then `sql("post_snapshots")` is the text of ./sql/post_snapshots.sql."""
    folder = Path(module_file).resolve().parent / "sql"

    @cache
    def sql(name: str) -> str:
        return (folder / f"{name}.sql").read_text()

    return sql


def scalar(con, query: str, params=None) -> Any:
    """First value of a query (None when it returns no row), reading the result to the end (DuckDB 2
    refuses new work on a connection while a result is unfinished). Any: a SQL value's type is the query's."""
    rows = con.execute(query, params or {}).fetchall()
    return rows[0][0] if rows else None
