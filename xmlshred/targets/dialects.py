"""One record per database: everything that differs between them, in one place.

Code elsewhere reads fields of the ``Dialect`` record (quotes, type names,
limits, which statement builder to use, how to classify errors); it never asks
which database it talks to.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Callable, Mapping

from xmlshred.targets import sql, values
from xmlshred.targets.errors import (
    DataTargetError,
    TargetError,
    TransientTargetError,
    classify_sqlstate,
)


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
    """``multi_row_values`` (chunked VALUES lists) or ``executemany`` (one row per execution)."""
    create_schema: Callable[..., str] | None
    """Builder of the CREATE SCHEMA IF NOT EXISTS statement (None: no schemas)."""
    create_table: Callable[..., str]
    """Builder of the CREATE TABLE IF NOT EXISTS statement."""
    upsert: Callable[..., str]
    """Builder of the skip/update insert (ON CONFLICT or MERGE)."""
    first_n: Callable[..., str]
    """Builder of a SELECT limited to n rows (TOP or LIMIT)."""
    count_expression: str
    """Row count expression (COUNT_BIG on SQL Server)."""
    identity_insert_template: str | None
    """``SET IDENTITY_INSERT {table} {state}`` where identity columns need it."""
    adapters: Callable[[tuple], tuple]
    """Per-column value adapters for a table's columns (see targets.values)."""
    classify_error: Callable[[BaseException], type[TargetError]]
    """Exception class for a driver exception (by SQLSTATE/code/class, never text)."""
    run_lock: Callable[..., "sql.LockStatements"] | None = None
    """Builder of the run lease's session lock statements (None: an OS lock on a file beside the database)."""
    string_literal_prefix: str = ""
    """Before a string literal's quote (``N`` for SQL Server's Unicode literals)."""
    begin_sql: str | None = None
    """Statement that opens a write transaction (None: the driver opens one)."""
    fast_executemany: bool = False
    """pyodbc fast_executemany: Microsoft's ODBC Driver 17/18 only (FreeTDS can crash)."""


# ---------------------------------------------------------------- classification

SQLITE_TRANSIENT_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)


