"""The reader's logic: keyset paging (ReadCursor) and credit/finish accounting (ReadState).

Plain code, no threads, no actors: the ReaderActor is a thin shell that
feeds messages in and carries out what these classes decide, so the
hardest logic of the run is testable on its own (tests/test_read_state.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from xmlshred.loading.reprocess import Reprocess
from xmlshred.sources.types import SourceItem
from xmlshred.vocab.errors import TerminalError


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """How much the reader may have out, and which records this run covers."""

    max_in_flight: int
    batch_size: int
    mapper_queue_batches: int
    page_size: int
    limit: int = 0
    key_start: int | None = None
    key_end: int | None = None
    retry_failed: bool = False
    reprocess: Reprocess | None = None
    """``migrate --reprocess``: which already-logged records are read again (None: none)."""


class ReadCursor:
    """Keyset paging over a source plus the skip-done filter and ``limit``.

    ``next_items(n)`` returns up to n items still to process, or [] at the end.
    ``done_records(keys)`` maps keys to their processing_log entries (``Settled``).

    A record already settled is not read again. It counts as skipped when an earlier
    run settled it, and as settled by this run (``resumed_ok``, ``resumed_failed``)
    when an earlier attempt of this same run did: a Ray shard retried after its
    worker died finds what its killed attempt had committed under ``run_id``.
    """

    def __init__(self, source, done_records, limits: ReadLimits, run_id: str | None = None,
                 known_rejects: dict[str, tuple[int | None, int | None]] | None = None) -> None:
        """``known_rejects``: source_ref (file path) -> (size, mtime_ns) of the documents xmlshred_rejects
        holds; an item whose file still has that size and mtime is skipped (unless ``retry_failed``)."""
        self._source = source
        self._known_rejects = {} if limits.retry_failed else dict(known_rejects or {})
        self.skipped_rejects = 0
        self._done_records = done_records
        self._limits = limits
        self._run_id = run_id
        self._after = None if limits.key_start is None else limits.key_start - 1
        self._pending: list[SourceItem] = []
        self.exhausted_source = False
        self.skipped_done = 0
        self.resumed_ok = 0
        self.resumed_failed: dict[str, int] = {}
        """Failures an earlier attempt of this run logged, by stage."""
        self.taken = 0
        self.reloaded = 0
        """Reprocess: records read again that processing_log already held."""

    def _refill(self) -> None:
        while not self._pending and not self.exhausted_source:
            items = self._source.page(self._after, self._limits.page_size,
                                      self._limits.key_start, self._limits.key_end)
            if not items:
                self.exhausted_source = True
                return
            self._after = items[-1].position
            keys = [item.key for item in items if item.key is not None]
            done = self._done_records(keys) if keys else {}
            for item in items:
                if self._known_rejects and item.path is not None and self._unchanged_reject(item.path):
                    self.skipped_rejects += 1
                    continue
                entry = done.get(item.key)
                status = entry.status if entry is not None else None
                if self._limits.reprocess is not None:
                    self._select_for_reprocess(item, entry)
                elif status == "success" or (status == "failed" and not self._limits.retry_failed):
                    if self._run_id is None or entry.run_id != self._run_id:
                        self.skipped_done += 1
                    elif status == "success":
                        self.resumed_ok += 1
                    else:
                        stage = entry.stage or "unknown"
                        self.resumed_failed[stage] = self.resumed_failed.get(stage, 0) + 1
                else:
                    self._pending.append(item)

    def _unchanged_reject(self, path: str) -> bool:
        """Is this file a known reject with the same size and mtime as when it failed?"""
        known = self._known_rejects.get(path)
        if known is None or None in known:
            return False
        try:
            status = os.stat(path)
        except OSError:
            return False  # let the worker read it and say what is wrong
        return (status.st_size, status.st_mtime_ns) == known

    def _select_for_reprocess(self, item: SourceItem, entry) -> None:
        """A reprocess reads what it selects, except what this same run settled already (resumed)."""
        if entry is not None and self._run_id is not None and entry.run_id == self._run_id:
            if entry.status == "success":
                self.resumed_ok += 1
            else:
                stage = entry.stage or "unknown"
                self.resumed_failed[stage] = self.resumed_failed.get(stage, 0) + 1
        elif self._limits.reprocess.wants(item.key, entry):
            if entry is not None:
                self.reloaded += 1
            self._pending.append(item)
        else:
            self.skipped_done += 1

    def next_items(self, count: int) -> list[SourceItem]:
        if self._limits.limit:
            count = min(count, self._limits.limit - self.taken)
        if count <= 0:
            return []
        self._refill()
        items, self._pending = self._pending[:count], self._pending[count:]
        self.taken += len(items)
        return items

    @property
    def exhausted(self) -> bool:
        if self._limits.limit and self.taken >= self._limits.limit:
            return True
        return self.exhausted_source and not self._pending


class AccountingError(TerminalError):
    """A message that the reader's accounting cannot explain (a bug, never bad input)."""


