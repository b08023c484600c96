"""Bring an existing target's bookkeeping tables up to the current columns, without losing a row.

A target created before a column existed (processing_log.contract_hash,
xmlshred_runs.contract_hash/contract_tables) gets it by ``ALTER TABLE … ADD``
(no ``COLUMN`` keyword, no ``IF NOT EXISTS``: the form SQLite, PostgreSQL and
SQL Server all take), as a NULL column: the rows already there keep every
value and read the new column as NULL (an empty fingerprint). Which columns
are there is read from the driver's description of an empty SELECT, the same
way in every dialect.
"""

from __future__ import annotations

from xmlshred.db import sql
from xmlshred.db.dialect_types import Dialect
from xmlshred.vocab.schema import Column, Table


def table_columns(cursor, dialect: Dialect, schema_name: str | None, table: str) -> list[str]:
    """The column names of an existing table, lowercased (raises the driver's error when it is missing)."""
    ref = sql.table_ref(dialect, schema_name, table)
    cursor.execute(f"SELECT * FROM {ref} WHERE 1 = 0")
    names = [str(entry[0]).lower() for entry in (cursor.description or ())]
    cursor.fetchall()
    return names


def add_column(dialect: Dialect, schema_name: str | None, table: str, column: Column) -> str:
    """``ALTER TABLE <table> ADD <column> <type> NULL`` in ``dialect``."""
    ref = sql.table_ref(dialect, schema_name, table)
    return f"ALTER TABLE {ref} ADD {sql.quote(dialect, column.name, 'column')} {sql.column_type(dialect, column)} NULL"


def missing_columns(present: list[str], table: Table) -> list[Column]:
    """The nullable columns of ``table`` an existing table lacks (only nullable ones can be added)."""
    have = set(present)
    return [column for column in table.columns if column.name.lower() not in have and column.nullable]


def upgrade_statements(cursor, dialect: Dialect, schema_name: str | None, tables: list[Table]) -> list[str]:
    """The ALTER TABLE statements that add what ``tables`` (all existing) lack."""
    statements = []
    for table in tables:
        present = table_columns(cursor, dialect, schema_name, table.name)
        statements += [add_column(dialect, schema_name, table.name, column)
                       for column in missing_columns(present, table)]
    return statements
