"""Mapped records waiting for the next flush, with the size and age thresholds."""

from __future__ import annotations

import time
from dataclasses import dataclass

from xmlshred.messages import FailedItem, MappedItem


@dataclass(frozen=True, slots=True)
class PendingRecord:
    """One record waiting in the buffer: rows, or a failure to log."""

    mapped: MappedItem | None
    """Rows to write (None for a failure)."""
    failed: FailedItem | None
    """A validate/parse/map failure to log (None for rows)."""
    reply_to: object
    """The reader to credit once this record is settled."""


class FlushBuffer:
    """Records waiting for a flush; says when size or age calls for one."""

    def __init__(self, max_records: int, max_rows: int, max_interval_s: float) -> None:
        self.max_records = max_records
        self.max_rows = max_rows
        self.max_interval_s = max_interval_s
        self.records: list[PendingRecord] = []
        self.rows = 0
        self.oldest: float | None = None

    def __len__(self) -> int:
        return len(self.records)

    def add(self, record: PendingRecord, now: float | None = None) -> None:
        if self.oldest is None:
            self.oldest = time.monotonic() if now is None else now
        self.records.append(record)
        if record.mapped is not None:
            self.rows += record.mapped.record.row_count

    def full(self) -> bool:
        return len(self.records) >= self.max_records or self.rows >= self.max_rows

    def due(self, now: float | None = None) -> bool:
        if self.oldest is None:
            return False
        now = time.monotonic() if now is None else now
        return now - self.oldest >= self.max_interval_s

    def take(self) -> list[PendingRecord]:
        records, self.records, self.rows, self.oldest = self.records, [], 0, None
        return records
