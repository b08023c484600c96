"""Rows made database-ready in the worker (db.values): per dialect, per batch, and what PostgreSQL stores.

The mapper workers turn each batch's mapped rows into plain values once
(``ReadyResults``); the inserter sends them as they are. These tests pin the
forms per dialect, the batch payload (one BatchRows per batch, grouped by
table, each row owned by its record), and that PostgreSQL stores exactly what
it stored when it was sent Python ``Decimal``/``datetime`` parameters.
"""

from __future__ import annotations

import datetime as dt
import pickle
from decimal import Decimal

import pytest

from tests.helpers import EXAMPLE_CONTRACT, PINNED_NOW
from xmlshred.contract import MapOptions, compile_contract, load_contract
from xmlshred.db import sql
from xmlshred.db.dialects import MSSQL, POSTGRESQL, SQLITE
from xmlshred.db.values import ReadyResults, column_array, ready_tables
from xmlshred.targets import open_target, parse_target_url
from xmlshred.targets.target import _dedupe
from xmlshred.vocab.results import MappedRecord, ReadyRecord, RecordFailure
from xmlshred.vocab.schema import Column, Table, TargetSchema

COLUMNS = (
    Column("app_id", "bigint"), Column("name", "string", 40), Column("amount", "decimal", 2),
    Column("at", "datetime"), Column("day", "date"), Column("flag", "bit"), Column("ratio", "float"),
)
AWARE = dt.datetime(2025, 1, 2, 5, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=2)))
ROW = (7, 'Zoë "Q" \\ back', Decimal("1.005"), AWARE, dt.datetime(1990, 1, 1, 12, 0), True, 0.1)
EMPTY = (8, None, None, None, None, None, None)


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL, MSSQL])
def test_every_database_gets_the_same_canonical_text(dialect):
    """The same text everywhere, but for SQL Server's dates and datetimes (test_mssql_sql: the ISO
    8601 forms it reads alike under every DATEFORMAT)."""
    converted = dialect.row_values(COLUMNS)([ROW, EMPTY, (9, "NULL", Decimal("2"), dt.datetime(2024, 1, 2, 3, 4, 5),
                                                           dt.date(2024, 2, 29), 0, 1.0)])
    if dialect is MSSQL:
        assert converted == [
            (7, 'Zoë "Q" \\ back', "1.01", "2025-01-02T03:04:05.678901", "19900101", 1, 0.1),
            EMPTY,
            (9, "NULL", "2.00", "2024-01-02T03:04:05", "20240229", 0, 1.0),
        ]
        return
    assert converted == [
        (7, 'Zoë "Q" \\ back', "1.01", "2025-01-02 03:04:05.678901", "1990-01-01", 1, 0.1),
        EMPTY,
        (9, "NULL", "2.00", "2024-01-02 03:04:05", "2024-02-29", 0, 1.0),
    ]


def test_postgresql_gets_each_column_as_one_array_literal_of_that_text():
    converted = POSTGRESQL.row_values(COLUMNS)([ROW, EMPTY, (9, "NULL", Decimal("-0.5"), None, None, 0, 1e20)])
    assert [column_array(column) for column in zip(*converted, strict=True)] == [
        "{7,8,9}", '{"Zoë \\"Q\\" \\\\ back",NULL,"NULL"}', '{"1.01",NULL,"-0.50"}',
        '{"2025-01-02 03:04:05.678901",NULL,NULL}', '{"1990-01-01",NULL,NULL}', "{1,NULL,0}", "{0.1,NULL,1e+20}",
    ]


def test_a_row_of_the_wrong_width_is_left_for_the_target_to_refuse():
    for dialect in (SQLITE, POSTGRESQL, MSSQL):
        assert dialect.row_values(COLUMNS)([(1, 2)]) == [(1, 2)]


# ---------------------------------------------------------------- one batch


SCHEMA = TargetSchema("app", "app_id", (
    Table("base", (Column("app_id", "bigint"), Column("amount", "decimal", 2)), ("app_id",)),
    Table("scores", (Column("app_id", "bigint"), Column("kind", "string", 8), Column("score", "int")),
          ("app_id", "kind"), "skip"),
    Table("latest", (Column("app_id", "bigint"), Column("kind", "string", 8), Column("score", "int")),
          ("app_id", "kind"), "update"),
    Table("lookup", (Column("code", "string", 8), Column("label", "string", 20)), ("code",), "skip"),
))


def _record(key: int, *, scores=(), latest=(), lookup=()) -> MappedRecord:
    tables = [("base", ((key, Decimal("1.5")),))]
    for name, rows in (("scores", scores), ("latest", latest), ("lookup", lookup)):
        if rows:
            tables.append((name, tuple(rows)))
    return MappedRecord(key, tuple(tables))


