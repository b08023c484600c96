"""Helpers shared by the end-to-end tests: corpora, configs, CLI runs, table snapshots."""

from __future__ import annotations

import functools
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "cli.py"
EXAMPLE_CONTRACT = ROOT / "examples" / "credit_card" / "contract.json"
PINNED_NOW = "2025-06-01T12:00:00"


def make_source(path: Path, count: int, *, profile: str = "small", seed: int = 1,
                edge_share: float = 0.0, start_key: int = 1, transform=None) -> list:
    """Write a generated corpus to a SQLite source table; returns the documents."""
    from xmlshred.generator.corpus import generate_documents
    from xmlshred.generator.writers import write_sqlite

    docs = list(generate_documents(count, seed=seed, profile=profile, edge_share=edge_share,
                                   start_key=start_key))
    if transform is not None:
        docs = [transform(doc) for doc in docs]
    write_sqlite(path, docs)
    return docs


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: dict[str, dict]) -> Path:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def pipeline_config(tmp: Path, source_url: str, target_url: str, **overrides) -> Path:
    """A config for a test run: pinned clock, small batches, metrics in tmp."""
    sections = {
        "source": {"url": source_url},
        "target": {"url": target_url, "connect_retries": 5, "retry_backoff_s": 0.2},
        "contract": {"path": str(EXAMPLE_CONTRACT)},
        "actors": {"mappers": 2, "max_in_flight": 400, "batch_size": 20},
        "flush": {"max_records": 100, "max_rows": 20000, "max_interval_ms": 200},
        "log": {"level": "INFO", "metrics": str(tmp / "metrics.jsonl"), "report_every_s": 1.0,
                "progress": "never", "file": str(tmp / "run.log")},
        "run": {"now": PINNED_NOW},
    }
    for dotted, value in overrides.items():
        section, key = dotted.split("__", 1)
        sections.setdefault(section, {})[key] = value
    return write_config(tmp / "config.toml", sections)


def cli_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XMLSHRED__")}
    env.update(extra or {})
    return env


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLI), *args], cwd=ROOT, env=cli_env(env),
                          capture_output=True, text=True, timeout=timeout)


def start_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(CLI), *args], cwd=ROOT, env=cli_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def canonical(value):
    """One spelling per value, whatever the database returned it as."""
    from xmlshred.contract.values import format_canonical

    if isinstance(value, datetime):
        return format_canonical(value, "datetime", None)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return round(value, 9)
    return value


def canonical_expected(value, column):
    from xmlshred.contract.values import format_canonical

    if value is None:
        return None
    if column.data_type in ("datetime", "date", "decimal"):
        return format_canonical(value, column.data_type, column.data_length)
    return canonical(value)


def expected_tables(contract_path: Path, docs, now: str = PINNED_NOW):
    """What the contract engine makes of each document: (multiset per table, ok keys, failed)."""
    from xmlshred.contract import MapOptions, compile_contract, load_contract
    from xmlshred.vocab.results import RecordFailure

    compiled = compile_contract(load_contract(contract_path),
                                MapOptions(now=datetime.fromisoformat(now)))
    tables: dict[str, Counter] = {t.name: Counter() for t in compiled.schema.tables}
    ok, failed = set(), {}
    for doc in docs:
        result = compiled.map_document(document_of(doc), expected_key=doc.key)
        if isinstance(result, RecordFailure):
            failed[doc.key] = result.stage
            continue
        ok.add(result.key)
        for name, rows in result.tables:
            columns = compiled.schema.table(name).columns
            for row in rows:
                tables[name][tuple(canonical_expected(v, c) for v, c in zip(row, columns, strict=True))] += 1
    return compiled.schema, tables, ok, failed


def document_of(doc):
    if doc.encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return doc.xml
    return doc.xml.encode(doc.encoding)


def server_connection(url: str, autocommit: bool = True):
    """A plain DB-API connection to a server target URL: ``odbc:`` through pyodbc, ``postgresql://``
    through psycopg behind the product's qmark wrapper, so one statement with ``?`` serves both."""
    if url.startswith("odbc:"):
        import pyodbc

        return pyodbc.connect(url[len("odbc:"):], autocommit=autocommit)
    from xmlshred.db.pg import connect_postgres

    return connect_postgres(url, 10, autocommit=autocommit)  # pyodbc's ``?`` placeholders, as the product's


