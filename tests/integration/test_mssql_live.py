"""Against a real SQL Server, only when XMLSHRED_MSSQL_DSN names one.

Set it to an ODBC connection string, e.g.
``DRIVER={ODBC Driver 18 for SQL Server};SERVER=localhost,1433;DATABASE=xmlshred;UID=sa;PWD=…;``
``TrustServerCertificate=yes`` (one line)
(FreeTDS works too). Each test uses its own fresh schema and drops it after.
Without the variable every test here is skipped, saying so: nothing in this
file stands in for a server.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest

from xmlshred.vocab.schema import Column, Table, TargetSchema

pytestmark = pytest.mark.mssql

NOW = dt.datetime(2025, 10, 14, 20, 9, 54, 123456)

APP_BASE = Table(
    "app_base",
    (Column("app_id", "bigint", nullable=False, identity=True), Column("name", "string", 40),
     Column("notes", "string", None), Column("amount", "decimal", 2), Column("received_at", "datetime"),
     Column("birth_date", "date"), Column("is_active", "bit"), Column("age", "tinyint"),
     Column("score", "smallint"), Column("ratio", "float")),
    primary_key=("app_id",),
)
CONTACT = Table("contact", (Column("con_id", "bigint", nullable=False), Column("app_id", "bigint"),
                            Column("first_name", "string", 20, nullable=False)), ("con_id",), "skip")
SCORES = Table("scores", (Column("app_id", "bigint", nullable=False),
                          Column("score_identifier", "string", 10, nullable=False), Column("score", "int")),
               ("app_id", "score_identifier"), "update")


@pytest.fixture
def schema(mssql_dsn):
    """A TargetSchema in a fresh SQL Server schema, dropped with its tables afterwards."""
    import pyodbc

    name = f"xs_{uuid.uuid4().hex[:10]}"
    yield TargetSchema(name, "app_id", (APP_BASE, CONTACT, SCORES))
    admin = pyodbc.connect(mssql_dsn, autocommit=True)
    for (table,) in admin.execute(
            "SELECT t.name FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id WHERE s.name = ?",
            name).fetchall():
        admin.execute(f"DROP TABLE [{name}].[{table}]")
    admin.execute(f"IF SCHEMA_ID(N'{name}') IS NOT NULL EXEC sp_executesql N'DROP SCHEMA [{name}]'")
    admin.close()


@pytest.fixture
def target(mssql_dsn, schema):
    from xmlshred.db.spec import parse_target_url
    from xmlshred.targets import open_target

    opened = open_target(parse_target_url("odbc:" + mssql_dsn), schema)
    opened.create_tables(schema)
    yield opened
    opened.close()


def row(key: int, **values) -> tuple:
    data = dict.fromkeys(APP_BASE.column_names)
    data["app_id"] = key
    data.update(values)
    return tuple(data[name] for name in APP_BASE.column_names)


def logged(*keys: int):
    from xmlshred.targets import LogRow

    return [LogRow(key, "success", None, None, "live", NOW) for key in keys]


def test_create_write_and_read_back(target, schema):
    from xmlshred.db.values import canonical_text

    target.create_tables(schema)  # idempotent
    full = row(1, name="Zoë 🚀 東京", notes="n" * 10_000, amount=Decimal("12.50"), received_at=NOW,
               birth_date=dt.date(1990, 2, 28), is_active=1, age=255, score=-32768, ratio=1.25)
    target.write_flush(schema, [("app_base", [full, row(2, received_at=NOW.replace(microsecond=0))])], logged(1, 2))
    target.write_flush(schema, [], logged(2))
    stored = sorted(target.table_rows("app_base"))
    canonical = [tuple(canonical_text(value, column) for value, column in zip(item, APP_BASE.columns, strict=True))
                 for item in stored]
    assert canonical[0] == (1, "Zoë 🚀 東京", "n" * 10_000, "12.50", "2025-10-14 20:09:54.123456",
                            "1990-02-28", True, 255, -32768, 1.25)
    assert canonical[1][4] == "2025-10-14 20:09:54"
    attempts = {item[0]: item[4] for item in target.table_rows("processing_log")}
    assert attempts == {1: 1, 2: 2}
    assert target.done_keys([1, 2, 3]) == {1: "success", 2: "success"}


def test_constraint_violation_is_a_data_error_and_rolls_back(target, schema):
    from xmlshred.db.errors import DataTargetError

    target.write_flush(schema, [("app_base", [row(1)])], logged(1))
    with pytest.raises(DataTargetError):
        target.write_flush(schema, [("app_base", [row(2)]), ("app_base", [row(1)])], logged(2, 1))
    assert target.count_rows("app_base") == 1 and target.done_keys([2]) == {}
    with pytest.raises(DataTargetError):
        target.write_flush(schema, [("app_base", [row(3, name="x" * 41)])], logged(3))


def test_skip_and_update_conflicts(target, schema):
    target.write_flush(schema, [("contact", [(1, 1, "First")]), ("scores", [(1, "FICO", 600)])], [])
    target.write_flush(schema, [("contact", [(1, 1, "Second"), (2, 1, "Other")]),
                                ("scores", [(1, "FICO", 650), (1, "VANTAGE", 620)])], [])
    assert sorted(target.table_rows("contact")) == [(1, 1, "First"), (2, 1, "Other")]
    assert sorted(target.table_rows("scores")) == [(1, "FICO", 650), (1, "VANTAGE", 620)]


def test_large_flush_is_chunked(target, schema):
    rows = [row(key, name=f"n{key}", amount=Decimal("1.00"), received_at=NOW) for key in range(1, 2502)]
    target.write_flush(schema, [("app_base", rows)], logged(*range(1, 2502)))
    assert target.count_rows("app_base") == 2501
    assert len(target.done_keys(range(1, 3000))) == 2501


def test_identity_insert_for_real_identity_columns(mssql_dsn, schema):
    import pyodbc

    from xmlshred.db.errors import TargetError
    from xmlshred.db.spec import parse_target_url
    from xmlshred.targets import open_target

    only_base = replace(schema, tables=(APP_BASE,))
    with pyodbc.connect(mssql_dsn, autocommit=True) as admin:
        admin.execute(f"EXEC sp_executesql N'CREATE SCHEMA [{schema.schema_name}]'")
        admin.execute(f"CREATE TABLE [{schema.schema_name}].[app_base] ([app_id] BIGINT IDENTITY(1,1) PRIMARY KEY, "
                      "[name] NVARCHAR(40), [notes] NVARCHAR(MAX), [amount] DECIMAL(18,2), "
                      "[received_at] DATETIME2(6), [birth_date] DATE, [is_active] BIT, [age] TINYINT, "
                      "[score] SMALLINT, [ratio] FLOAT)")
    plain = open_target(parse_target_url("odbc:" + mssql_dsn), only_base)
    plain.create_tables(only_base)
    # SQL Server: error 544, SQLSTATE 23000 (a DataTargetError); Babelfish answers in PostgreSQL's
    # words with SQLSTATE 42000 (a TargetError that stops the run): refused either way.
    with pytest.raises(TargetError) as refused:
        plain.write_flush(only_base, [("app_base", [row(42)])], logged(42))
    assert refused.value.sqlstate in ("23000", "42000")
    plain.close()
    identity = open_target(parse_target_url("odbc:" + mssql_dsn, identity_columns=True), only_base)
    identity.write_flush(only_base, [("app_base", [row(42)])], logged(42))
    identity.write_flush(only_base, [("app_base", [row(43)])], logged(43))  # OFF was restored in between
    assert sorted(item[0] for item in identity.table_rows("app_base")) == [42, 43]
    identity.close()


def test_odbc_source_pages_and_fetches_large_documents(mssql_dsn, schema):
    import pyodbc

    from xmlshred.sources.odbc_table import OdbcTableSource

    big = "<Provenir>" + "<x a='é✓'/>" * 300_000 + "</Provenir>"
    name = schema.schema_name
    with pyodbc.connect(mssql_dsn, autocommit=True) as admin:
        admin.execute(f"EXEC sp_executesql N'CREATE SCHEMA [{name}]'")
        admin.execute(f"CREATE TABLE [{name}].[app_xml] ([app_id] BIGINT PRIMARY KEY, [app_xml] NVARCHAR(MAX))")
        for key in (3, 5, 8, 13):
            admin.execute(f"INSERT INTO [{name}].[app_xml] VALUES (?, ?)", key, f"<Provenir id='{key}'/>")
        admin.execute(f"INSERT INTO [{name}].[app_xml] VALUES (?, ?)", 21, big)
    source = OdbcTableSource(mssql_dsn, f"{name}.app_xml", "app_xml", "app_id")
    source.open()
    try:
        assert source.count() == 5 and source.count(5, 13) == 3
        assert [item.key for item in source.page(None, 2)] == [3, 5]
        assert [item.key for item in source.page(5, 10, key_end=13)] == [8, 13]
        documents = source.fetch(source.page(13, 10))
        assert documents[0].document == big
    finally:
        source.close()


def test_success_in_processing_log_is_never_turned_into_failed(target, schema):
    from xmlshred.targets import LogRow

    target.write_flush(schema, [("app_base", [row(1)])], logged(1))
    target.write_flush(schema, [], [LogRow(1, "failed", "insert", "conflict", "other", NOW)])
    stored = {item[0]: item for item in target.table_rows("processing_log")}
    assert stored[1][1] == "success" and stored[1][4] == 1 and stored[1][5] == "live"


def test_run_lease_is_exclusive_per_schema_and_released_with_the_session(mssql_dsn, schema):
    from xmlshred.db.spec import parse_target_url
    from xmlshred.targets.lease import LeaseHeld, RunLease

    spec = parse_target_url("odbc:" + mssql_dsn)
    first = RunLease.acquire(spec, schema, "live-a")
    try:
        with pytest.raises(LeaseHeld) as refused:
            RunLease.acquire(spec, schema, "live-b")
        assert refused.value.holder is not None and refused.value.holder.run_id == "live-a"
        assert "live-a" in str(refused.value)
    finally:
        first.release("finished")
    second = RunLease.acquire(spec, schema, "live-b")
    second._lock.close()  # the session ends without sp_releaseapplock: SQL Server drops the lock itself
    third = RunLease.acquire(spec, schema, "live-c")
    third.release("finished")
    second.release("error")
    import pyodbc

    with pyodbc.connect(mssql_dsn, autocommit=True) as check:
        outcomes = dict(check.execute(
            f"SELECT run_id, outcome FROM [{schema.schema_name}].[xmlshred_runs]").fetchall())
    assert outcomes == {"live-a": "finished", "live-b": "abandoned", "live-c": "finished"}


def test_dates_and_datetimes_read_alike_under_every_language_and_into_legacy_columns(mssql_dsn):
    """The text SQL Server is sent for dates and datetimes (db.values.tsql_text_rows) lands as the
    same value under a dmy login (British) and a ydm DATEFORMAT, in DATE/DATETIME2 columns and in
    the DATETIME/SMALLDATETIME columns of a schema made before init-db."""
    import pyodbc

    from xmlshred.db.dialects import MSSQL

    columns = (Column("at", "datetime"), Column("on", "date"))
    values = [(dt.datetime(2025, 3, 4, 5, 6, 7), dt.date(2025, 3, 4)),
              (dt.datetime(2025, 12, 1, 23, 0, 0, 120000), dt.date(2025, 1, 12))]
    sent = MSSQL.row_values(columns)(values)
    connection = pyodbc.connect(mssql_dsn, autocommit=True)
    table = f"#xs_dates_{uuid.uuid4().hex[:8]}"
    try:
        for setting in ("SET LANGUAGE British", "SET DATEFORMAT ydm", "SET LANGUAGE us_english"):
            connection.execute(setting)
            connection.execute(f"CREATE TABLE {table} (n INT, a DATETIME2(6), b DATETIME, c SMALLDATETIME, "
                               "d DATE, e DATETIME)")
            for n, (at, on) in enumerate(sent):
                connection.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)", n, at, at, at, on, on)
            stored = connection.execute(f"SELECT a, b, c, d, e FROM {table} ORDER BY n").fetchall()
            for (at, on), (a, b, c, d, e) in zip(values, stored, strict=True):
                # (SMALLDATETIME keeps the minute: both times here round down to it.)
                assert (a, b, c) == (at, at, at.replace(second=0, microsecond=0)), setting
                assert (d, e) == (on, dt.datetime.combine(on, dt.time())), setting
            connection.execute(f"DROP TABLE {table}")
    finally:
        connection.close()


def test_long_texts_arrive_whole_whichever_statement_shape_carries_them(target, schema):
    """Babelfish's OPENJSON cuts NVARCHAR(MAX) values at 4,000 characters: a flush whose chunk holds
    one that long goes as VALUES (db.sql.JSON_TEXT_LIMIT), so every text is stored whole."""
    lengths = {1: 3999, 2: 4000, 3: 4001, 4: 10_000, 5: 0}
    for key in (1, 5):  # alone: through OPENJSON (FreeTDS)
        target.write_flush(schema, [("app_base", [row(key, notes="é" * lengths[key])])], logged(key))
    target.write_flush(schema, [("app_base", [row(key, notes="é" * lengths[key]) for key in (2, 3, 4)])],
                       logged(2, 3, 4))
    stored = {item[0]: len(item[2]) for item in target.table_rows("app_base")}
    assert stored == lengths


def test_a_dialect_asking_for_fast_executemany_never_gets_it_through_freetds(mssql_dsn, schema):
    """FreeTDS with fast_executemany kills the Python process. Even a dialect record forced to ask
    for it (as a made-up DSN or setting could) writes through FreeTDS with it off: the connection
    reports its driver file, and only Microsoft's 17+ is trusted. Run in a child process, so that a
    crash would show as its exit status instead of ending the test run."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    if "freetds" not in mssql_dsn.lower():
        pytest.skip("the server is reached through another driver than FreeTDS")
    script = f"""
import dataclasses, sys
from xmlshred.db.odbc import loaded_driver, set_fast_executemany
from xmlshred.db.spec import parse_target_url
from xmlshred.targets import LogRow, open_target
from xmlshred.vocab.schema import Column, Table, TargetSchema
import datetime as dt
spec = parse_target_url(sys.argv[1])
forced = dataclasses.replace(spec.dialect, fast_executemany=True, insert_strategy="executemany")
spec = dataclasses.replace(spec, dialect=forced)
table = Table("fem", (Column("app_id", "bigint", nullable=False), Column("n", "int")), ("app_id",))
schema = TargetSchema({schema.schema_name!r}, "app_id", (table,))
target = open_target(spec, schema)
target.create_tables(schema)
cursor = target._connection.cursor()
print("driver", loaded_driver(target._connection), "enabled", set_fast_executemany(target._connection, cursor, forced),
      cursor.fast_executemany)
log = [LogRow(1, "success", None, None, "r", dt.datetime(2025, 1, 1))]
target.write_flush(schema, [("fem", [(1, 1), (2, 2)])], log)
print("rows", target.count_rows("fem"))
target.close()
"""
    result = subprocess.run([sys.executable, "-c", script, "odbc:" + mssql_dsn], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, (result.returncode, result.stderr[-3000:])
    assert "enabled False False" in result.stdout and "libtdsodbc" in result.stdout, result.stdout
    assert "rows 2" in result.stdout
