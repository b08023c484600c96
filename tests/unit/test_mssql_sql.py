"""SQL Server without a server: the exact statements, limits, connection strings and errors.

Every statement the target and the ODBC source would send to SQL Server is
parsed with sqlglot's T-SQL dialect into real expressions (never sqlglot's
catch-all ``exp.Command``). Statements sqlglot cannot model are compared as
exact text. Nothing here pretends to be a SQL Server; live checks are in
test_mssql_live.py.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal

import pyodbc
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from tests.conftest import ROOT
from xmlshred.db import sql
from xmlshred.db.dialects import MSSQL, SQLITE, identify_driver
from xmlshred.db.errors import (
    ConnectTargetError,
    DataTargetError,
    TargetError,
    TransientTargetError,
    classify_sqlite_error,
    classify_sqlstate,
)
from xmlshred.db.secrets import mask_secrets
from xmlshred.db.spec import OdbcSettings, build_connection_string, parse_connection_string, parse_target_url
from xmlshred.db.values import ready_tables
from xmlshred.sources.odbc_table import OdbcTableSource
from xmlshred.targets import LogRow
from xmlshred.targets.processing_log import log_table
from xmlshred.targets.target import ddl_statements, plan_flush
from xmlshred.vocab.schema import Column, Table, TargetSchema

FREETDS = identify_driver("FreeTDS").dialect
MS18 = identify_driver("ODBC Driver 18 for SQL Server").dialect
VALUES = identify_driver("SQL Server").dialect  # an older Microsoft driver: multi-row VALUES
NOW = dt.datetime(2025, 1, 2, 3, 4, 5, 678901)

APP_BASE = Table(
    "app_base",
    (Column("app_id", "bigint", nullable=False, identity=True), Column("name", "string", 50),
     Column("notes", "string", 9000), Column("amount", "decimal", 2), Column("received", "datetime"),
     Column("born", "date"), Column("active", "bit"), Column("age", "tinyint"), Column("ratio", "float")),
    primary_key=("app_id",),
)
CONTACT = Table("contact", (Column("con_id", "bigint", nullable=False), Column("app_id", "bigint"),
                            Column("first_name", "string", 20)), ("con_id",), "skip")
SCORES = Table("scores", (Column("app_id", "bigint", nullable=False), Column("score_identifier", "string", 10,
                          nullable=False), Column("score", "int")), ("app_id", "score_identifier"), "update")
SCHEMA = TargetSchema("sandbox", "app_id", (APP_BASE, CONTACT, SCORES))
# notes shorter than 4,000 characters: OPENJSON carries every string of this table whole.
APP_SHORT = replace(APP_BASE, columns=tuple(replace(column, data_length=3999) if column.name == "notes" else column
                                            for column in APP_BASE.columns))
SHORT = replace(SCHEMA, tables=(APP_SHORT, CONTACT, SCORES))


def parse_tsql(statement: str) -> exp.Expression:
    """The one expression ``statement`` parses to; fails if sqlglot falls back to Command."""
    expressions = sqlglot.parse(statement, read="tsql")
    assert len(expressions) == 1, statement
    tree = expressions[0]
    commands = [node for node in tree.walk() if isinstance(node, exp.Command)]
    assert not commands, f"sqlglot could not model {statement!r}"
    return tree


def placeholders(tree: exp.Expression) -> int:
    return sum(1 for node in tree.walk() if isinstance(node, exp.Placeholder))


def app_row(key: int) -> tuple:
    return (key, "Zoë", None, Decimal("1.50"), NOW, dt.date(1990, 1, 1), 1, 30, 0.5)


# ---------------------------------------------------------------- DDL


def test_table_creation_first_takes_a_transaction_applock():
    lock = ddl_statements(MSSQL, SCHEMA)[0]
    tree = parse_tsql(lock)
    assert isinstance(tree, exp.Execute) and tree.this.name == "sp_getapplock"
    assert "@LockOwner = N'Transaction'" in lock and "@LockMode = N'Exclusive'" in lock


def test_create_schema_parses_and_runs_create_schema_dynamically():
    statement = ddl_statements(MSSQL, SCHEMA)[1]
    tree = parse_tsql(statement)
    assert isinstance(tree, exp.IfBlock)
    execute = tree.find(exp.ExecuteSql)
    assert execute is not None
    inner = execute.find(exp.National).name
    assert isinstance(parse_tsql(inner), exp.Create) and inner == "CREATE SCHEMA [sandbox]"
    assert statement.startswith("IF SCHEMA_ID(N'sandbox') IS NULL BEGIN")


def test_create_tables_parse_with_types_keys_and_existence_check():
    statements = ddl_statements(MSSQL, SCHEMA)[2:]
    assert len(statements) == 7  # three tables, processing_log, xmlshred_runs, xmlshred_quality, xmlshred_rejects
    created = {}
    for statement in statements:
        tree = parse_tsql(statement)
        assert isinstance(tree, exp.IfBlock)
        assert tree.find(exp.ObjectId) is not None  # IF OBJECT_ID(...) IS NULL
        create = tree.find(exp.Create)
        table = create.find(exp.Table)
        assert table.db == "sandbox"
        created[table.name] = {
            column.name: column.args["kind"].sql("tsql") for column in create.find_all(exp.ColumnDef)
        }
        keys = [key for key in create.find_all(exp.PrimaryKey)]
        assert len(keys) == 1
    assert created["app_base"] == {
        "app_id": "BIGINT", "name": "NVARCHAR(50)", "notes": "NVARCHAR(MAX)", "amount": "NUMERIC(18, 2)",
        "received": "DATETIME2(6)", "born": "DATE", "active": "BIT", "age": "TINYINT", "ratio": "FLOAT",
    }
    assert created["processing_log"] == {
        "app_id": "BIGINT", "status": "NVARCHAR(16)", "stage": "NVARCHAR(16)", "reason": "NVARCHAR(1000)",
        "attempts": "INTEGER", "run_id": "NVARCHAR(64)", "updated_at": "DATETIME2(6)",
        "contract_hash": "NVARCHAR(64)",
    }
    assert created["xmlshred_runs"] == {
        "run_id": "NVARCHAR(64)", "host": "NVARCHAR(255)", "pid": "INTEGER", "started": "DATETIME2(6)",
        "heartbeat": "DATETIME2(6)", "finished": "DATETIME2(6)", "outcome": "NVARCHAR(32)",
        "contract_hash": "NVARCHAR(64)", "contract_tables": "NVARCHAR(4000)",
    }
    assert "DECIMAL(18,2)" in statements[0]  # sqlglot normalises DECIMAL to NUMERIC above


def test_create_table_marks_key_columns_not_null():
    statement = ddl_statements(MSSQL, SCHEMA)[4]
    assert "[app_id] BIGINT NOT NULL" in statement and "[score_identifier] NVARCHAR(10) NOT NULL" in statement
    assert statement.startswith("IF OBJECT_ID(N'[sandbox].[scores]', N'U') IS NULL CREATE TABLE [sandbox].[scores] (")
    assert statement.endswith("PRIMARY KEY ([app_id], [score_identifier]))")


# ---------------------------------------------------------------- writes


def test_plain_multi_row_insert_parses_with_one_placeholder_per_value():
    steps = list(plan_flush(VALUES, SCHEMA, [("app_base", [app_row(1), app_row(2), app_row(3)])], []))
    assert len(steps) == 1
    tree = parse_tsql(steps[0].sql)
    assert isinstance(tree, exp.Insert)
    assert tree.this.this.sql("tsql") == "[sandbox].[app_base]"
    assert len(tree.expression.expressions) == 3  # VALUES rows
    assert placeholders(tree) == len(steps[0].params) == 3 * len(APP_BASE.columns)


def test_freetds_inserts_one_json_parameter_per_chunk_read_by_openjson():
    rows = [app_row(key) for key in range(1, 12_001)]
    steps = list(plan_flush(FREETDS, SHORT, [("app_base", rows)], []))
    assert FREETDS.insert_strategy == "openjson" and [len(json.loads(step.params[0])) for step in steps] == [
        5000, 5000, 2000]
    tree = parse_tsql(steps[0].sql)
    assert isinstance(tree, exp.Insert) and placeholders(tree) == len(steps[0].params) == 1
    openjson = tree.find(exp.OpenJSON)
    assert openjson is not None
    kinds = {definition.this.name: (definition.args["kind"].sql("tsql"), definition.args["path"].name)
             for definition in openjson.expressions}
    assert kinds == {  # numbers by type, every other value as text the column assignment converts
        "app_id": ("BIGINT", "$[0]"), "name": ("NVARCHAR(MAX)", "$[1]"), "notes": ("NVARCHAR(MAX)", "$[2]"),
        "amount": ("NVARCHAR(MAX)", "$[3]"), "received": ("NVARCHAR(MAX)", "$[4]"),
        "born": ("NVARCHAR(MAX)", "$[5]"), "active": ("BIGINT", "$[6]"), "age": ("BIGINT", "$[7]"),
        "ratio": ("FLOAT", "$[8]")}
    assert json.loads(steps[0].params[0])[0] == [1, "Zoë", None, "1.50", "2025-01-02T03:04:05.678901", "19900101",
                                                 1, 30, 0.5]


def test_a_chunk_with_a_text_of_4000_characters_or_more_is_written_with_values():
    """Babelfish's OPENJSON cuts NVARCHAR(MAX) values at 4,000 characters without a word: a chunk
    holding such a value in a column that allows it (NVARCHAR(9000), NVARCHAR(MAX), NVARCHAR(4000))
    goes as multi-row VALUES; the other chunks of the same table still go as JSON."""
    for length in (9000, None, 4000):
        table = replace(APP_BASE, columns=tuple(replace(column, data_length=length) if column.name == "notes"
                                                else column for column in APP_BASE.columns))
        schema = replace(SCHEMA, tables=(table,))
        short = [app_row(key) for key in range(1, 5001)]
        long = [app_row(key)[:2] + ("n" * 4000,) + app_row(key)[3:] for key in (5001,)]
        steps = list(plan_flush(FREETDS, schema, [("app_base", short + long + short[:10])], []))
        # rows 1-5000: one JSON chunk; 5001 (its text too long for OPENJSON) and the 10 after it: VALUES
        assert ["OPENJSON" in step.sql for step in steps] == [True, False]
        assert len(json.loads(steps[0].params[0])) == 5000
        assert len(steps[1].params) == 11 * len(APP_BASE.columns) and "n" * 4000 in steps[1].params
        mixed = list(plan_flush(FREETDS, schema, [("app_base", short[:3999] + [long[0]])], []))
        assert not [step for step in mixed if "OPENJSON" in step.sql]  # one chunk: all of it VALUES
        assert sum(len(step.params) for step in mixed) == 4000 * len(APP_BASE.columns)
    # 3,999 characters in an NVARCHAR(MAX) column: OPENJSON carries it whole
    table = replace(APP_BASE, columns=tuple(replace(column, data_length=None) if column.name == "notes"
                                            else column for column in APP_BASE.columns))
    row = app_row(1)[:2] + ("n" * 3999,) + app_row(1)[3:]
    (step,) = plan_flush(FREETDS, replace(SCHEMA, tables=(table,)), [("app_base", [row])], [])
    assert "OPENJSON" in step.sql and json.loads(step.params[0])[0][2] == "n" * 3999


def test_a_value_json_cannot_carry_is_a_data_error_naming_the_table():
    row = (1, None, None, None, None, None, None, None, float("nan"))
    with pytest.raises(DataTargetError, match="table=app_base"):
        list(plan_flush(FREETDS, SHORT, [("app_base", [row])], []))


def test_values_are_parameters_never_sql_text():
    row = (1, "x'); DROP TABLE app_base; --", None, Decimal("9.99"), NOW, None, 0, 1, 1.5)
    steps = list(plan_flush(VALUES, SCHEMA, [("app_base", [row])], []))
    assert "DROP" not in steps[0].sql and list(steps[0].params[:2]) == [1, row[1]]
    steps = list(plan_flush(FREETDS, SHORT, [("app_base", [row])], []))
    assert "DROP" not in steps[0].sql and json.loads(steps[0].params[0])[0][:2] == [1, row[1]]


def test_sql_server_rows_are_text_made_by_the_worker_and_sent_unchanged():
    """The workers' conversion (the dialect's row_values) gives text the server converts exactly
    and alike under every language setting (ISO 8601 datetime with T, unseparated date, plain
    decimal); a flush sends it as it is (as parameters, or as the values of the JSON parameter)."""
    aware = dt.datetime(2025, 1, 2, 5, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    row = (1, None, None, Decimal("1.5"), aware, dt.datetime(1990, 1, 1, 12, 0), True, None, 0.1)
    for dialect in (FREETDS, MS18, VALUES):
        (ready,) = dialect.row_values(APP_BASE.columns)([row])
        assert ready == (1, None, None, "1.50", "2025-01-02T03:04:05.678901", "19900101", 1, None, 0.1)
        steps = list(plan_flush(dialect, SHORT, [("app_base", [ready])], []))
        if dialect.insert_strategy == "openjson":
            sent = json.loads(steps[0].params[0])[0]
        else:
            sent = steps[0].params[0] if steps[0].many else steps[0].params
        assert tuple(sent) == ready


def test_sql_server_dates_and_datetimes_are_in_forms_no_dateformat_can_misread():
    """'YYYY-MM-DD HH:MM:SS' into a DATETIME column is read as year-day-month under DATEFORMAT dmy
    (2025-03-04 becomes 3 April), and a DATETIME takes at most three fraction digits. SQL Server is
    sent 'YYYY-MM-DDTHH:MM:SS' with the fraction's significant digits and 'YYYYMMDD' instead: each
    reads back as the value itself."""
    import random

    columns = (Column("at", "datetime"), Column("on", "date"))
    rng = random.Random(12)
    rows = [(dt.datetime(2025, 3, 4, 5, 6, 7), dt.date(2025, 3, 4)),
            (dt.datetime(2025, 3, 4, 5, 6, 7, 120000), dt.date(1, 1, 1)),
            (dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.date(9999, 12, 31)),
            (dt.datetime(2025, 3, 4, 0, 0, 0, 500), None), (None, None)]
    rows += [(dt.datetime(rng.randrange(1, 10000), rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24),
                          rng.randrange(60), rng.randrange(60), rng.choice((0, 0, 1000 * rng.randrange(1000),
                                                                           rng.randrange(10**6)))),
              dt.date(rng.randrange(1, 10000), rng.randrange(1, 13), rng.randrange(1, 29))) for _ in range(2000)]
    ready = MS18.row_values(columns)(rows)
    assert ready[:4] == [("2025-03-04T05:06:07", "20250304"), ("2025-03-04T05:06:07.12", "00010101"),
                         ("9999-12-31T23:59:59.999999", "99991231"), ("2025-03-04T00:00:00.0005", None)]
    assert ready[4] == (None, None)
    for (at, on), (at_text, on_text) in zip(rows[5:], ready[5:], strict=True):
        assert dt.datetime.fromisoformat(at_text) == at and "T" in at_text and " " not in at_text
        assert not at_text.endswith("0") or "." not in at_text  # no trailing fraction zeros
        if at.microsecond % 1000 == 0:  # a value a DATETIME column can hold gets at most three digits
            assert len(at_text.partition(".")[2]) <= 3
        assert dt.datetime.strptime(on_text, "%Y%m%d").date() == on and len(on_text) == 8
    # SQLite and PostgreSQL keep the canonical forms of docs/contract.md.
    assert SQLITE.row_values(columns)(rows[:2]) == [("2025-03-04 05:06:07", "2025-03-04"),
                                                    ("2025-03-04 05:06:07.120000", "0001-01-01")]


def statements_of(sql_text: str) -> list[exp.Expression]:
    """The statements of one T-SQL batch, each a real expression (never exp.Command)."""
    trees = sqlglot.parse(sql_text, read="tsql")
    for tree in trees:
        assert not [node for node in tree.walk() if isinstance(node, exp.Command)], tree.sql("tsql")
    return trees


@pytest.mark.parametrize("dialect", [VALUES, FREETDS], ids=["values", "openjson"])
def test_skip_inserts_only_missing_keys_without_merge(dialect):
    steps = list(plan_flush(dialect, SCHEMA, [("contact", [(1, 1, "A"), (2, 1, "B"), (1, 1, "dup")])], []))
    (tree,) = statements_of(steps[0].sql)
    assert isinstance(tree, exp.Insert) and "MERGE" not in steps[0].sql.upper()
    exists = tree.find(exp.Exists)
    assert isinstance(exists.parent, exp.Not)
    assert exists.find(exp.Table).sql("tsql").startswith("[sandbox].[contact]")
    assert "WITH (UPDLOCK, HOLDLOCK)" in steps[0].sql
    if dialect is VALUES:
        assert placeholders(tree) == len(steps[0].params) == 2 * 3  # duplicate key dropped (first kept)
    else:
        assert json.loads(steps[0].params[0]) == [[1, 1, "A"], [2, 1, "B"]]


@pytest.mark.parametrize("dialect", [VALUES, FREETDS], ids=["values", "openjson"])
def test_update_is_update_from_then_insert_where_not_exists(dialect):
    steps = list(plan_flush(dialect, SCHEMA, [("scores", [(1, "FICO", 1), (1, "FICO", 2)])], []))
    update, insert = statements_of(steps[0].sql)
    assert isinstance(update, exp.Update) and isinstance(insert, exp.Insert)  # UPDATE first: new rows count once
    assert [eq.this.name for eq in update.expressions] == ["score"]  # keys are never set
    assert update.find(exp.Join) is not None and insert.find(exp.Exists) is not None
    if dialect is VALUES:
        assert steps[0].params == [1, "FICO", 2] * 2  # the later row wins; the batch reads the rows twice
        assert placeholders(update) + placeholders(insert) == len(steps[0].params)
    else:
        assert steps[0].params == ['[[1,"FICO",2]]'] * 2


@pytest.mark.parametrize("dialect", [VALUES, FREETDS], ids=["values", "openjson"])
def test_processing_log_upsert_increments_attempts(dialect):
    rows = [LogRow(1, "success", None, None, "r", NOW), LogRow(2, "failed", "map", "out of range", "r", NOW)]
    steps = list(plan_flush(dialect, SCHEMA, [], rows))
    update, insert = statements_of(steps[0].sql)
    assert "FROM [sandbox].[processing_log] AS [t] WITH (UPDLOCK, HOLDLOCK) JOIN (" in update.sql("tsql")
    assert "[attempts] = [t].[attempts] + 1" in steps[0].sql
    first = [1, "success", None, None, 1, "r", "2025-01-02T03:04:05.678901"]
    width = len(log_table("app_id").columns)  # 8: contract_hash included
    if dialect is VALUES:
        assert placeholders(update) == placeholders(insert) == 2 * width and len(steps[0].params) == 4 * width
        assert steps[0].params[:7] == first
    else:
        assert json.loads(steps[0].params[0])[0][:7] == first








def test_processing_log_upsert_never_turns_success_into_failed():
    """The UPDATE's WHERE carries the rule: an existing success meeting an incoming failed is kept
    (and the INSERT only adds keys not there at all)."""
    steps = list(plan_flush(VALUES, SCHEMA, [], [LogRow(1, "failed", "insert", "conflict", "r", NOW)]))
    update, _insert = statements_of(steps[0].sql)
    condition = update.args["where"].this
    assert isinstance(condition, exp.Not)
    literals = {(eq.this.table, eq.expression.this) for eq in condition.find_all(exp.EQ)}
    assert literals == {("t", "success"), ("s", "failed")}
    assert "WHERE NOT ([t].[status] = N'success' AND [s].[status] = N'failed');" in steps[0].sql


def test_no_statement_of_any_sql_server_dialect_uses_merge():
    """Babelfish refuses MERGE; every statement a flush, the probe, the lease or init-db sends is
    checked for the word (the source code of the SQL builders too)."""
    import xmlshred.db.sql as builders
    from xmlshred.targets.runs_table import RunsStatements

    rows = [LogRow(1, "failed", "map", "x", "r", NOW)]
    flush = [("app_base", [app_row(1)]), ("contact", [(1, 1, "A")]), ("scores", [(1, "F", 1)])]
    for dialect in (FREETDS, MS18, VALUES, MSSQL):
        texts = [step.sql for step in plan_flush(dialect, SCHEMA, flush, rows, identity_columns=True)]
        texts += ddl_statements(dialect, SCHEMA)
        lock = dialect.run_lock(dialect, "sandbox")
        runs = RunsStatements(dialect, "sandbox")
        texts += [lock.acquire, lock.release, runs.open_runs(), runs.insert("r", "h", 1, NOW)[0]]
        assert not [text for text in texts if "MERGE" in text.upper()]
    source = (ROOT / "xmlshred" / "db" / "sql.py").read_text()
    assert not [line for line in source.splitlines() if "MERGE " in line and not line.lstrip().startswith("#")
                and '"""' not in line and "MERGE" in line.split("#")[0] and "f\"" in line]
    assert not hasattr(builders, "upsert_merge")