class TargetReader:
    """Reads a target's tables back with a plain connection (SQLite file or ODBC)."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            self.connection = sqlite3.connect(url[len("sqlite:///"):])
        else:
            self.connection = server_connection(url)

    def name(self, schema, table: str) -> str:
        """The quoted, schema-qualified name of ``table`` on this target."""
        if self.url.startswith("sqlite:") or not schema.schema_name:
            return f'"{table}"'
        return f'"{schema.schema_name}"."{table}"'

    def rows(self, schema, table) -> Counter:
        columns = ", ".join(f'"{c.name}"' for c in table.columns)
        cursor = self.connection.execute(f"SELECT {columns} FROM {self.name(schema, table.name)}")
        return Counter(tuple(canonical(v) for v in row) for row in cursor.fetchall())

    def log(self, schema) -> dict[int, tuple]:
        cursor = self.connection.execute(
            f'SELECT "{schema.key_column}", status, stage, reason, attempts, run_id '
            f"FROM {self.name(schema, 'processing_log')}")
        result = {}
        for key, *rest in cursor.fetchall():
            assert key not in result, f"processing_log has key {key} twice"
            result[int(key)] = tuple(rest)
        return result

    def close(self) -> None:
        self.connection.close()


def assert_target_matches(target_url: str, schema, expected: dict[str, Counter], ok: set, failed: dict):
    reader = TargetReader(target_url)
    try:
        for table in schema.tables:
            actual = reader.rows(schema, table)
            assert actual == expected[table.name], (
                f"table {table.name}: {sum((actual - expected[table.name]).values())} unexpected rows, "
                f"{sum((expected[table.name] - actual).values())} missing rows")
        log = reader.log(schema)
        assert {k for k, v in log.items() if v[0] == "success"} == ok
        assert {k: v[1] for k, v in log.items() if v[0] == "failed"} == failed
    finally:
        reader.close()


def read_summary(metrics_path: Path):
    """The last run's summary in ``metrics_path`` (a ``RunSummary``)."""
    import json

    from xmlshred.reporting.summary import RunSummary

    summaries = [json.loads(line) for line in metrics_path.read_text().splitlines()
                 if line.strip() and json.loads(line).get("event") == "summary"]
    assert summaries, f"no summary in {metrics_path}"
    return RunSummary.from_dict(summaries[-1])


WAIT_S = 120.0
"""Generous bound for anything that should happen 'soon' (guards against hangs, no speed claim)."""


def wait_until(condition, what: str, timeout: float = WAIT_S, poll: float = 0.02):
    """Poll ``condition`` until it returns something truthy; fail the test at the deadline."""
    import pytest

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)


@functools.cache
def contract_schema():
    """The example contract's target schema (table and key names; no documents needed)."""
    from xmlshred.contract import MapOptions, compile_contract, load_contract

    compiled = compile_contract(load_contract(EXAMPLE_CONTRACT),
                                MapOptions(now=datetime.fromisoformat(PINNED_NOW)))
    return compiled.schema


def log_count(target_url: str, schema=None, contract_hash: str | None = None) -> int:
    """Rows in processing_log (those written under ``contract_hash`` when given), or -1 when the
    target cannot be read right now."""
    schema = schema or contract_schema()
    try:
        reader = TargetReader(target_url)
    except Exception:
        return -1
    where, params = ("WHERE contract_hash = ?", (contract_hash,)) if contract_hash is not None else ("", ())
    try:
        return int(reader.connection.execute(
            f"SELECT COUNT(*) FROM {reader.name(schema, 'processing_log')} {where}", params).fetchone()[0])
    except Exception:
        return -1
    finally:
        reader.close()


PAUSE_ENV = "XMLSHRED_FAULT_PAUSE_FILE"


class PauseGate:
    """A deterministic throttle: each mapper worker of a run maps ``allowance`` records, then
    waits until ``release()`` (the workers' XMLSHRED_FAULT_PAUSE_FILE hook).

    A worker returns a batch only when it has mapped all of it, so an allowance that is not a
    multiple of ``[actors] batch_size`` holds a batch half-mapped (nothing of it commits).
    A held run cannot finish, so a test that signals or kills it mid-way never races the
    product's speed: open the gate, wait for the first commits, act, then release.
    """

    def __init__(self, path: Path, allowance: int = 0) -> None:
        self.path = Path(path)
        self.path.write_text(str(allowance), encoding="ascii")

    @property
    def env(self) -> dict:
        return {PAUSE_ENV: str(self.path)}

    def hold(self, allowance: int) -> None:
        """Hold again: new workers (a rerun, a replacement) map ``allowance`` records each, then wait."""
        self.path.write_text(str(allowance), encoding="ascii")

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def mapped_items(compiled, docs, dialect=None) -> list:
    """Documents mapped as a worker maps one batch: MappedItems whose ReadyRecords share one
    BatchRows, the rows in ``dialect``'s form (SQLite's when None)."""
    from xmlshred.db.dialects import SQLITE
    from xmlshred.db.values import ReadyResults
    from xmlshred.messages import MappedItem
    from xmlshred.sources.types import SourceItem

    docs = list(docs)
    results = ReadyResults(compiled.schema, dialect or SQLITE)(
        [compiled.map_document(doc.xml, expected_key=doc.key) for doc in docs])
    return [MappedItem(SourceItem(doc.key, doc.key, f"key={doc.key}"), result)
            for doc, result in zip(docs, results, strict=True)]
