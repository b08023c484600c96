"""One suite over every real target: a SQLite file and a PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import socket
import sqlite3
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import ROOT
from xmlshred.db.errors import ConnectTargetError, DataTargetError, TargetError, TransientTargetError
from xmlshred.db.spec import libpq_url, parse_target_url
from xmlshred.db.sql import UnsafeIdentifierError
from xmlshred.db.values import canonical_text, ready_tables
from xmlshred.targets import LogRow, Settled, open_target
from xmlshred.vocab.schema import Column, Table, TargetSchema

NOW = dt.datetime(2025, 10, 14, 20, 9, 54)

APP_BASE = Table(
    "app_base",
    (
        Column("app_id", "bigint", nullable=False, identity=True),
        Column("name", "string", 40),
        Column("notes", "string", None),
        Column("amount", "decimal", 2),
        Column("rate", "decimal", 4),
        Column("received_at", "datetime"),
        Column("birth_date", "date"),
        Column("is_active", "bit"),
        Column("is_member", "boolean"),
        Column("age", "tinyint"),
        Column("score", "smallint"),
        Column("count_total", "int"),
        Column("big_number", "bigint"),
        Column("ratio", "float"),
    ),
    primary_key=("app_id",),
)
CONTACT = Table(
    "contact",
    (Column("con_id", "bigint", nullable=False), Column("app_id", "bigint"),
     Column("first_name", "string", 20, nullable=False)),
    primary_key=("con_id",),
    on_conflict="skip",
)
SCORES = Table(
    "scores",
    (Column("app_id", "bigint", nullable=False), Column("score_identifier", "string", 10, nullable=False),
     Column("score", "int")),
    primary_key=("app_id", "score_identifier"),
    on_conflict="update",
)
SCHEMA = TargetSchema("app", "app_id", (APP_BASE, CONTACT, SCORES))


def base_row(key: int, **values) -> tuple:
    row = dict.fromkeys(APP_BASE.column_names)
    row["app_id"] = key
    row.update(values)
    return tuple(row[name] for name in APP_BASE.column_names)


def success(*keys: int, run_id: str = "run-1") -> list[LogRow]:
    return [LogRow(key, "success", None, None, run_id, NOW) for key in keys]


def write_flush(target, schema, tables, log_rows) -> None:
    """Target.write_flush with the rows first made ready for its dialect, as the mapper workers do."""
    target.write_flush(schema, ready_tables(schema, target.dialect, tables), log_rows)


def canonical_rows(target, table: Table) -> list[tuple]:
    """Stored rows in the conformance form, sorted by the first column."""
    rows = [tuple(canonical_text(value, column) for value, column in zip(row, table.columns, strict=True))
            for row in target.table_rows(table.name)]
    return sorted(rows, key=lambda row: row[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("postgresql-psycopg", marks=pytest.mark.postgres)])
def target_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    if request.param == "postgresql-psycopg":
        pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
        return libpq_url(request.getfixturevalue("pg_database"))
    return "odbc:" + request.getfixturevalue("pg_database")


@pytest.fixture
def target(target_url):
    opened = open_target(parse_target_url(target_url))
    opened.create_tables(SCHEMA)
    yield opened
    opened.close()


def test_create_tables_is_idempotent(target):
    write_flush(target, SCHEMA, [("app_base", [base_row(1, name="kept")])], success(1))
    target.create_tables(SCHEMA)
    target.create_tables(SCHEMA)
    assert target.count_rows("app_base") == 1
    assert target.count_rows("contact") == 0
    assert target.count_rows("processing_log") == 1


def test_write_flush_round_trips_every_data_type(target):
    full = base_row(
        7, name="Zoë 🚀 東京", notes="x" * 5000, amount=Decimal("12.50"), rate=Decimal("-0.0100"),
        received_at=dt.datetime(2025, 10, 14, 20, 9, 54, 120000), birth_date=dt.date(1990, 2, 28),
        is_active=1, is_member=0, age=255, score=-32768, count_total=2_147_483_647,
        big_number=9_007_199_254_740_993, ratio=1.25,
    )
    whole_second = base_row(8, amount=Decimal("0.00"), received_at=dt.datetime(2024, 1, 2, 3, 4, 5), is_active=0)
    empty = base_row(9)
    write_flush(target, SCHEMA, [("app_base", [full, whole_second, empty])], success(7, 8, 9))

    rows = canonical_rows(target, APP_BASE)
    assert rows[0] == (7, "Zoë 🚀 東京", "x" * 5000, "12.50", "-0.0100", "2025-10-14 20:09:54.120000",
                       "1990-02-28", 1, 0, 255, -32768, 2_147_483_647, 9_007_199_254_740_993, 1.25)
    assert rows[1][3] == "0.00" and rows[1][5] == "2024-01-02 03:04:05" and rows[1][7] == 0
    assert rows[2] == (9,) + (None,) * (len(APP_BASE.columns) - 1)


def test_processing_log_upsert_increments_attempts(target):
    write_flush(target, SCHEMA, [], [LogRow(5, "failed", "map", "amount out of range", "run-1", NOW)])
    later = NOW + dt.timedelta(minutes=1)
    write_flush(target, SCHEMA, [("app_base", [base_row(5)])], [LogRow(5, "success", None, None, "run-2", later)])
    write_flush(target, SCHEMA, [], [LogRow(6, "failed", "parse", "not well-formed", "run-2", later)])

    log = {row[0]: row for row in target.table_rows("processing_log")}
    key, status, stage, reason, attempts, run_id, updated_at, _contract_hash = log[5]
    assert (status, stage, reason, attempts, run_id) == ("success", None, None, 2, "run-2")
    assert canonical_text(updated_at) == "2025-10-14 20:10:54"
    assert log[6][1:5] == ("failed", "parse", "not well-formed", 1)
    assert target.done_keys([5, 6, 404]) == {5: "success", 6: "failed"}
    assert target.done_records([5, 6, 404]) == {5: Settled("success", None, "run-2"),
                                                6: Settled("failed", "parse", "run-2")}


def test_constraint_violation_raises_data_error_and_commits_nothing(target):
    write_flush(target, SCHEMA, [("app_base", [base_row(1)])], success(1))
    flush = [
        ("app_base", [base_row(2, name="secret-name-value")]),
        ("contact", [(20, 2, "Alice")]),
        ("scores", [(2, "FICO", 700), (2, "VANTAGE", 690)]),
        ("app_base", [base_row(1, name="duplicate-of-committed")]),
    ]
    with pytest.raises(DataTargetError) as caught:
        write_flush(target, SCHEMA, flush, success(2, 1))
    assert caught.value.table == "app_base"
    assert "secret-name-value" not in str(caught.value) and "duplicate-of-committed" not in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)
    assert (target.count_rows("app_base"), target.count_rows("contact"), target.count_rows("scores")) == (1, 0, 0)
    assert target.done_keys([1, 2]) == {1: "success"}

    # The same connection keeps working after the rollback.
    write_flush(target, SCHEMA, flush[:3], success(2))
    assert target.count_rows("app_base") == 2


def test_not_null_violation_names_table_and_key(target):
    with pytest.raises(DataTargetError) as caught:
        write_flush(target, SCHEMA, [("app_base", [base_row(3)]), ("contact", [(30, 3, None)])], success(3))
    assert caught.value.table == "contact" and caught.value.key == 3
    assert "table=contact" in str(caught.value) and "key=3" in str(caught.value)
    assert target.count_rows("app_base") == 0


def test_string_too_long_or_number_out_of_range_is_a_data_error(target, target_url):
    if target_url.startswith("sqlite"):
        pytest.skip("SQLite does not enforce lengths or integer ranges (its columns are dynamically typed)")
    with pytest.raises(DataTargetError):
        write_flush(target, SCHEMA, [("app_base", [base_row(4, name="n" * 41)])], success(4))
    with pytest.raises(DataTargetError):
        write_flush(target, SCHEMA, [("app_base", [base_row(4, score=40_000)])], success(4))
    assert target.count_rows("app_base") == 0


def test_on_conflict_skip_keeps_existing_and_update_replaces(target):
    write_flush(target, SCHEMA, [("contact", [(1, 1, "First")]), ("scores", [(1, "FICO", 600)])], [])
    write_flush(target, SCHEMA, [
        ("contact", [(1, 1, "Second"), (2, 1, "Other"), (2, 1, "OtherLater")]),
        ("scores", [(1, "FICO", 650), (1, "VANTAGE", 610), (1, "VANTAGE", 620)]),
    ], [])
    assert sorted(target.table_rows("contact")) == [(1, 1, "First"), (2, 1, "Other")]
    assert sorted(target.table_rows("scores")) == [(1, "FICO", 650), (1, "VANTAGE", 620)]


def test_many_rows_and_keys_are_chunked_within_limits(target):
    rows = [base_row(key, name=f"n{key}", amount=Decimal("1.00")) for key in range(1, 2502)]
    scores = [(key, "FICO", key) for key in range(1, 2502)]
    write_flush(target, SCHEMA, [("app_base", rows), ("scores", scores)], success(*range(1, 2502)))
    assert target.count_rows("app_base") == 2501
    assert target.count_rows("scores") == 2501
    done = target.done_keys(range(1, 3001))
    assert len(done) == 2501 and set(done.values()) == {"success"}


@pytest.mark.parametrize("bad", [
    replace(SCHEMA, tables=(replace(CONTACT, name="contact; DROP TABLE app_base"),)),
    replace(SCHEMA, tables=(replace(CONTACT, columns=(Column("con_id", "bigint"),
                                                      Column('first"name', "string", 5))),)),
    replace(SCHEMA, schema_name="app]; DROP SCHEMA dbo; --"),
    replace(SCHEMA, key_column="app id"),
])
def test_unsafe_identifiers_are_rejected_before_any_sql(target, bad):
    with pytest.raises(UnsafeIdentifierError):
        target.create_tables(bad)
    with pytest.raises(UnsafeIdentifierError):
        row = (1,) + (None,) * (len(bad.tables[0].columns) - 1)
        write_flush(target, bad, [(bad.tables[0].name, [row])], success(1))
    assert target.count_rows("app_base", schema_name="app") == 0


def test_update_without_primary_key_is_refused_with_a_fix(target):
    keyless = replace(SCHEMA, tables=(replace(SCORES, primary_key=()),))
    with pytest.raises(TargetError, match="primary_key"):
        write_flush(target, keyless, [("scores", [(1, "A", 1)])], [])


def test_unknown_table_and_wrong_row_width_are_target_errors(target):
    with pytest.raises(TargetError, match="table=nowhere"):
        write_flush(target, SCHEMA, [("nowhere", [(1,)])], [])
    with pytest.raises(TargetError, match="table=contact") as caught:
        write_flush(target, SCHEMA, [("contact", [(1, 2)])], [])
    assert not isinstance(caught.value, (DataTargetError, TransientTargetError))


# ---------------------------------------------------------------- SQLite only


def test_sqlite_busy_is_transient(tmp_path):
    spec = replace(parse_target_url(f"sqlite:///{tmp_path / 'busy.db'}"), busy_timeout_s=0.05)
    target = open_target(spec)
    target.create_tables(SCHEMA)
    other = sqlite3.connect(str(spec.path), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TransientTargetError) as caught:
            write_flush(target, SCHEMA, [("app_base", [base_row(1)])], success(1))
        assert caught.value.sqlstate.startswith("SQLITE_BUSY")
    finally:
        other.execute("ROLLBACK")
        other.close()
    write_flush(target, SCHEMA, [("app_base", [base_row(1)])], success(1))
    assert target.count_rows("app_base") == 1
    target.close()


def test_sqlite_uses_wal_and_relative_urls(tmp_path):
    script = (
        "import sys\nfrom xmlshred import targets\nfrom xmlshred.db.spec import parse_target_url\n"
        "spec = parse_target_url('sqlite:///out/rel.db')\n"
        "t = targets.open_target(spec)\n"
        "assert t._connection.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'\n"
        "t.close()\n"
        "assert 'pyodbc' not in sys.modules, 'the SQLite path imported pyodbc'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "rel.db").is_file()
    assert parse_target_url("sqlite:////abs/dir/x.db").path == Path("/abs/dir/x.db")


def test_sqlite_unopenable_file_is_a_connect_error(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(ConnectTargetError, match="cannot connect"):
        open_target(parse_target_url(f"sqlite:///{tmp_path / 'dir.db'}"))


# ---------------------------------------------------------------- PostgreSQL only


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["odbc", "psycopg"])
def test_postgres_terminated_connection_is_transient_then_reconnect_retries(pg_database, path):
    import pyodbc

    if path == "psycopg":
        pytest.importorskip("psycopg")
    url = libpq_url(pg_database) if path == "psycopg" else "odbc:" + pg_database
    target = open_target(parse_target_url(url))
    target.create_tables(SCHEMA)
    admin = pyodbc.connect(pg_database, autocommit=True)
    admin_pid = admin.execute("SELECT pg_backend_pid()").fetchone()[0]

    def flush_killed_midway():
        yield ("app_base", [base_row(1), base_row(2)])
        (pid,) = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> ?"
            " AND state = 'idle in transaction'", admin_pid,
        ).fetchone()
        # The second argument waits (ms) until the backend is really gone.
        assert admin.execute("SELECT pg_terminate_backend(?, 5000)", pid).fetchone()[0]
        yield ("scores", [(1, "FICO", 700)])

    with pytest.raises(TransientTargetError) as caught:
        write_flush(target, SCHEMA, flush_killed_midway(), success(1, 2))
    # psqlODBC reports the server's 57P01 or a lost connection (08*); psycopg may see the socket
    # closed first (OperationalError without a SQLSTATE: transient by its class)
    assert (caught.value.sqlstate is None and path == "psycopg") or caught.value.sqlstate[:2] in ("57", "08")
    target.reconnect()
    write_flush(target, SCHEMA, [("app_base", [base_row(1), base_row(2)]), ("scores", [(1, "FICO", 700)])],
                       success(1, 2))
    assert target.count_rows("app_base") == 2
    assert target.done_keys([1, 2]) == {1: "success", 2: "success"}
    admin.close()
    target.close()


@pytest.mark.postgres
def test_postgres_connect_failure_is_masked_and_clear(pg_dsn):
    dsn = ";".join(part for part in pg_dsn.split(";") if not part.upper().startswith(("PORT=", "PWD=")))
    spec = parse_target_url(f"odbc:{dsn};PORT={free_port()};PWD={{s3cr;et}}")
    with pytest.raises(ConnectTargetError) as caught:
        open_target(spec)
    message = str(caught.value)
    assert "s3cr" not in message and "PWD=***" in message
    assert "cannot connect" in message and "check [target] server and port" in message


@pytest.mark.postgres
def test_postgres_schema_is_created_and_used(pg_database):
    import pyodbc

    target = open_target(parse_target_url("odbc:" + pg_database))
    target.create_tables(SCHEMA)
    write_flush(target, SCHEMA, [("app_base", [base_row(1)])], success(1))
    with pyodbc.connect(pg_database) as check:
        tables = {row[0] for row in check.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'app'").fetchall()}
        key_columns = check.execute(
            "SELECT kcu.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name "
            "AND tc.table_schema = kcu.table_schema "
            "WHERE tc.table_schema = 'app' AND tc.table_name = 'processing_log' "
            "AND tc.constraint_type = 'PRIMARY KEY'").fetchall()
    assert tables == {"app_base", "contact", "scores", "processing_log", "xmlshred_runs", "xmlshred_quality",
                      "xmlshred_rejects"}
    assert [row[0] for row in key_columns] == ["app_id"]
    target.close()


# ---------------------------------------------------------------- ODBC table source on PostgreSQL


@pytest.mark.postgres
def test_odbc_table_source_pages_by_key_and_streams_large_documents(pg_database):
    import pyodbc

    from xmlshred.sources.odbc_table import OdbcTableSource
    from xmlshred.sources.types import SourceItem

    big = "<Provenir>" + "<x a='é✓'/>" * 300_000 + "</Provenir>"  # ~3.3 MB of text
    assert len(big.encode("utf-8")) > 3_000_000
    with pyodbc.connect(pg_database, autocommit=True) as setup:
        setup.execute("CREATE SCHEMA src")
        setup.execute("CREATE TABLE src.app_xml (app_id BIGINT PRIMARY KEY, app_xml TEXT)")
        for key in (3, 5, 8, 13, 21, 34):
            setup.execute("INSERT INTO src.app_xml VALUES (?, ?)", key, f"<Provenir id='{key}'/>")
        setup.execute("INSERT INTO src.app_xml VALUES (?, ?)", 55, big)
        setup.execute("INSERT INTO src.app_xml VALUES (?, NULL)", 89)

    source = OdbcTableSource(pg_database, "src.app_xml", "app_xml", "app_id")
    source.open()
    try:
        assert source.dialect.name == "postgresql"
        assert source.count() == 8
        assert source.count(5, 34) == 5
        assert [item.key for item in source.page(None, 3)] == [3, 5, 8]
        assert [item.key for item in source.page(8, 3)] == [13, 21, 34]
        assert [item.key for item in source.page(34, 10, key_end=55)] == [55]
        assert source.page(89, 10) == []
        assert source.page(None, 2, key_start=13)[0] == SourceItem(13, 13, "key=13")

        items = source.page(34, 10)
        documents = source.fetch(items + [SourceItem(404, 404, "key=404")])
        assert [document.item.key for document in documents] == [55, 89, 404]
        assert documents[0].document == big
        assert documents[1].document == "" and documents[2].document == ""
        many = source.fetch([SourceItem(key, key, f"key={key}") for key in range(1, 1200)])
        assert sum(1 for document in many if document.document) == 7  # 89 holds NULL
    finally:
        source.close()


@pytest.mark.postgres
def test_odbc_table_source_wrong_names_fail_clearly(pg_database):
    from xmlshred.sources.errors import SourceError
    from xmlshred.sources.odbc_table import OdbcTableSource

    with pytest.raises(SourceError, match="table=nowhere"):
        OdbcTableSource(pg_database, "nowhere", "app_xml", "app_id").open()
    with pytest.raises(SourceError, match="not a plain identifier"):
        OdbcTableSource(pg_database, "app_xml; DROP TABLE x", "app_xml", "app_id")