# ---------------------------------------------------------------- run lease


def test_run_lease_takes_a_session_applock_without_waiting():
    statements = MSSQL.run_lock(MSSQL, "sandbox")
    batch = sqlglot.parse(statements.acquire, read="tsql")
    assert [type(node).__name__ for node in batch] == ["Set", "Declare", "Execute", "Select"]
    for node in batch:
        assert not [n for n in node.walk() if isinstance(n, exp.Command)], node.sql("tsql")
    execute = batch[2]
    assert execute.this.name == "sp_getapplock"
    assert execute.args["return_status"].name == "granted"
    arguments = {eq.this.name: eq.expression.this for eq in execute.expressions}
    assert arguments == {"Resource": "xmlshred.run.sandbox", "LockMode": "Exclusive",
                         "LockOwner": "Session", "LockTimeout": "0"}
    case = batch[3].expressions[0].this
    assert isinstance(case, exp.Case)  # 1 when granted (status >= 0), else 0: -1 and -999 both refuse
    assert isinstance(case.args["ifs"][0].this, exp.GTE) and case.args["ifs"][0].this.expression.name == "0"

    # Released only while held: Babelfish raises on releasing a lock the session does not hold.
    release = parse_tsql(statements.release)
    assert isinstance(release, exp.IfBlock)
    mode = release.this
    assert isinstance(mode, exp.NEQ) and mode.this.name.upper() == "APPLOCK_MODE"
    assert [arg.this for arg in mode.this.expressions] == ["public", "xmlshred.run.sandbox", "Session"]
    assert mode.expression.this == "NoLock"
    execute = release.find(exp.Execute)
    assert execute.this.name == "sp_releaseapplock"
    assert {eq.this.name: eq.expression.this for eq in execute.expressions} == {
        "Resource": "xmlshred.run.sandbox", "LockOwner": "Session"}


