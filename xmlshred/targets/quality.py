"""xmlshred_quality and xmlshred_rejects: what a run changed, and what failed before its key was known.

**xmlshred_quality** holds, per run, the values the contract's rules changed (kinds ``truncated``,
``not_a_number``, ``bad_date``, ``unmapped_code``, ``defaulted``, …) by table and column: a count and
up to five example record keys (keys only, never values). Each flush writes the counts of the
records that commit in it, in the same transaction, so a killed run never counts a record that
did not commit and a rerun (which skips committed records) never counts one twice. Every writer (an
InsertActor: one per local run, one per Ray shard attempt) owns its rows (``writer`` is in the
primary key) and writes its running totals, so writers of one run never race for a row; readers
sum over writers.

**xmlshred_rejects** holds a row per source document that failed before its key was known (a
0-byte or cut-off file, a tag mismatch, a document without its key): the file path (``source_ref``),
stage, reason, the run, when, and the file's size and mtime. A rerun does not read an unchanged
reject again (same path, size and mtime) unless ``--retry-failed``.

Both are written with an ``UPDATE`` followed by ``INSERT … SELECT … WHERE NOT EXISTS`` (no MERGE,
no dialect-specific upsert): each row has one writer, so the pair is race-free in every dialect.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from xmlshred.db import sql
from xmlshred.vocab.names import QUALITY_TABLE, REJECTS_TABLE
from xmlshred.vocab.schema import Column, Table

EXAMPLE_KEYS = 5
"""Most record keys kept per (table, column, kind) and writer."""

QUALITY_COLUMNS = ("run_id", "writer", "table_name", "column_name", "kind", "count", "example_keys")
REJECT_COLUMNS = ("run_id", "source_ref", "stage", "reason", "seen_at", "ref_id", "size", "mtime_ns")
REF_LENGTH = 1000
REASON_LENGTH = 1000


def quality_table() -> Table:
    """xmlshred_quality as a Table, so the dialects' DDL builders create it like any other."""
    return Table(
        name=QUALITY_TABLE,
        columns=(
            Column("run_id", "string", 64, nullable=False),
            Column("writer", "string", 32, nullable=False),
            Column("table_name", "string", 128, nullable=False),
            Column("column_name", "string", 128, nullable=False),
            Column("kind", "string", 32, nullable=False),
            Column("count", "bigint", nullable=False),
            Column("example_keys", "string", 200),
        ),
        primary_key=("run_id", "writer", "table_name", "column_name", "kind"),
        on_conflict="error",
    )


def rejects_table() -> Table:
    """xmlshred_rejects as a Table (``ref_id``: a SHA-1 of ``source_ref``, the primary key)."""
    return Table(
        name=REJECTS_TABLE,
        columns=(
            Column("run_id", "string", 64, nullable=False),
            Column("source_ref", "string", REF_LENGTH, nullable=False),
            Column("stage", "string", 16, nullable=False),
            Column("reason", "string", REASON_LENGTH),
            Column("seen_at", "datetime", nullable=False),
            Column("ref_id", "string", 40, nullable=False),
            Column("size", "bigint"),
            Column("mtime_ns", "bigint"),
        ),
        primary_key=("ref_id",),
        on_conflict="error",
    )


def engine_tables() -> tuple[Table, Table]:
    """The two tables, for ``ddl_statements``."""
    return quality_table(), rejects_table()


@dataclass(frozen=True, slots=True)
class QualityRow:
    """One writer's running total for (run, table, column, kind)."""

    run_id: str
    writer: str
    table_name: str
    column_name: str
    kind: str
    count: int
    example_keys: str
    """Up to EXAMPLE_KEYS record keys, comma-separated."""


@dataclass(frozen=True, slots=True)
class RejectRow:
    """A document that failed before its key was known."""

    run_id: str
    source_ref: str
    """The file's full path (what a rerun recognises it by)."""
    stage: str
    reason: str
    seen_at: dt.datetime
    size: int | None
    mtime_ns: int | None

    @property
    def ref_id(self) -> str:
        return ref_id(self.source_ref)


def ref_id(source_ref: str) -> str:
    """The primary key of a source reference: its SHA-1 in hex (paths may be longer than an index key)."""
    return hashlib.sha1(source_ref.encode("utf-8", "surrogatepass")).hexdigest()


