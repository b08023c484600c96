#!/usr/bin/env python3
"""Statement shapes for writing rows to SQL Server / Babelfish, measured in one run: rows/s each.

Every shape writes the same rows (a 7-column table like the contracts' tables: bigint key, two
strings, a decimal, a datetime, a date, an int) into a fresh table, through xmlshred's own
statement builders and Target.write_flush where xmlshred has the shape, and through pyodbc
directly for the shapes it does not use:

  executemany        one INSERT per row (pyodbc executemany; never fast_executemany with FreeTDS)
  values             multi-row INSERT … VALUES (?, …), (…): 299 rows of 7 parameters (2,099 limit)
  openjson           INSERT … SELECT … FROM OPENJSON(?) WITH (c type '$[i]', …): one JSON parameter
                     of up to 5,000 row arrays (what xmlshred sends through FreeTDS)
  openjson_objects   the same with one JSON object per row, read by name ('$.c')
  values_upsert      xmlshred's update upsert with VALUES: UPDATE … FROM then INSERT … WHERE NOT EXISTS
  openjson_upsert    the same upsert reading one JSON parameter (twice)

The upserts write the rows once into an empty table and then once more over them (every key then
exists), and the figure counts both passes. Rows are checked after each shape (count, and one row
read back). Example:

    python bench/mssql_shapes.py --dsn "DRIVER={FreeTDS};SERVER=127.0.0.1;PORT=1433;DATABASE=appdb;UID=…;PWD=…"
    python bench/mssql_shapes.py --rows 20000            # DSN from XMLSHRED_MSSQL_DSN

Prints one line per shape, ``shape=<name> rows=<n> seconds=<s> rows_per_s=<r>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import uuid
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xmlshred.db.dialects import MSSQL, MSSQL_FREETDS  # noqa: E402
from xmlshred.targets import open_target, parse_target_url  # noqa: E402
from xmlshred.vocab.schema import Column, Table, TargetSchema  # noqa: E402

TABLE = Table("bench_rows", (
    Column("app_id", "bigint", nullable=False), Column("name", "string", 50), Column("city", "string", 200),
    Column("amount", "decimal", 2), Column("received", "datetime"), Column("born", "date"), Column("score", "int"),
), primary_key=("app_id",), on_conflict="error")


def make_rows(count: int) -> list[tuple]:
    base = dt.datetime(2025, 3, 4, 5, 6, 7, 120000)
    return [(key, f"name {key}", f"city {key % 97} é", Decimal(key % 10_000) / 100, base + dt.timedelta(seconds=key),
             dt.date(1950 + key % 60, 1 + key % 12, 1 + key % 28), key % 900) for key in range(1, count + 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default=os.environ.get("XMLSHRED_MSSQL_DSN"), help="ODBC connection string")
    parser.add_argument("--rows", type=int, default=20_000, help="rows per fast shape (default 20,000)")
    parser.add_argument("--slow-rows", type=int, default=1_000, help="rows for executemany (default 1,000)")
    args = parser.parse_args()
    if not args.dsn:
        parser.error("give --dsn or set XMLSHRED_MSSQL_DSN")
    import pyodbc

    schema_name = f"bench_{uuid.uuid4().hex[:8]}"
    schema = TargetSchema(schema_name, "app_id", (TABLE,))
    spec = parse_target_url("odbc:" + args.dsn)
    ready = MSSQL.row_values(TABLE.columns)
    rows = ready(make_rows(args.rows))
    slow = rows[:args.slow_rows]
    admin = pyodbc.connect(args.dsn, autocommit=True)
    print(f"server: {admin.execute('SELECT @@VERSION').fetchone()[0].splitlines()[0]}")
    print(f"driver: {admin.getinfo(pyodbc.SQL_DRIVER_NAME)} table: 7 columns")
    ref = f"[{schema_name}].[bench_rows]"
    columns = ", ".join(f"[{c.name}]" for c in TABLE.columns)

    def fresh(on_conflict: str = "error") -> TargetSchema:
        admin.execute(f"IF OBJECT_ID(N'{ref}', N'U') IS NOT NULL DROP TABLE {ref}")
        chosen = replace(schema, tables=(replace(TABLE, on_conflict=on_conflict),))
        target = open_target(replace(spec, dialect=MSSQL), chosen)
        target.create_tables(chosen)
        target.close()
        return chosen

    def check(expected: int) -> None:
        count = admin.execute(f"SELECT COUNT_BIG(*) FROM {ref}").fetchone()[0]
        assert count == expected, f"{count} rows stored, {expected} written"
        stored = admin.execute(f"SELECT {columns} FROM {ref} WHERE app_id = 1").fetchone()
        assert stored is not None and stored[1] == "name 1" and stored[3] == Decimal("0.01"), stored

    def report(shape: str, count: int, seconds: float) -> None:
        print(f"shape={shape} rows={count} seconds={seconds:.2f} rows_per_s={count / seconds:,.0f}", flush=True)

    def through_target(shape: str, dialect, data: list[tuple], on_conflict: str = "error", passes: int = 1):
        chosen = fresh(on_conflict)
        target = open_target(replace(spec, dialect=dialect), chosen)
        started = time.perf_counter()
        for _ in range(passes):
            for start in range(0, len(data), 5000):  # flushes of 5,000 rows, each one transaction
                target.write_flush(chosen, [("bench_rows", data[start:start + 5000])], [])
        seconds = time.perf_counter() - started
        target.close()
        check(len(data))
        report(shape, len(data) * passes, seconds)

    try:
        admin.execute(f"EXEC sp_executesql N'CREATE SCHEMA [{schema_name}]'")
        # executemany: one statement per row (the driver may still send them in one batch)
        fresh()
        connection = pyodbc.connect(args.dsn)
        cursor = connection.cursor()
        started = time.perf_counter()
        cursor.executemany(f"INSERT INTO {ref} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", slow)
        connection.commit()
        report("executemany", len(slow), time.perf_counter() - started)
        connection.close()
        check(len(slow))

        through_target("values", MSSQL, rows)
        through_target("openjson", MSSQL_FREETDS, rows)

        # one JSON object per row, read by name
        fresh()
        connection = pyodbc.connect(args.dsn)
        cursor = connection.cursor()
        names = [c.name for c in TABLE.columns]
        kinds = ["BIGINT", "NVARCHAR(MAX)", "NVARCHAR(MAX)", "NVARCHAR(MAX)", "NVARCHAR(MAX)", "NVARCHAR(MAX)",
                 "BIGINT"]
        with_clause = ", ".join(f"[{n}] {k} '$.{n}'" for n, k in zip(names, kinds, strict=True))
        statement = f"INSERT INTO {ref} ({columns}) SELECT {columns} FROM OPENJSON(?) WITH ({with_clause})"
        started = time.perf_counter()
        for start in range(0, len(rows), 5000):
            chunk = [dict(zip(names, row, strict=True)) for row in rows[start:start + 5000]]
            cursor.execute(statement, json.dumps(chunk, ensure_ascii=False))
            connection.commit()
        report("openjson_objects", len(rows), time.perf_counter() - started)
        connection.close()
        check(len(rows))

        through_target("values_upsert", MSSQL, rows, "update", passes=2)
        through_target("openjson_upsert", MSSQL_FREETDS, rows, "update", passes=2)
    finally:
        admin.execute(f"IF OBJECT_ID(N'{ref}', N'U') IS NOT NULL DROP TABLE {ref}")
        try:
            admin.execute(f"IF SCHEMA_ID(N'{schema_name}') IS NOT NULL "
                          f"EXEC sp_executesql N'DROP SCHEMA [{schema_name}]'")
        except pyodbc.Error as exc:  # Babelfish may keep a dependent object of the dropped table a while
            print(f"note: schema {schema_name} left behind ({exc.args[0]})")
        admin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