def test_run_lease_resource_is_per_schema_and_refuses_unsafe_names():
    assert MSSQL.run_lock(MSSQL, "a").acquire != MSSQL.run_lock(MSSQL, "b").acquire
    with pytest.raises(sql.UnsafeIdentifierError):
        MSSQL.run_lock(MSSQL, "x'; DROP TABLE t; --")


def test_runs_table_statements_parse():
    from xmlshred.targets.runs_table import RunsStatements

    statements = RunsStatements(MSSQL, "sandbox")
    insert, params = statements.insert("run-1", "host", 42, NOW)
    assert isinstance(parse_tsql(insert), exp.Insert) and placeholders(parse_tsql(insert)) == len(params) == 7
    for statement, params in (statements.heartbeat("run-1", NOW), statements.finish("run-1", "finished", NOW)):
        tree = parse_tsql(statement)
        assert isinstance(tree, exp.Update) and placeholders(tree) == len(params)
    select = parse_tsql(statements.open_runs())
    assert isinstance(select, exp.Select) and select.find(exp.Is) is not None


def test_identity_insert_wraps_identity_tables_only_when_configured():
    flush = [("app_base", [app_row(1)]), ("contact", [(1, 1, "A")])]
    assert [step.kind for step in plan_flush(FREETDS, SCHEMA, flush, [])] == ["write", "write"]
    steps = list(plan_flush(FREETDS, SCHEMA, flush, [], identity_columns=True))
    assert [step.sql for step in steps if step.kind != "write"] == [
        "SET IDENTITY_INSERT [sandbox].[app_base] ON",
        "SET IDENTITY_INSERT [sandbox].[app_base] OFF",
    ]
    assert [step.kind for step in steps] == ["identity_on", "write", "identity_off", "write"]
    assert steps[0].undo == "SET IDENTITY_INSERT [sandbox].[app_base] OFF"
    # PostgreSQL and SQLite have no IDENTITY_INSERT: the setting changes nothing there.
    from xmlshred.db.dialects import POSTGRESQL
    ready = list(ready_tables(SCHEMA, POSTGRESQL, flush))
    assert [step.kind for step in plan_flush(POSTGRESQL, SCHEMA, ready, [], identity_columns=True)] == [
        "write", "write"]


