"""One record per database: everything that differs between them, in one place.

Code elsewhere reads fields of the ``Dialect`` record (quotes, type names,
limits, which statement builder to use, how to classify errors); it never asks
which database it talks to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from types import MappingProxyType

from xmlshred.db import sql, values
from xmlshred.db.dialect_types import Dialect
from xmlshred.db.errors import TargetError, classify_psycopg_error, classify_sqlite_error, odbc_classifier

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
    row_values=values.text_rows,
    classify_error=classify_sqlite_error,
    begin_sql="BEGIN IMMEDIATE",
    client="sqlite",
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
    # Flushes send one array parameter per column (column_arrays), so a statement
    # carries as many parameters as the table has columns; max_rows_per_statement
    # bounds the rows (the array length) of one statement.
    max_rows_per_statement=20_000, max_params_per_statement=7000,
    supports_schemas=True,
    # One array per column: a few parameters to bind and one short statement to plan
    # instead of thousands of VALUES parameters (about a third of the client and server CPU).
    insert_strategy="column_arrays",
    create_schema=sql.create_schema_if_not_exists,
    create_table=sql.create_table_if_not_exists,
    upsert=sql.upsert_on_conflict,
    first_n=sql.first_n_limit,
    count_expression="COUNT(*)",
    identity_insert_template=None,
    adapters=values.server_adapters,
    row_values=values.text_rows,
    classify_error=odbc_classifier(frozenset()),
    run_lock=sql.advisory_lock_pg,
    ddl_lock=sql.ddl_lock_pg,
    substring_function="substr",
    stored_length_function="octet_length",
)

POSTGRESQL_COPY = replace(
    POSTGRESQL,
    # postgresql:// URLs (psycopg 3): the same database, reached without ODBC. Rows go by
    # COPY … FROM STDIN (text format: the rows are already canonical text); a skip/update
    # table's rows are copied into a temporary staging table and upserted from there.
    insert_strategy="copy",
    classify_error=classify_psycopg_error,
    client="psycopg",
)
"""PostgreSQL through psycopg (``postgresql://`` URLs); ``POSTGRESQL`` is the psqlODBC one.
Same name (``postgresql``): the rows the workers make are the same."""

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
    table_exists=sql.table_exists_tsql,
    # No MERGE (Babelfish refuses it; SQL Server's has a long record of concurrency bugs).
    upsert=sql.upsert_update_insert,
    first_n=sql.first_n_top,
    count_expression="COUNT_BIG(*)",
    identity_insert_template="SET IDENTITY_INSERT {table} {state}",
    adapters=values.server_adapters,
    row_values=values.tsql_text_rows,
    classify_error=odbc_classifier(MSSQL_TRANSIENT_NATIVE_CODES),
    run_lock=sql.applock_tsql,
    ddl_lock=sql.ddl_lock_tsql,
    string_literal_prefix="N",
    substring_function="SUBSTRING",
    stored_length_function="DATALENGTH",
)

MSSQL_FREETDS = replace(
    MSSQL,
    # One NVARCHAR(MAX) JSON parameter per chunk, read by OPENJSON: the fastest shape measured on
    # Babelfish through FreeTDS (bench/mssql_shapes.py; 300-row VALUES statements are ~20x slower
    # there, since every statement is parsed). SQL Server reads OPENJSON from 2016 at database
    # compatibility level 130; a target without it is written with multi-row VALUES instead
    # (targets.target.usable_dialect finds out when it connects).
    insert_strategy="openjson",
    rows_per_json=5000,
)
"""SQL Server through FreeTDS: never fast_executemany (it kills the process), OPENJSON chunks."""

DIALECTS = MappingProxyType({dialect.name: dialect for dialect in (SQLITE, POSTGRESQL, MSSQL)})


# ---------------------------------------------------------------- ODBC drivers


@dataclass(frozen=True, slots=True)
class OdbcDriver:
    """What the DRIVER keyword of a connection string tells us."""

    dialect: Dialect
    """The database behind this driver (fast_executemany and the insert strategy already chosen)."""
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
        return OdbcDriver(MSSQL_FREETDS, microsoft=False, port_in_server=False)
    if _POSTGRES.search(name):
        return OdbcDriver(POSTGRESQL, microsoft=False, port_in_server=False)
    raise TargetError(
        f"ODBC driver={name!r} is not one xmlshred knows; use 'ODBC Driver 18 for SQL Server', "
        "'FreeTDS' or 'PostgreSQL Unicode' (see `odbcinst -q -d`)"
    )


_MS_DRIVER_FILE = re.compile(r"msodbcsql-?(\d+)", re.IGNORECASE)


def microsoft_driver_file(driver_file: str | None) -> bool:
    """Is the ODBC driver a connection loaded (``SQLGetInfo(SQL_DRIVER_NAME)``: ``libmsodbcsql-18.3.so.2.1``,
    ``msodbcsql18.dll``) Microsoft's ODBC Driver 17 or later, the only ones fast_executemany is safe with?
    FreeTDS (``libtdsodbc.so``), psqlODBC and anything unknown: no."""
    match = _MS_DRIVER_FILE.search(driver_file or "")
    return bool(match) and int(match.group(1)) >= 17