def classify_sqlite_error(exc: BaseException) -> type[TargetError]:
    """By sqlite3 exception class and primary result code (``sqlite_errorcode & 0xFF``)."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError, OverflowError)):
        return DataTargetError
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.OperationalError) and code is not None and (code & 0xFF) in SQLITE_TRANSIENT_CODES:
        return TransientTargetError
    return TargetError


_PYODBC_NATIVE = re.compile(r"\((-?\d+)\) \(SQL\w+\)\s*$")


def odbc_sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE pyodbc puts first in an exception's args."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], str) and len(args[0]) == 5:
        return args[0]
    return None


def odbc_native_code(exc: BaseException) -> int | None:
    """The driver's native error number.

    pyodbc has no attribute for it; it always formats each diagnostic record
    as ``… (native) (SQLFunctionW)``, so we read that structured suffix (the
    message wording is never interpreted).
    """
    args = getattr(exc, "args", ())
    if len(args) > 1 and isinstance(args[1], str):
        match = _PYODBC_NATIVE.search(args[1])
        if match:
            return int(match.group(1))
    return None


def _odbc_classifier(transient_native_codes: frozenset[int]) -> Callable[[BaseException], type[TargetError]]:
    def classify(exc: BaseException) -> type[TargetError]:
        if isinstance(exc, OverflowError):
            return DataTargetError
        return classify_sqlstate(odbc_sqlstate(exc), odbc_native_code(exc), transient_native_codes)
    return classify


MSSQL_TRANSIENT_NATIVE_CODES = frozenset({1205})  # chosen as deadlock victim


# ---------------------------------------------------------------- records

SQLITE = Dialect(
    name="sqlite",
    quote_open='"', quote_close='"',
    type_names=MappingProxyType({
        "int": "INTEGER", "smallint": "INTEGER", "bigint": "INTEGER", "tinyint": "INTEGER",
        "float": "REAL", "datetime": "TEXT", "date": "TEXT", "bit": "INTEGER", "boolean": "INTEGER",
    }),
    string_type="TEXT", long_string_type="TEXT", max_string_length=1 << 30,
    decimal_type="TEXT", default_decimal_scale=2,
    # executemany re-uses one prepared statement; the limits bound IN lists.
    max_rows_per_statement=500, max_params_per_statement=999,
    supports_schemas=False,
    insert_strategy="executemany",
    create_schema=None,
    create_table=sql.create_table_if_not_exists,
    upsert=sql.upsert_on_conflict,
    first_n=sql.first_n_limit,
    count_expression="COUNT(*)",
    identity_insert_template=None,
    adapters=values.text_adapters,
    classify_error=classify_sqlite_error,
    begin_sql="BEGIN IMMEDIATE",
)

POSTGRESQL = Dialect(
    name="postgresql",
    quote_open='"', quote_close='"',
    type_names=MappingProxyType({
        "int": "INTEGER", "smallint": "SMALLINT", "bigint": "BIGINT", "tinyint": "SMALLINT",
        "float": "DOUBLE PRECISION", "datetime": "TIMESTAMP(6)", "date": "DATE",
        "bit": "SMALLINT", "boolean": "SMALLINT",
    }),
    string_type="VARCHAR({length})", long_string_type="TEXT", max_string_length=10_485_760,
    decimal_type="NUMERIC({precision},{scale})", default_decimal_scale=2,
    # The protocol allows 65,535 bind parameters, but psqlODBC prepares through
    # libpq, which refuses a ParameterDescription message over 30,000 bytes
    # (4 bytes a parameter): above ~7,490 parameters the session is lost.
    max_rows_per_statement=1000, max_params_per_statement=7000,
    supports_schemas=True,
    insert_strategy="multi_row_values",
    create_schema=sql.create_schema_if_not_exists,
    create_table=sql.create_table_if_not_exists,
    upsert=sql.upsert_on_conflict,
    first_n=sql.first_n_limit,
    count_expression="COUNT(*)",
    identity_insert_template=None,
    adapters=values.server_adapters,
    classify_error=_odbc_classifier(frozenset()),
    run_lock=sql.advisory_lock_pg,
)

MSSQL = Dialect(
    name="mssql",
    quote_open="[", quote_close="]",
    type_names=MappingProxyType({
        "int": "INT", "smallint": "SMALLINT", "bigint": "BIGINT", "tinyint": "TINYINT",
        "float": "FLOAT", "datetime": "DATETIME2(6)", "date": "DATE",
        "bit": "BIT", "boolean": "BIT",
    }),
    string_type="NVARCHAR({length})", long_string_type="NVARCHAR(MAX)", max_string_length=4000,
    decimal_type="DECIMAL({precision},{scale})", default_decimal_scale=2,
    # SQL Server: at most 1,000 rows in a VALUES list and 2,100 parameters per
    # request (2,099 usable: sp_executesql keeps one).
    max_rows_per_statement=1000, max_params_per_statement=2099,
    supports_schemas=True,
    insert_strategy="multi_row_values",
    create_schema=sql.create_schema_tsql,
    create_table=sql.create_table_tsql,
    upsert=sql.upsert_merge,
    first_n=sql.first_n_top,
    count_expression="COUNT_BIG(*)",
    identity_insert_template="SET IDENTITY_INSERT {table} {state}",
    adapters=values.server_adapters,
    classify_error=_odbc_classifier(MSSQL_TRANSIENT_NATIVE_CODES),
    run_lock=sql.applock_tsql,
    string_literal_prefix="N",
)

DIALECTS = MappingProxyType({dialect.name: dialect for dialect in (SQLITE, POSTGRESQL, MSSQL)})


# ---------------------------------------------------------------- ODBC drivers


@dataclass(frozen=True, slots=True)
class OdbcDriver:
    """What the DRIVER keyword of a connection string tells us."""

    dialect: Dialect
    """The database behind this driver (fast_executemany already set)."""
    microsoft: bool
    """Microsoft's own driver: understands Encrypt/TrustServerCertificate/MARS_Connection."""
    port_in_server: bool
    """True: ``SERVER=host,port`` (Microsoft); False: a separate ``PORT=`` keyword."""


_MS_NUMBERED = re.compile(r"^ODBC Driver (\d+) for SQL Server$", re.IGNORECASE)
_MS_LEGACY = re.compile(r"^SQL Server( Native Client [\d.]+)?$", re.IGNORECASE)
_FREETDS = re.compile(r"(^FreeTDS$)|tdsodbc", re.IGNORECASE)
_POSTGRES = re.compile(r"postgres|psqlodbc", re.IGNORECASE)


def identify_driver(driver: str) -> OdbcDriver:
    """The dialect and driver traits for an ODBC DRIVER name; TargetError if unknown."""
    name = driver.strip().strip("{}").strip()
    numbered = _MS_NUMBERED.match(name)
    if numbered:
        version = int(numbered.group(1))
        dialect = MSSQL
        if version >= 17:
            # Parameter arrays in one round trip; only Microsoft's driver does it safely.
            dialect = replace(MSSQL, fast_executemany=True, insert_strategy="executemany")
        return OdbcDriver(dialect, microsoft=True, port_in_server=True)
    if _MS_LEGACY.match(name):
        return OdbcDriver(MSSQL, microsoft=True, port_in_server=True)
    if _FREETDS.search(name):
        return OdbcDriver(MSSQL, microsoft=False, port_in_server=False)
    if _POSTGRES.search(name):
        return OdbcDriver(POSTGRESQL, microsoft=False, port_in_server=False)
    raise TargetError(
        f"ODBC driver={name!r} is not one xmlshred knows; use 'ODBC Driver 18 for SQL Server', "
        "'FreeTDS' or 'PostgreSQL Unicode' (see `odbcinst -q -d`)"
    )
