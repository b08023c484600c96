"""Statements that reach one set of records' rows in a table, by key or through parents.

Plain SQL that SQLite, PostgreSQL and SQL Server all take: ``IN`` lists of
``?`` parameters (at most ``key_chunk(dialect)`` per statement, within SQL
Server's 2,099-parameter limit) and nested ``IN (SELECT …)`` subqueries for
tables reached through parents (``vocab.lineage.RowPath``). No MERGE, no
dialect-only syntax.
"""

from __future__ import annotations

from xmlshred.db import sql
from xmlshred.db.dialect_types import Dialect
from xmlshred.vocab.lineage import RowPath
from xmlshred.vocab.schema import Table

KEYS_PER_STATEMENT = 1000
"""Record keys per DELETE/SELECT (well inside every dialect's parameter limit)."""


def key_chunk(dialect: Dialect) -> int:
    """How many keys one statement of this module may carry in ``dialect``."""
    return max(1, min(KEYS_PER_STATEMENT, dialect.max_params_per_statement))


def _key_filter(dialect: Dialect, schema_name: str | None, path: RowPath, key_column: str, count: int) -> str:
    """``<column> IN (…)`` selecting ``path.table``'s rows of ``count`` record keys (``?`` each)."""
    key = sql.quote(dialect, key_column, "column")
    condition = f"{key} IN {sql.placeholders(count)}"
    # Build from the keyed table down to the table's own link column.
    for index in range(len(path.hops) - 1, -1, -1):
        hop = path.hops[index]
        link = sql.quote(dialect, hop.column, "column")
        parent = sql.table_ref(dialect, schema_name, hop.parent)
        condition = f"{link} IN (SELECT {link} FROM {parent} WHERE {condition})"
    return condition


def delete_rows(dialect: Dialect, schema_name: str | None, path: RowPath, key_column: str, count: int) -> str:
    """DELETE the rows of ``path.table`` that belong to ``count`` records (one ``?`` per record key)."""
    if count < 1 or count > dialect.max_params_per_statement:
        raise ValueError(f"{count} keys do not fit one statement of {dialect.name}")
    ref = sql.table_ref(dialect, schema_name, path.table)
    return f"DELETE FROM {ref} WHERE {_key_filter(dialect, schema_name, path, key_column, count)}"


def select_rows(dialect: Dialect, schema_name: str | None, path: RowPath, table: Table, key_column: str,
                count: int) -> str:
    """SELECT the rows of ``table`` that belong to ``count`` records: every column in table order,
    then the owning record's key (read through the parents for a table without it)."""
    if count < 1 or count > dialect.max_params_per_statement:
        raise ValueError(f"{count} keys do not fit one statement of {dialect.name}")
    key = sql.quote(dialect, key_column, "column")
    columns = sql.column_list(dialect, table.column_names, prefix="t0.")
    source = f"{sql.table_ref(dialect, schema_name, table.name)} t0"
    for index, hop in enumerate(path.hops, start=1):
        link = sql.quote(dialect, hop.column, "column")
        source += (f" JOIN {sql.table_ref(dialect, schema_name, hop.parent)} t{index}"
                   f" ON t{index - 1}.{link} = t{index}.{link}")
    owner = f"t{len(path.hops)}.{key}"
    return f"SELECT {columns}, {owner} FROM {source} WHERE {owner} IN {sql.placeholders(count)}"
