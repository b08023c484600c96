#!/usr/bin/env python3
"""PostgreSQL's own CPU per record on each insert path: odbc: (pyodbc, INSERT … SELECT unnest) and
postgresql:// (psycopg, COPY), the same flushes of real mapped rows, alternately, each into a fresh
database.

The documents are generated and mapped once, up front (as the mapper workers would), into
flushes of --flush records; each path writes them with ``Target.write_flush``, the InsertActor's
own call, and the server's CPU is read from the backend serving that connection (its process,
found by ``pg_backend_pid()``, through psutil): only that session's work, whatever else the
server does meanwhile. Needs the server on this machine. Prints per repetition and the medians:

    server_cpu_ms_per_record pyodbc=<f> psycopg=<f> ratio=<f>

Example: python bench/pg_paths.py --count 3000 --repeat 3 --pg-dsn "DRIVER={PostgreSQL Unicode};…"
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xmlshred.db.spec import libpq_url  # noqa: E402  (the checkout, on sys.path above)


def _with_database(dsn: str, name: str) -> str:
    import re

    return re.sub(r"(?i)DATABASE=[^;]*", f"DATABASE={name}", dsn)


def flushes_of(count: int, flush: int, seed: int):
    """The flushes (tables, log rows) of ``count`` realistic documents, mapped once."""
    from xmlshred.contract import MapOptions, compile_contract, load_contract
    from xmlshred.db.dialects import POSTGRESQL
    from xmlshred.db.values import ReadyResults
    from xmlshred.generator.corpus import generate_documents
    from xmlshred.targets.processing_log import LogRow
    from xmlshred.vocab.results import ReadyRecord

    compiled = compile_contract(load_contract(ROOT / "examples" / "credit_card" / "contract.json"),
                                MapOptions(now=datetime(2026, 1, 1)))
    documents = list(generate_documents(count, seed=seed, profile="realistic", edge_share=0.0))
    ready = ReadyResults(compiled.schema, POSTGRESQL)
    flushes = []
    for start in range(0, count, flush):
        results = ready([compiled.map_document(doc.xml, expected_key=doc.key)
                         for doc in documents[start:start + flush]])
        records = [result for result in results if isinstance(result, ReadyRecord)]
        if not records:
            continue
        tables = [(table.name, list(table.rows)) for table in records[0].rows.tables]
        log = [LogRow(record.key, "success", None, None, "bench", datetime(2026, 1, 1)) for record in records]
        flushes.append((tables, log))
    return compiled.schema, flushes


def measure(dsn: str, url_of, schema, flushes) -> tuple[float, float, float]:
    """(server CPU ms/record, client CPU ms/record, wall s) of writing ``flushes`` into a fresh database."""
    import psutil
    import pyodbc

    from xmlshred.db.spec import parse_target_url
    from xmlshred.targets import open_target

    name = f"xsbench_paths_{uuid.uuid4().hex[:6]}"
    admin = pyodbc.connect(dsn, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        target = open_target(parse_target_url(url_of(_with_database(dsn, name))), schema)
        target.create_tables(schema)
        cursor = target._connection.cursor()
        pid = cursor.execute("SELECT pg_backend_pid()").fetchone()[0]
        target._connection.commit()
        backend = psutil.Process(pid)
        records = sum(len(log) for _, log in flushes)
        server_before, client_before, started = sum(backend.cpu_times()[:2]), time.process_time(), time.perf_counter()
        for tables, log in flushes:
            target.write_flush(schema, tables, log)
        wall = time.perf_counter() - started
        server = sum(backend.cpu_times()[:2]) - server_before
        client = time.process_time() - client_before
        target.close()
        return server * 1000 / records, client * 1000 / records, wall
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--flush", type=int, default=1000, help="records per flush (the [flush] max_records default)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--pg-dsn",
                        default=os.environ.get("XMLSHRED_BENCH_PG_DSN") or os.environ.get("XMLSHRED_PG_DSN"))
    args = parser.parse_args()
    if not args.pg_dsn:
        raise SystemExit("give --pg-dsn (an ODBC connection string to the local PostgreSQL server)")
    schema, flushes = flushes_of(args.count, args.flush, args.seed)
    rows = sum(len(rows) for tables, _ in flushes for _, rows in tables)
    records = sum(len(log) for _, log in flushes)
    print(f"{records:,} records, {rows:,} rows, {len(flushes)} flushes")
    paths = {"pyodbc": lambda dsn: f"odbc:{dsn}", "psycopg": libpq_url}
    figures: dict[str, list[float]] = {key: [] for key in paths}
    for repetition in range(args.repeat):
        for key, url_of in paths.items():
            server, client, wall = measure(args.pg_dsn, url_of, schema, flushes)
            figures[key].append(server)
            print(f"#{repetition + 1} {key:8s} server CPU {server:.3f} ms/record, client CPU {client:.3f} "
                  f"ms/record, wall {wall:.2f} s ({records / wall * 60:,.0f} records/min)")
    pyodbc_ms, psycopg_ms = (statistics.median(figures[key]) for key in ("pyodbc", "psycopg"))
    print(f"server_cpu_ms_per_record pyodbc={pyodbc_ms:.3f} psycopg={psycopg_ms:.3f} "
          f"ratio={psycopg_ms / pyodbc_ms:.2f}")


if __name__ == "__main__":
    main()