def test_microsoft_driver_uses_fast_executemany_freetds_never():
    assert MS18.fast_executemany and MS18.insert_strategy == "executemany"
    assert identify_driver("ODBC Driver 17 for SQL Server").dialect.fast_executemany
    assert identify_driver("ODBC Driver 19 for SQL Server").dialect.fast_executemany
    assert not FREETDS.fast_executemany and FREETDS.insert_strategy == "openjson"
    for name in ("/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so", "ODBC Driver 13 for SQL Server",
                 "SQL Server", "SQL Server Native Client 11.0"):
        driver = identify_driver(name)
        assert driver.dialect.name == "mssql"
        assert not driver.dialect.fast_executemany
        assert driver.dialect.insert_strategy == ("openjson" if "tds" in name else "multi_row_values")
    steps = list(plan_flush(MS18, SCHEMA, [("app_base", [app_row(key) for key in range(1, 2500)])], []))
    assert all(step.many for step in steps)
    assert [len(step.params) for step in steps] == [1000, 1000, 499]
    assert placeholders(parse_tsql(steps[0].sql)) == len(APP_BASE.columns)
    # An upsert reads its rows twice: each row's parameters twice over, one execution per row.
    (step,) = plan_flush(MS18, SCHEMA, [("scores", [(1, "F", 1), (2, "F", 2)])], [])
    assert step.many and step.params == [(1, "F", 1, 1, "F", 1), (2, "F", 2, 2, "F", 2)]