def _values(table: Table, row) -> tuple:
    if isinstance(row, QualityRow):
        return (row.run_id, row.writer, row.table_name[:128], row.column_name[:128], row.kind[:32], row.count,
                row.example_keys[:200])
    return (row.run_id, row.source_ref[:REF_LENGTH], row.stage, (row.reason or "")[:REASON_LENGTH] or None,
            row.seen_at, row.ref_id, row.size, row.mtime_ns)


def upsert_steps(dialect, schema_name: str | None, table: Table,
                 rows: Sequence) -> Iterator[tuple[str, tuple]]:
    """(statement, parameters) pairs that write ``rows`` (QualityRow or RejectRow) into ``table``:
    per row an UPDATE of its non-key columns, then an INSERT of it where no row has its key.

    Values go through the dialect's ``row_values`` (canonical text on SQLite). On the servers the
    INSERT's SELECT list casts each parameter to its column's type (PostgreSQL does not infer the
    types of a SELECT list's parameters)."""
    if not rows:
        return
    ref = sql.table_ref(dialect, schema_name, table.name)
    names = table.column_names
    keys = table.primary_key
    others = [name for name in names if name not in keys]

    def q(name: str) -> str:
        return sql.quote(dialect, name, "column")

    where = " AND ".join(f"{q(name)} = ?" for name in keys)
    update = f"UPDATE {ref} SET {', '.join(f'{q(name)} = ?' for name in others)} WHERE {where}"
    if dialect.name == "sqlite":
        select_list = ", ".join("?" for _ in names)
    else:
        select_list = ", ".join(f"CAST(? AS {sql.column_type(dialect, column)})" for column in table.columns)
    insert = (f"INSERT INTO {ref} ({sql.column_list(dialect, names)}) SELECT {select_list} "
              f"WHERE NOT EXISTS (SELECT 1 FROM {ref} WHERE {where})")
    position = {name: index for index, name in enumerate(names)}
    converted = dialect.row_values(table.columns)([_values(table, row) for row in rows])
    for values in converted:
        key_values = tuple(values[position[name]] for name in keys)
        yield update, (*(values[position[name]] for name in others), *key_values)
        yield insert, (*values, *key_values)


def delete_steps(dialect, schema_name: str | None, source_refs: Sequence[str]) -> Iterator[tuple[str, tuple]]:
    """DELETE statements for the xmlshred_rejects rows of ``source_refs``."""
    if not source_refs:
        return
    ref = sql.table_ref(dialect, schema_name, REJECTS_TABLE)
    ids = [ref_id(source_ref) for source_ref in dict.fromkeys(source_refs)]
    for chunk in sql.chunks(ids, min(500, dialect.max_params_per_statement)):
        yield (f"DELETE FROM {ref} WHERE {sql.quote(dialect, 'ref_id', 'column')} IN {sql.placeholders(len(chunk))}",
               tuple(chunk))


def read_quality(target, schema_name: str | None) -> list[tuple]:
    """Every xmlshred_quality row (QUALITY_COLUMNS order) of a Target; TargetError when unreadable."""
    ref = sql.table_ref(target.dialect, schema_name, QUALITY_TABLE)
    statement = f"SELECT {sql.column_list(target.dialect, QUALITY_COLUMNS)} FROM {ref}"
    return [tuple(row) for row in target._read(statement, (), QUALITY_TABLE)]


def read_rejects(target, schema_name: str | None) -> list[tuple]:
    """Every xmlshred_rejects row (REJECT_COLUMNS order) of a Target; TargetError when unreadable."""
    ref = sql.table_ref(target.dialect, schema_name, REJECTS_TABLE)
    statement = f"SELECT {sql.column_list(target.dialect, REJECT_COLUMNS)} FROM {ref}"
    return [tuple(row) for row in target._read(statement, (), REJECTS_TABLE)]


def known_rejects(rows: Iterable[tuple]) -> dict[str, tuple[int | None, int | None]]:
    """source_ref -> (size, mtime_ns) of xmlshred_rejects rows (REJECT_COLUMNS order)."""
    known = {}
    for row in rows:
        record = dict(zip(REJECT_COLUMNS, row, strict=True))
        size, mtime = record["size"], record["mtime_ns"]
        known[str(record["source_ref"])] = (None if size is None else int(size),
                                            None if mtime is None else int(mtime))
    return known