def test_a_batch_is_one_payload_grouped_by_table_with_each_rows_record():
    failure = RecordFailure(2, "parse", "not well-formed")
    results = [
        _record(1, scores=[(1, "A", 1), (1, "A", 2), (1, "B", 3)], latest=[(1, "A", 1), (1, "A", 2)]),
        failure,
        _record(3, scores=[(3, "A", 9)], lookup=[("X", "first")]),
    ]
    ready = ReadyResults(SCHEMA, SQLITE)(results)
    assert ready[1] is failure
    first, third = ready[0], ready[2]
    assert isinstance(first, ReadyRecord) and first.rows is third.rows  # one payload for the batch
    assert (first.key, first.row_count, first.position) == (1, 6, 0)
    assert (third.key, third.row_count, third.position) == (3, 3, 1)
    tables = {table.name: table for table in first.rows.tables}
    assert [table.name for table in first.rows.tables] == ["base", "scores", "latest", "lookup"]
    assert tables["base"].rows == ((1, "1.50"), (3, "1.50")) and tables["base"].owners == (0, 1)
    # Within a record one row per key (skip keeps the first, update the last) ...
    assert tables["scores"].rows == ((1, "A", 1), (1, "B", 3), (3, "A", 9)) and tables["scores"].owners == (0, 0, 1)
    assert tables["latest"].rows == ((1, "A", 2),)
    # ... and only a table whose key does not pin the record needs it across records.
    assert {name for name, table in tables.items() if table.shared_keys} == {"lookup"}
    assert first.rows.owners == 2


def test_one_row_per_key_within_a_record_by_whole_and_one_column_keys():
    """Skip keeps each key's first row, in first-seen order; update its last, in last-seen order;
    a one-column key (lookup) dedupes alike."""
    results = [_record(1, scores=[(1, "A", 1), (1, "B", 5), (1, "A", 2)],
                       latest=[(1, "A", 1), (1, "B", 5), (1, "A", 2)],
                       lookup=[("X", "first"), ("Y", "other"), ("X", "again")])]
    tables = {table.name: table.rows for table in ReadyResults(SCHEMA, SQLITE)(results)[0].rows.tables}
    assert tables["scores"] == ((1, "A", 1), (1, "B", 5))
    assert tables["latest"] == ((1, "B", 5), (1, "A", 2))
    assert tables["lookup"] == (("X", "first"), ("Y", "other"))


def test_a_key_column_that_differs_from_the_record_key_marks_the_table_shared():
    ready = ReadyResults(SCHEMA, SQLITE)([_record(1, scores=[(99, "A", 1)])])
    assert {t.name: t.shared_keys for t in ready[0].rows.tables} == {"base": False, "scores": True}


def test_the_batch_payload_crosses_the_pipe_once_and_holds_plain_values_only():
    from xmlshred.generator.corpus import generate_documents

    compiled = compile_contract(load_contract(EXAMPLE_CONTRACT),
                                MapOptions(now=dt.datetime.fromisoformat(PINNED_NOW)))
    results = [compiled.map_document(doc.xml, expected_key=doc.key)
               for doc in generate_documents(20, seed=12, profile="small", edge_share=0.0)]
    for dialect in (SQLITE, POSTGRESQL):
        ready = ReadyResults(compiled.schema, dialect)(results)
        back = pickle.loads(pickle.dumps(ready))
        assert all(record.rows is back[0].rows for record in back)  # pickled once, shared after
        values = {type(value) for table in back[0].rows.tables for row in table.rows for value in row}
        assert values <= {int, float, str, type(None)}, values  # no Decimal/datetime to unpickle
        assert sum(record.row_count for record in back) == sum(record.row_count for record in results)


def test_dedupe_across_records_agrees_with_dedupe_of_python_values():
    """The flush dedupes ready values; equal Python values must stay equal (and unequal ones unequal)."""
    table = Table("t", (Column("k", "decimal", 2), Column("at", "datetime"), Column("v", "int")), ("k", "at"), "update")
    rows = [(Decimal("1.5"), dt.datetime(2025, 1, 1), 1), (Decimal("1.50"), dt.datetime(2025, 1, 1), 2),
            (Decimal("1.5"), dt.datetime(2025, 1, 1, 0, 0, 0, 1), 3)]
    assert [row[2] for row in _dedupe(table, rows)] == [2, 3]
    for dialect in (SQLITE, POSTGRESQL, MSSQL):
        ready = dialect.row_values(table.columns)(rows)
        assert [int(row[2]) for row in _dedupe(table, ready)] == [2, 3], dialect.name


# ---------------------------------------------------------------- what PostgreSQL stores