@pytest.mark.parametrize("driver_file, safe", [
    ("libmsodbcsql-18.3.so.2.1", True), ("libmsodbcsql-17.10.so.6.1", True), ("msodbcsql18.dll", True),
    ("libmsodbcsql-13.1.so.9.2", False), ("libtdsodbc.so", False), ("libtdsodbc.so.0", False),
    ("psqlodbcw.so", False), ("SQLSRV32.DLL", False), ("", False), (None, False),
])
def test_fast_executemany_needs_microsofts_driver_file_whatever_the_dialect_says(driver_file, safe):
    from xmlshred.db.dialects import microsoft_driver_file

    assert microsoft_driver_file(driver_file) is safe


def test_sqlite_connection_never_gets_fast_executemany(tmp_path):
    """set_fast_executemany asks the driver manager which driver it loaded; a connection that cannot
    say (here SQLite's) is unknown, and unknown is never trusted, whatever the dialect record says."""
    import sqlite3

    from xmlshred.db.odbc import set_fast_executemany

    class Cursor:
        fast_executemany = False

    connection = sqlite3.connect(str(tmp_path / "x.db"))
    cursor = Cursor()
    assert not set_fast_executemany(connection, cursor, MS18) and cursor.fast_executemany is False
    connection.close()


def test_only_one_place_in_the_code_sets_fast_executemany():
    """No code path can enable fast_executemany with FreeTDS: the only assignment to it, in the
    package, the CLI and the benchmarks, is in db.odbc.set_fast_executemany, which checks the driver
    the connection actually loaded (live: test_mssql_live.py runs a forced dialect through FreeTDS)."""
    import ast

    found = []
    for path in [*(ROOT / "xmlshred").rglob("*.py"), *(ROOT / "bench").rglob("*.py"), ROOT / "cli.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.AnnAssign, ast.AugAssign)) else []
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "fast_executemany":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Call) and any(k.arg == "fast_executemany" for k in node.keywords):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}:call")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" and any(
                    isinstance(arg, ast.Constant) and arg.value == "fast_executemany" for arg in node.args):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}:setattr")
    odbc = [place for place in found if place.startswith("xmlshred/db/odbc.py:")]
    assert len(odbc) == 1 and not [place for place in found if place not in odbc
                                   and not place.startswith("xmlshred/db/dialects.py:")], found


def table_of(width: int) -> Table:
    columns = tuple(Column(f"c{index}", "int") for index in range(width))
    return Table("wide", columns, primary_key=("c0",))


