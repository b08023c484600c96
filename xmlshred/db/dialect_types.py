"""The ``Dialect`` record type: everything that differs between databases, as fields.

The records themselves (SQLITE, POSTGRESQL, MSSQL) are in ``db.dialects``; this
module holds only the types, so the SQL builders (``db.sql``) can take a Dialect
without importing the records that name them (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from xmlshred.db.errors import TargetError


@dataclass(frozen=True, slots=True)
class LockStatements:
    """How one database takes and gives back a run's session-scoped lock on a target."""

    acquire: str
    """One batch that never waits and returns one row with one column: 1 granted, 0 held by another session."""
    release: str
    """Gives the lock back (the session's end does too)."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one database spells and limits what the target layer needs."""

    name: str
    """``sqlite`` | ``postgresql`` | ``mssql``."""
    quote_open: str
    """Opening identifier quote."""
    quote_close: str
    """Closing identifier quote."""
    type_names: Mapping[str, str]
    """Contract data_type -> SQL type, for the types without a length."""
    string_type: str
    """Template with ``{length}`` for a bounded string."""
    long_string_type: str
    """Unbounded string type (no data_length, or longer than max_string_length)."""
    max_string_length: int
    """Longest bounded string the string_type allows."""
    decimal_type: str
    """Template with ``{precision}`` and ``{scale}``."""
    default_decimal_scale: int
    """Scale for a decimal column without data_length."""
    max_rows_per_statement: int
    """Rows in one multi-row VALUES statement."""
    max_params_per_statement: int
    """Bound parameters in one statement."""
    supports_schemas: bool
    """False: the contract's target_schema is ignored."""
    insert_strategy: str
    """``multi_row_values`` (chunked VALUES lists), ``executemany`` (one row per execution),
    ``column_arrays`` (one array parameter per column, ``SELECT * FROM unnest(…)``), ``openjson``
    (one JSON parameter per chunk of at most max_rows_per_statement rows, ``OPENJSON(?) WITH (…)``)
    or ``copy`` (``COPY … FROM STDIN``; upsert tables through a temporary staging table)."""
    create_schema: Callable[..., str] | None
    """Builder of the CREATE SCHEMA IF NOT EXISTS statement (None: no schemas)."""
    create_table: Callable[..., str]
    """Builder of the CREATE TABLE IF NOT EXISTS statement."""
    upsert: Callable[..., str]
    """Builder of the skip/update insert (ON CONFLICT; on SQL Server UPDATE … FROM + INSERT … WHERE NOT EXISTS)."""
    first_n: Callable[..., str]
    """Builder of a SELECT limited to n rows (TOP or LIMIT)."""
    count_expression: str
    """Row count expression (COUNT_BIG on SQL Server)."""
    identity_insert_template: str | None
    """``SET IDENTITY_INSERT {table} {state}`` where identity columns need it."""
    adapters: Callable[[tuple], tuple]
    """Per-column value adapters for single-row statements outside flushes (see db.values)."""
    row_values: Callable[[tuple], Callable]
    """For a table's columns, the converter of its rows into what a flush sends this database
    (db.values.RowConverter); the mapper workers apply it to each batch (db.values.ReadyResults)."""
    classify_error: Callable[[BaseException], type[TargetError]]
    """Exception class for a driver exception (by SQLSTATE/code/class, never text)."""
    ddl_lock: Callable[..., str] | None = None
    """Builder of the statement that serialises table creation between runs, first in the DDL's
    transaction (None: the database serialises it already, as SQLite's file lock does)."""
    run_lock: Callable[..., LockStatements] | None = None
    """Builder of the run lease's session lock statements (None: an OS lock on a file beside the database)."""
    string_literal_prefix: str = ""
    """Before a string literal's quote (``N`` for SQL Server's Unicode literals)."""
    begin_sql: str | None = None
    """Statement that opens a write transaction (None: the driver opens one)."""
    fast_executemany: bool = False
    """pyodbc fast_executemany: Microsoft's ODBC Driver 17/18 and later only (FreeTDS segfaults the
    process). Even when set, a connection turns it on only after asking the driver manager which
    driver file it loaded (``db.odbc.set_fast_executemany``)."""
    table_exists: Callable[..., str] | None = None
    """Builder of a query that returns a row when a table exists (None: read the table and treat
    an undefined-table error as absent). Babelfish answers that error with 42000, not 42S02."""
    rows_per_json: int = 5000
    """Rows in one JSON parameter of the ``openjson`` strategy (tables it cannot carry whole get
    multi-row VALUES, within max_rows_per_statement)."""
    substring_function: str | None = None
    """``f(text, 1, n)``: the first n characters of a text value, read by a source (None: not a server source)."""
    stored_length_function: str | None = None
    """``f(text)``: the stored size of a value in bytes (``DATALENGTH``: UTF-16 bytes for nvarchar)."""
    client: str = "odbc"
    """How a connection is opened: ``sqlite`` (sqlite3), ``odbc`` (pyodbc) or ``psycopg`` (psycopg 3,
    ``postgresql://`` URLs; see ``db.pg``)."""