@dataclass(frozen=True, slots=True)
class EndStep:
    """What the reader must do after a change: ask for a drain flush, and/or report the end."""

    flush_now: bool = False
    finished: bool = False


class ReadState:
    """Credits, per-mapper queues and the end of the stream, as plain state.

    - ``next_send(exhausted)`` says to which mapper the next batch goes and
      how many records it may hold (None: wait for a credit or a free mapper).
    - ``sent``/``mapped``/``settled`` record a batch sent, a batch a mapper
      finished, records the InsertActor committed.
    - ``end_step(exhausted)`` says whether to ask for a drain flush (all
      mapped, some uncommitted) and whether the run is finished (nothing in
      flight after the end of input or a stop). Each is said once.
    """

    def __init__(self, mappers: int, max_in_flight: int, batch_size: int, mapper_queue_batches: int) -> None:
        if mappers < 1 or max_in_flight < 1 or batch_size < 1 or mapper_queue_batches < 0:
            raise ValueError("mappers, max_in_flight and batch_size must be >= 1, mapper_queue_batches >= 0")
        self.max_in_flight = max_in_flight
        self.batch_size = batch_size
        self.mapper_queue_batches = mapper_queue_batches
        self.outstanding = [0] * mappers
        """Batches sent to each mapper and not yet reported mapped."""
        self.in_flight = 0
        """Records sent and not yet settled (committed or failed for good)."""
        self.sent = 0
        self.started = False
        self.stopped = False
        self.drain_requested = False
        self.finished = False

    @property
    def mapper_limit(self) -> int:
        """Most batches one mapper holds: one in its worker plus ``mapper_queue_batches`` waiting."""
        return self.mapper_queue_batches + 1

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def next_send(self, exhausted: bool) -> tuple[int, int] | None:
        """(mapper index, most records) for the next batch, or None when nothing may go now."""
        if not self.started or self.stopped or exhausted or self.finished:
            return None
        credits = self.max_in_flight - self.in_flight
        index = min(range(len(self.outstanding)), key=self.outstanding.__getitem__)
        if credits <= 0 or self.outstanding[index] >= self.mapper_limit:
            return None
        return index, min(self.batch_size, credits)

    def sent_batch(self, index: int, count: int) -> None:
        if count < 1 or self.in_flight + count > self.max_in_flight:
            raise AccountingError(f"a batch of {count} records exceeds the credits "
                                  f"({self.in_flight} of {self.max_in_flight} in flight)")
        if self.outstanding[index] >= self.mapper_limit:
            raise AccountingError(f"mapper-{index} already holds {self.outstanding[index]} batches")
        self.outstanding[index] += 1
        self.in_flight += count
        self.sent += count

    def mapped(self, index: int) -> None:
        if not 0 <= index < len(self.outstanding) or self.outstanding[index] == 0:
            raise AccountingError(f"mapper-{index} reported a batch it was never sent")
        self.outstanding[index] -= 1

    def settled(self, count: int) -> None:
        if count < 0 or count > self.in_flight:
            raise AccountingError(f"{count} records settled but only {self.in_flight} are in flight")
        self.in_flight -= count

    def end_step(self, exhausted: bool) -> EndStep:
        if not (self.stopped or (self.started and exhausted)):
            return EndStep()
        flush_now = finished = False
        if self.in_flight > 0 and not any(self.outstanding) and not self.drain_requested:
            self.drain_requested = True
            flush_now = True
        if self.in_flight == 0 and not self.finished:
            self.finished = True
            finished = True
        return EndStep(flush_now, finished)
