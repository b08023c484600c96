"""What mapping one document gives: the rows, or a failure with a stage."""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("validate", "parse", "map", "insert")


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


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """A document that could not be mapped; never carries field values."""

    key: int | None
    """The record key when known (table sources always know it)."""
    stage: str
    """``validate`` | ``parse`` | ``map`` (``insert`` is set by the target)."""
    reason: str
    """Short reason naming what is wrong (column, rule) without values."""