@settings(max_examples=120, deadline=None)
@given(width=st.integers(1, 300), rows=st.integers(1, 3000),
       on_conflict=st.sampled_from(["error", "skip", "update"]))
def test_chunks_never_exceed_1000_rows_or_2099_parameters(width, rows, on_conflict):
    table = replace(table_of(width), on_conflict=on_conflict)
    schema = TargetSchema("dbo", "c0", (table,))
    data = [(key,) + (0,) * (width - 1) for key in range(rows)]
    steps = list(plan_flush(VALUES, schema, [("wide", data)], []))
    uses = 2 if on_conflict == "update" and width > 1 else 1  # UPDATE then INSERT read the rows twice
    for step in steps:
        assert len(step.params) <= 2099
        assert len(step.params) // width <= 1000 * uses
        assert step.sql.count("?") == len(step.params)
    assert sum(len(step.params) for step in steps) == rows * width * uses
    assert sum(1 for _ in steps) >= -(-rows // min(1000, 2099 // (width * uses)))
    json_steps = list(plan_flush(FREETDS, schema, [("wide", data)], []))
    assert all(step.sql.count("?") == len(step.params) == uses for step in json_steps)
    assert sum(len(json.loads(step.params[0])) for step in json_steps) == rows


@pytest.mark.parametrize("width", [1, 2, 7, 300])
def test_largest_chunks_parse(width):
    schema = TargetSchema("dbo", "c0", (replace(table_of(width), on_conflict="update"),))
    data = [(key,) + (0,) * (width - 1) for key in range(1500)]
    for on_conflict in ("error", "update"):
        table = replace(schema.tables[0], on_conflict=on_conflict)
        step = next(plan_flush(VALUES, replace(schema, tables=(table,)), [("wide", data)], []))
        trees = statements_of(step.sql)
        assert sum(placeholders(tree) for tree in trees) == len(step.params) <= 2099


def test_processing_log_chunks_stay_within_limits():
    rows = [LogRow(key, "success", None, None, "r", NOW) for key in range(1, 1001)]
    steps = list(plan_flush(VALUES, SCHEMA, [], rows))
    assert all(len(step.params) <= 2099 for step in steps)
    assert sum(len(step.params) for step in steps) == 2 * 1000 * len(log_table("app_id").columns)


# ---------------------------------------------------------------- reads (target and source)


def test_done_keys_and_source_queries_parse():
    ref = sql.table_ref(MSSQL, "sandbox", "processing_log")
    tree = parse_tsql(sql.select_in(MSSQL, ref, ("app_id", "status"), "app_id", 1000))
    assert isinstance(tree, exp.Select) and placeholders(tree) == 1000

    page, params = sql.keyset_page(MSSQL, "[dbo].[app_xml]", "app_id", 500, 250, 1, 90000)
    tree = parse_tsql(page)
    assert isinstance(tree, exp.Select)
    assert page == ("SELECT TOP (250) [app_id] FROM [dbo].[app_xml] WHERE [app_id] > ? AND [app_id] >= ? "
                    "AND [app_id] <= ? ORDER BY [app_id]")
    assert params == (500, 1, 90000) and "OFFSET" not in page.upper()
    assert tree.args["limit"] is not None and tree.args.get("order") is not None

    first, params = sql.keyset_page(MSSQL, "[dbo].[app_xml]", "app_id", None, 10)
    assert isinstance(parse_tsql(first), exp.Select) and params == ()

    count, params = sql.count_rows(MSSQL, "[dbo].[app_xml]", "app_id", 5, None)
    assert isinstance(parse_tsql(count), exp.Select) and "COUNT_BIG(*)" in count and params == (5,)


def test_odbc_source_builds_tsql_for_a_sql_server_driver():
    source = OdbcTableSource("DRIVER={ODBC Driver 18 for SQL Server};SERVER=db;PWD=x", "dbo.app_xml",
                             "app_xml", "app_id")
    assert source.dialect.name == "mssql" and source._ref == "[dbo].[app_xml]"
    assert source._fetch_chunk <= 2099
    fetch = sql.select_in(source.dialect, source._ref, ("app_id", "app_xml"), "app_id", source._fetch_chunk)
    assert placeholders(parse_tsql(fetch)) == source._fetch_chunk


def test_source_prefix_query_reads_substring_and_datalength():
    source = OdbcTableSource("DRIVER={ODBC Driver 18 for SQL Server};SERVER=db;PWD=x", "dbo.app_xml",
                             "app_xml", "app_id")
    statement = sql.select_prefixes_in(source.dialect, source._ref, "app_id", "app_xml", 32768,
                                       source._fetch_chunk)
    assert statement.startswith("SELECT [app_id], SUBSTRING([app_xml], 1, 32768), "
                                "DATALENGTH(SUBSTRING([app_xml], 1, 32768)), DATALENGTH([app_xml]) "
                                "FROM [dbo].[app_xml] WHERE [app_id] IN (?")
    tree = parse_tsql(statement)
    assert isinstance(tree, exp.Select) and placeholders(tree) == source._fetch_chunk
    substrings = list(tree.find_all(exp.Substring))
    assert len(substrings) == 2 and all(node.this.name == "app_xml" for node in substrings)
    assert [node.args["start"].name for node in substrings] == ["1", "1"]
    assert [node.args["length"].name for node in substrings] == ["32768", "32768"]
    lengths = [node for node in tree.find_all(exp.Anonymous) if node.name.upper() == "DATALENGTH"]
    assert len(lengths) == 2 and isinstance(lengths[0].expressions[0], exp.Substring) != isinstance(
        lengths[1].expressions[0], exp.Substring)  # one of the prefix, one of the whole value
    with pytest.raises(TargetError, match="positive"):
        sql.select_prefixes_in(source.dialect, source._ref, "app_id", "app_xml", 0, 1)


# ---------------------------------------------------------------- connection strings


def test_sql_authentication_with_driver_18_keywords():
    text = build_connection_string(OdbcSettings(
        driver="ODBC Driver 18 for SQL Server", server="db.example.com", port=1433, database="credit",
        username="loader", password="p@ss", encrypt="strict", trust_server_certificate=False,
        mars_connection=True, timeout=5,
    ))
    assert text == ("DRIVER={ODBC Driver 18 for SQL Server};SERVER=db.example.com,1433;DATABASE=credit;"
                    "UID=loader;PWD=p@ss;Encrypt=strict;TrustServerCertificate=no;MARS_Connection=yes")


def test_trusted_connection_has_no_uid_or_pwd():
    text = build_connection_string(OdbcSettings(
        driver="ODBC Driver 17 for SQL Server", server="SQLHOST\\SQLEXPRESS", database="credit",
        trusted_connection=True, encrypt=True, trust_server_certificate=True, username="ignored",
        password="ignored",
    ))
    assert text == ("DRIVER={ODBC Driver 17 for SQL Server};SERVER=SQLHOST\\SQLEXPRESS;DATABASE=credit;"
                    "Trusted_Connection=yes;Encrypt=yes;TrustServerCertificate=yes")


def test_freetds_and_postgres_take_a_port_keyword_and_refuse_microsoft_keywords():
    assert build_connection_string(OdbcSettings(driver="FreeTDS", server="h", port=1433, username="u")) == \
        "DRIVER={FreeTDS};SERVER=h;PORT=1433;UID=u"
    assert build_connection_string(OdbcSettings(driver="PostgreSQL Unicode", server="h", port=5432)) == \
        "DRIVER={PostgreSQL Unicode};SERVER=h;PORT=5432"
    with pytest.raises(TargetError, match="Encrypt"):
        build_connection_string(OdbcSettings(driver="FreeTDS", server="h", encrypt="yes"))
    with pytest.raises(TargetError, match="trusted_connection"):
        build_connection_string(OdbcSettings(driver="PostgreSQL Unicode", trusted_connection=True))


def test_values_are_brace_escaped_and_parse_back():
    password = "a;b}c{d= e "
    text = build_connection_string(OdbcSettings(driver="ODBC Driver 18 for SQL Server", server="s",
                                                username="u;x", password=password))
    assert "PWD={a;b}}c{d= e }" in text and "UID={u;x}" in text
    assert dict(parse_connection_string(text)) == {
        "DRIVER": "ODBC Driver 18 for SQL Server", "SERVER": "s", "UID": "u;x", "PWD": password,
    }
    masked = mask_secrets(text)
    assert "a;b" not in masked and "c{d" not in masked and masked.endswith("PWD=***")


def test_password_from_environment_and_url_keywords_win():
    spec = parse_target_url(
        "odbc:Encrypt=no;DATABASE=override",
        {"driver": "ODBC Driver 18 for SQL Server", "server": "db", "database": "credit", "username": "u",
         "password_env": "XS_TEST_PWD", "encrypt": "yes", "timeout": 7},
        environ={"XS_TEST_PWD": "from-env"},
    )
    pairs = dict(parse_connection_string(spec.connection_string))
    assert pairs["PWD"] == "from-env" and pairs["Encrypt"] == "no" and pairs["DATABASE"] == "override"
    assert spec.login_timeout_s == 7 and spec.dialect.name == "mssql" and spec.dialect.fast_executemany
    assert "from-env" not in repr(spec) and "PWD=***" in spec.description
    with pytest.raises(TargetError, match="XS_MISSING"):
        build_connection_string(OdbcSettings(driver="FreeTDS", password_env="XS_MISSING"), environ={})


@pytest.mark.parametrize("text, expected", [
    ("DRIVER={FreeTDS};PWD=secret;UID=sa", "DRIVER={FreeTDS};PWD=***;UID=sa"),
    ("Password = {se;c}}ret};Server=x", "Password = ***;Server=x"),
    ("pwd=abc", "pwd=***"),
    ("error near odbc:DRIVER=x;PWD=a b c", "error near odbc:DRIVER=x;PWD=***"),
    ("postgresql://user:hunter2@host/db", "postgresql://user:***@host/db"),
    ("nothing secret here", "nothing secret here"),
])
def test_mask_secrets(text, expected):
    assert mask_secrets(text) == expected


def test_masking_twice_keeps_the_words_after_a_masked_password():
    """A message naming a connection string whose PWD comes last, masked again where it is logged,
    keeps what follows (what the server said, what to do)."""
    once = mask_secrets("target mssql:DRIVER={FreeTDS};UID=u;PWD=s3cret") + " refuses writes: SQLSTATE 42000; grant"
    assert mask_secrets(once) == once
    assert once == "target mssql:DRIVER={FreeTDS};UID=u;PWD=*** refuses writes: SQLSTATE 42000; grant"
    assert mask_secrets("PWD=***x;UID=u") == "PWD=***;UID=u"  # a password that merely starts with stars


def test_dialect_comes_from_the_driver_keyword():
    assert parse_target_url("odbc:DRIVER={PostgreSQL Unicode};SERVER=h").dialect.name == "postgresql"
    assert parse_target_url("odbc:Driver={FreeTDS};Server=h").dialect.name == "mssql"
    assert parse_target_url("odbc:DSN=prod", {"dialect": "mssql"}).dialect.name == "mssql"
    with pytest.raises(TargetError, match="DRIVER"):
        parse_target_url("odbc:DSN=prod;PWD=x")
    with pytest.raises(TargetError, match="not one xmlshred knows"):
        parse_target_url("odbc:DRIVER={Oracle 19};PWD=x")
    with pytest.raises(TargetError, match="unknown scheme") as caught:
        parse_target_url("mysql://root:topsecret@h/db")
    assert "topsecret" not in str(caught.value)


# ---------------------------------------------------------------- error classification


def pyodbc_error(sqlstate: str, native: int, cls=pyodbc.Error) -> Exception:
    """An exception in pyodbc's own format: ``[state] message (native) (function)``."""
    return cls(sqlstate, f"[{sqlstate}] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]text ({native}) "
                         "(SQLExecDirectW)")


@pytest.mark.parametrize("sqlstate, native, expected", [
    ("23000", 2627, DataTargetError),     # PRIMARY KEY violation
    ("23000", 547, DataTargetError),      # FOREIGN KEY / CHECK conflict
    ("23000", 515, DataTargetError),      # NULL into NOT NULL
    ("22001", 8152, DataTargetError),     # string or binary data would be truncated
    ("22003", 8115, DataTargetError),     # arithmetic overflow
    ("22007", 241, DataTargetError),      # conversion failed (date/time)
    ("22018", 245, DataTargetError),      # conversion failed (invalid character value)
    ("21000", 8672, DataTargetError),     # MERGE touched a row twice
    ("40001", 1205, TransientTargetError),  # deadlock victim
    ("HY000", 1205, TransientTargetError),  # deadlock reported by native code only
    ("08S01", 10054, TransientTargetError),  # communication link failure
    ("08001", 53, TransientTargetError),   # cannot open connection
    ("HYT00", 0, TransientTargetError),    # query timeout
    ("HYT01", 0, TransientTargetError),    # connection timeout
    ("40P01", 0, TransientTargetError),    # PostgreSQL deadlock
    ("57P01", 0, TransientTargetError),    # PostgreSQL admin shutdown
    ("57P02", 0, TransientTargetError),
    ("57P03", 0, TransientTargetError),
    ("42S02", 208, TargetError),           # invalid object name: run init-db
    ("42000", 102, TargetError),           # syntax error
    ("28000", 18456, TargetError),         # login failed
    ("HY000", 0, TargetError),
])
def test_odbc_error_classification(sqlstate, native, expected):
    assert MSSQL.classify_error(pyodbc_error(sqlstate, native)) is expected
    assert FREETDS.classify_error(pyodbc_error(sqlstate, native, pyodbc.OperationalError)) is expected
    if native != 1205:
        assert classify_sqlstate(sqlstate) is expected


def test_sqlite_classification_uses_error_codes_not_text(tmp_path):
    import sqlite3

    connection = sqlite3.connect(str(tmp_path / "c.db"))
    connection.execute("CREATE TABLE t (a INTEGER PRIMARY KEY NOT NULL)")
    connection.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        connection.execute("INSERT INTO t VALUES (1)")
    assert classify_sqlite_error(duplicate.value) is DataTargetError
    busy = sqlite3.OperationalError("any wording at all")
    busy.sqlite_errorcode, busy.sqlite_errorname = 5, "SQLITE_BUSY"
    assert classify_sqlite_error(busy) is TransientTargetError
    locked_text = sqlite3.OperationalError("database is locked")  # same words, no code: not guessed
    assert classify_sqlite_error(locked_text) is TargetError
    connection.close()


# ---------------------------------------------------------------- connecting with FreeTDS


def test_freetds_against_a_closed_port_fails_fast_with_a_masked_message():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = (
        "from xmlshred import targets\nfrom xmlshred.db.errors import ConnectTargetError\n"
        "from xmlshred.db.spec import parse_target_url\n"
        f"spec = parse_target_url('odbc:DRIVER={{FreeTDS}};SERVER=127.0.0.1;PORT={port};"
        "DATABASE=credit;UID=sa;PWD={Sup3r;Secret};TDS_Version=7.4', {'timeout': 2})\n"
        "try:\n"
        "    targets.open_target(spec)\n"
        "except ConnectTargetError as exc:\n"
        "    print('CONNECT-ERROR', exc.sqlstate, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr  # no crash, no hang
    assert result.stdout.startswith("CONNECT-ERROR 08"), result.stdout
    assert "Sup3r" not in result.stdout + result.stderr
    assert "PWD=***" in result.stdout and f"PORT={port}" in result.stdout
    assert "check [target] server and port" in result.stdout


def test_connect_error_type_is_exported():
    assert issubclass(ConnectTargetError, TargetError)
    assert not issubclass(ConnectTargetError, TransientTargetError)


# ---------------------------------------------------------------- Express's 10 GB cap (the estimate)


def test_express_is_told_by_the_edition_or_the_version_text():
    from xmlshred.db.capacity import is_express

    assert is_express("Express Edition (64-bit)", "")
    assert is_express(None, "Microsoft SQL Server 2022 (RTM) … Express Edition (64-bit) on Linux")
    assert not is_express("Standard Edition", "Babelfish for PostgreSQL with SQL Server Compatibility")
    assert not is_express("Developer Edition (64-bit)", None)


def test_the_size_estimate_scales_the_sampled_rows_stored_sizes_to_the_whole_source():
    from xmlshred.db.capacity import LOG_ROW_BYTES, estimate_bytes, stored_row_bytes
    from xmlshred.vocab.results import MappedRecord, RecordFailure

    row = (1, "Zoë", None, Decimal("1.50"), NOW, dt.date(1990, 1, 1), 1, 30, 0.5)
    # header 10 + null bitmap 2; bigint 8, 3 UTF-16 chars + offset 8, decimal(18,2) 9, datetime2 8, date 3,
    # bit 1, tinyint 1, float 8; the NULL string takes nothing
    assert stored_row_bytes(APP_BASE, row) == 12 + 8 + 8 + 9 + 8 + 3 + 1 + 1 + 8
    records = [MappedRecord(1, (("app_base", (row, row)),)), RecordFailure(2, "parse", "bad")]
    size, sampled = estimate_bytes({"app_base": APP_BASE}, records, 1_000_000)
    assert sampled == 2 and size == (2 * stored_row_bytes(APP_BASE, row) + 2 * LOG_ROW_BYTES) * 1_000_000 // 2
    assert estimate_bytes({"app_base": APP_BASE}, [], 10) == (0, 0)