def _corpus_rows(count: int):
    from xmlshred.generator.corpus import generate_documents

    compiled = compile_contract(load_contract(EXAMPLE_CONTRACT),
                                MapOptions(now=dt.datetime.fromisoformat(PINNED_NOW)))
    tables: dict[str, list[tuple]] = {}
    for doc in generate_documents(count, seed=44, profile="small", edge_share=0.1):
        result = compiled.map_document(doc.xml, expected_key=doc.key)
        if isinstance(result, MappedRecord):
            for name, rows in result.tables:
                tables.setdefault(name, []).extend(rows)
    return compiled.schema, [(t.name, tables[t.name]) for t in compiled.schema.tables if t.name in tables]


def _stored(connection, schema, table) -> list[tuple]:
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    return sorted((tuple(row) for row in connection.execute(
        f'SELECT {columns} FROM "{schema.schema_name}"."{table.name}"').fetchall()), key=repr)


@pytest.mark.postgres
def test_postgresql_stores_exactly_what_python_value_parameters_stored(pg_database):
    """The former way (Python Decimal/datetime parameters, one VALUES row each) into one schema,
    the arrays of ready text into another: every stored value is the same Python value."""
    import pyodbc

    schema, tables = _corpus_rows(120)
    assert {name for name, _ in tables} >= {"app_base", "app_pricing", "scores", "app_contact_address"}
    before = TargetSchema("before", schema.key_column, schema.tables)
    setup = open_target(parse_target_url("odbc:" + pg_database), before)
    setup.create_tables(before)
    setup.close()
    connection = pyodbc.connect(pg_database)
    for name, rows in tables:
        table = schema.table(name)
        statement = sql.insert_values(POSTGRESQL, sql.table_ref(POSTGRESQL, "before", name), table.column_names, 1)
        server = [tuple(adapter(value) if adapter is not None and value is not None else value
                        for adapter, value in zip(POSTGRESQL.adapters(table.columns), row, strict=True))
                  for row in _dedupe(table, rows)]
        connection.cursor().executemany(statement, server)
    connection.commit()

    target = open_target(parse_target_url("odbc:" + pg_database), schema)
    target.create_tables(schema)
    target.write_flush(schema, list(ready_tables(schema, target.dialect, tables)), [])
    target.close()
    for table in schema.tables:
        assert _stored(connection, schema, table) == _stored(connection, before, table), table.name
    connection.close()


def test_postgresql_flush_sends_one_array_parameter_per_column():
    from dataclasses import replace

    from xmlshred.targets.processing_log import LogRow
    from xmlshred.targets.target import plan_flush

    rows = [(key, Decimal("1.5")) for key in range(1, 2502)]
    scores = [(key, "A", key) for key in range(1, 2502)]
    dialect = replace(POSTGRESQL, max_rows_per_statement=1000)
    tables = list(ready_tables(SCHEMA, dialect, [("base", rows), ("scores", scores)]))
    log = [LogRow(key, "success", None, None, "r", dt.datetime(2025, 1, 1)) for key in range(1, 3)]
    steps = list(plan_flush(dialect, SCHEMA, tables, log, dedupe=()))
    assert [(step.table, len(step.params)) for step in steps] == [
        ("base", 2)] * 3 + [("scores", 3)] * 3 + [("processing_log", 8)]
    assert all(step.sql.count("?") == len(step.params) and "unnest(" in step.sql for step in steps)
    assert steps[0].params == ["{" + ",".join(str(key) for key in range(1, 1001)) + "}", "{" + ",".join(
        ['"1.50"'] * 1000) + "}"]
    assert "CAST(? AS TEXT[])" in steps[3].sql and "ON CONFLICT" in steps[3].sql  # never VARCHAR(n)[]: no silent cut
    assert 'WHERE NOT ("existing_row"."status"' in steps[-1].sql and steps[-1].params[1] == '{"success","success"}'


def test_the_values_that_cross_the_worker_pipes_pickle_as_calls_and_share_their_batch():
    import pickle

    from xmlshred.sources.types import SourceItem
    from xmlshred.vocab.results import BatchRows, ReadyRecord, RecordFailure, TableRows
    from xmlshred.workers.documents import BatchCosts

    batch = BatchRows((TableRows("app_base", ((1, "x"), (2, "y")), (0, 1), False),), 2)
    answer = [ReadyRecord(1, 1, batch, 0, (("truncated:app_base.name", 1),)), ReadyRecord(2, 1, batch, 1, ()),
              RecordFailure(None, "parse", "the document is not well-formed"), BatchCosts(0.5, 1.5, 700, 1, 2.5),
              SourceItem(7, 7, "key=7"), SourceItem(None, 3, "a.xml", "/in/a.xml")]
    again = pickle.loads(pickle.dumps(answer))
    assert again == answer and [type(value) for value in again] == [type(value) for value in answer]
    assert again[0].rows is again[1].rows  # one BatchRows per batch, not one per record
    for value in answer:  # no dataclass __setstate__ that looks up the fields per object
        assert type(value).__reduce__(value)[0] is type(value)


