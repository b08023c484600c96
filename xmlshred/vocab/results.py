"""What mapping one document gives: the rows, or a failure with a stage."""

from __future__ import annotations

from dataclasses import dataclass

from xmlshred.vocab.pickling import pickled_as_call

STAGES = ("validate", "parse", "map", "insert")


@pickled_as_call
@dataclass(frozen=True, slots=True)
class MappedRecord:
    """A document turned into rows."""

    key: int
    """The record key (e.g. app_id)."""
    tables: tuple[tuple[str, tuple[tuple, ...]], ...]
    """(table name, rows) in insertion order; only tables with rows appear.
    Each row is a tuple in the column order of the schema's Table."""
    warnings: tuple[tuple[str, int], ...] = ()
    """(kind, count), e.g. ("truncated:app_base.name", 1); never values."""

    @property
    def row_count(self) -> int:
        return sum(len(rows) for _, rows in self.tables)


@pickled_as_call
@dataclass(frozen=True, slots=True)
class RecordFailure:
    """A document that could not be mapped; never carries field values."""

    key: int | None
    """The record key when known (table sources always know it)."""
    stage: str
    """``validate`` | ``parse`` | ``map`` (``insert`` is set by the target)."""
    reason: str
    """Short reason naming what is wrong (column, rule) without values."""
    source_stamp: tuple[int, int] | None = None
    """(size in bytes, mtime in ns) of the file the document came from, taken before it was read;
    set by the mapper worker for a failure without a key (``xmlshred_rejects`` keeps it, so a
    rerun knows an unchanged file). None otherwise."""


@pickled_as_call
@dataclass(frozen=True, slots=True)
class TableRows:
    """One table's rows of a batch, already in the form the target database is sent."""

    name: str
    """The table."""
    rows: tuple[tuple, ...]
    """Row tuples in the column order of the schema's Table, records in batch order."""
    owners: tuple[int, ...]
    """For each row, the ``position`` of the ReadyRecord it belongs to."""
    shared_keys: bool = False
    """True when rows of different records may carry the same primary key (a skip/update
    table whose key does not pin the record): a flush keeps one row per key across records.
    Within one record the worker already kept one."""


@pickled_as_call
@dataclass(frozen=True, slots=True)
class BatchRows:
    """Every row a batch of records mapped to, grouped by table: one payload per batch."""

    tables: tuple[TableRows, ...]
    """Tables with rows, in insertion order."""
    owners: int
    """How many records of the batch own rows (so a flush can tell it took them all)."""


EMPTY_ROWS = BatchRows((), 0)


@pickled_as_call
@dataclass(frozen=True, slots=True)
class ReadyRecord:
    """A mapped record whose rows wait, database-ready, in its batch's shared BatchRows.

    What a mapper worker returns instead of a MappedRecord: pickling one
    BatchRows per batch (plain values) is much cheaper than per-record rows of
    Decimal and datetime objects.
    """

    key: int
    """The record key (e.g. app_id)."""
    row_count: int
    """Rows the contract mapped for it (before one-row-per-key)."""
    rows: BatchRows
    """The batch's rows; this record's are those whose owner is ``position``."""
    position: int
    """This record's owner number in ``rows``."""
    warnings: tuple[tuple[str, int], ...] = ()
    """(kind, count), e.g. ("truncated:app_base.name", 1); never values."""