def _awkward_columns():
    """Columns of every converted type, each with ten values: the usual ones and awkward ones."""
    import datetime as dt
    from decimal import Decimal

    from xmlshred.vocab.schema import Column

    columns = (Column("s", "string", 40), Column("i", "int"), Column("b", "bigint"), Column("d", "decimal", 2),
               Column("t", "datetime"), Column("day", "date"), Column("f", "float"), Column("bit", "bit"))
    values = {
        "s": ["plain", 'say "hi"', "back\\slash", "", "NULL", " spaced ", None, True, 7, "ünï"],
        "i": [0, -5, 2**31 - 1, None, True, False, "12", 3.5, Decimal("4"), 9],
        "b": [2**62, None, 1, -1, 0, 5, 6, 7, 8, 9],
        "d": [Decimal("1.005"), Decimal("-0"), None, Decimal("12"), "3.1", 4, Decimal("1E+3"), Decimal("0.1"),
              Decimal("-2.675"), Decimal("99.999")],
        "t": [dt.datetime(2025, 1, 2, 3, 4, 5), dt.datetime(2025, 1, 2, 3, 4, 5, 6), None,
              dt.datetime(2025, 6, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2025-01-01 00:00:00",
              dt.datetime(1900, 1, 1), dt.datetime(2025, 1, 2), None, dt.datetime(2024, 2, 29, 23, 59, 59), None],
        "day": [dt.date(2025, 1, 2), dt.datetime(2025, 1, 2, 5, 6), None, "2025-01-02", dt.date(1, 1, 1),
                dt.date(2025, 12, 31), None, dt.date(2000, 2, 29), dt.date(2025, 1, 1), None],
        "f": [1.5, None, 0.1 + 0.2, -0.0, 3, float("1e300"), 2.0, None, 7.25, 1e-7],
        "bit": [True, False, None, 1, 0, True, False, None, 1, 0],
    }
    return columns, list(zip(*(values[column.name] for column in columns), strict=True))


def test_postgresql_array_literals_joined_in_c_equal_those_made_value_by_value():
    """``column_array`` gives exactly ``{e1,e2,…}`` of each value's element, for the awkward columns
    and for random columns of strings (quotes, backslashes, NUL, commas, braces, None) and ints."""
    import random

    from xmlshred.db.values import _element, text_rows

    def by_value(values):
        return "{" + ",".join(_element(value) for value in values) + "}"

    columns, rows = _awkward_columns()
    for values in zip(*text_rows(columns)(rows), strict=True):
        assert column_array(values) == by_value(values)
    assert column_array(("say \"hi\"", None, "NULL")) == '{"say \\"hi\\"",NULL,"NULL"}'

    rng = random.Random(11)
    pieces = ["a", "Zoë", " ", ",", "{", "}", '"', "\\", "\x00", "NULL", "None", "1.50", ""]
    for _ in range(3000):
        kind = rng.choice(("text", "int", "mixed"))
        values = []
        for _ in range(rng.randint(0, 8)):
            if rng.random() < 0.25:
                values.append(None)
            elif kind == "int" or (kind == "mixed" and rng.random() < 0.3):
                values.append(rng.choice((0, -7, 2**40, True, 3.5)) if kind == "mixed" else rng.randint(-99, 10**12))
            else:
                values.append("".join(rng.choice(pieces) for _ in range(rng.randint(0, 4))))
        values = tuple(values)
        assert column_array(values) == by_value(values), values


def test_sqlite_text_of_whole_columns_equals_the_text_made_one_by_one():
    """SQLite's (and SQL Server's) column-at-once rows hold exactly what each column's adapter
    gives each value: canonical text for decimals, dates and datetimes, 0/1 for bools, None kept."""
    from xmlshred.db.values import text_adapters, text_rows

    columns, rows = _awkward_columns()
    adapters = text_adapters(columns)
    expected = [tuple(value if adapter is None or value is None else adapter(value)
                      for adapter, value in zip(adapters, row, strict=True)) for row in rows]
    assert text_rows(columns)(rows) == expected
    assert text_rows(columns)([]) == []
    assert text_rows(columns)([("short",)]) == [("short",)]  # the wrong width: left for the target to refuse
    assert expected[0][3] == "1.01" and expected[0][7] == 1 and expected[1][7] == 0 and expected[2][7] is None
