"""ReaderActor: pages the source by key and hands batches to mappers, within credits."""

from __future__ import annotations

from dataclasses import dataclass

import pykka
from loguru import logger

from xmlshred.messages import (
    BatchMapped, FlushNow, Ping, Pump, ReaderProgress, RecordsSettled, SourceBatch,
    StartReading, StopReading, UnknownMessage,
)
from xmlshred.sources.types import SourceItem
from xmlshred.loading.retry import retry_transient


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


class ReadCursor:
    """Keyset paging over a source plus the skip-done filter. Plain code, no threads.

    ``next_items(n)`` returns up to n items still to process, or [] at the end.
    """

    def __init__(self, source, done_keys, limits: ReadLimits) -> None:
        self._source = source
        self._done_keys = done_keys
        self._limits = limits
        self._after = None if limits.key_start is None else limits.key_start - 1
        self._pending: list[SourceItem] = []
        self.exhausted_source = False
        self.skipped_done = 0
        self.taken = 0

    def _refill(self) -> None:
        while not self._pending and not self.exhausted_source:
            items = self._source.page(self._after, self._limits.page_size,
                                      self._limits.key_start, self._limits.key_end)
            if not items:
                self.exhausted_source = True
                return
            self._after = items[-1].position
            keys = [item.key for item in items if item.key is not None]
            done = self._done_keys(keys) if keys else {}
            for item in items:
                status = done.get(item.key)
                if status == "success" or (status == "failed" and not self._limits.retry_failed):
                    self.skipped_done += 1
                else:
                    self._pending.append(item)

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


class ReaderActor(pykka.ThreadingActor):
    """Reads the source; never has more than ``max_in_flight`` records out.

    Credits come back as RecordsSettled after the InsertActor commits; each
    mapper holds at most ``mapper_queue_batches`` batches, so documents (the
    large part) wait in the source, not in mailboxes.
    """

    def __init__(self, open_source, open_target, mappers, inserter, reporter, signals,
                 limits: ReadLimits, retry_settings=None) -> None:
        super().__init__()
        self._retry = retry_settings
        """connect_retries/retry_backoff_s/retry_backoff_max_s for processing_log lookups (None: no retry)."""
        self._open_source = open_source
        self._open_target = open_target
        self._mappers = list(mappers)
        self._inserter = inserter
        self._reporter = reporter
        self._signals = signals
        self._limits = limits
        self._outstanding = [0] * len(self._mappers)
        self._in_flight = 0
        self._sent = 0
        self._batch_id = 0
        self._started = False
        self._stopped = False
        self._drain_requested = False
        self._finished = False
        self._source = None
        self._target = None
        self._cursor: ReadCursor | None = None
        self._start_error: BaseException | None = None
        self._log = logger.bind(actor="reader")

    def on_start(self) -> None:
        try:
            self._source = self._open_source()
            self._source.open()
            self._target = self._open_target()
            self._cursor = ReadCursor(self._source, self._done_keys, self._limits)
        except Exception as exc:  # surfaced to the supervisor by Ping
            self._start_error = exc

    def on_receive(self, message):
        if isinstance(message, Ping):
            if self._start_error is not None:
                raise self._start_error
            return self._source.count(self._limits.key_start, self._limits.key_end)
        if isinstance(message, StartReading):
            self._started = True
            self._pump()
        elif isinstance(message, BatchMapped):
            self._outstanding[message.mapper_index] -= 1
            self._pump()
        elif isinstance(message, RecordsSettled):
            self._in_flight -= message.count
            self._pump()
        elif isinstance(message, StopReading):
            if not self._stopped:
                self._log.info("stop requested: reading no more; draining {} records in flight",
                               self._in_flight)
            self._stopped = True
            self._check_end()
        elif isinstance(message, Pump):
            self._pump()
        else:
            raise UnknownMessage(f"reader cannot handle {type(message).__name__}")
        return None

    def _done_keys(self, keys: list[int]) -> dict[int, str]:
        """processing_log statuses of ``keys``, retried like a flush through transient errors.

        Raises RetriesExhausted (the run stops) when the database stays away,
        and any other TargetError at once.
        """
        if self._retry is None:
            return self._target.done_keys(keys)
        return retry_transient(
            lambda: self._target.done_keys(keys), self._target.reconnect,
            retries=self._retry.connect_retries, backoff_s=self._retry.retry_backoff_s,
            backoff_max_s=self._retry.retry_backoff_max_s, log=self._log,
            what="a processing_log lookup")

    def _pick_mapper(self) -> int | None:
        index = min(range(len(self._mappers)), key=self._outstanding.__getitem__)
        # One batch in the worker plus mapper_queue_batches waiting in the mailbox.
        if self._outstanding[index] > self._limits.mapper_queue_batches:
            return None
        return index

    def _pump(self) -> None:
        if not self._started:
            return
        while not self._stopped and not self._cursor.exhausted:
            credits = self._limits.max_in_flight - self._in_flight
            index = self._pick_mapper()
            if credits <= 0 or index is None:
                break
            items = self._cursor.next_items(min(self._limits.batch_size, credits))
            if not items:
                break
            documents = tuple(self._source.fetch(items))
            self._batch_id += 1
            self._mappers[index].tell(SourceBatch(self._batch_id, documents, self.actor_ref))
            self._outstanding[index] += 1
            self._in_flight += len(items)
            self._sent += len(items)
        self._report()
        self._check_end()

    def _report(self) -> None:
        self._reporter.tell(ReaderProgress(self._sent, self._in_flight, self._cursor.skipped_done,
                                           self._cursor.exhausted or self._stopped))

    def _check_end(self) -> None:
        if not (self._stopped or self._cursor.exhausted):
            return
        if self._in_flight > 0 and not any(self._outstanding) and not self._drain_requested:
            # Everything is mapped: no reason to wait for the age threshold.
            self._drain_requested = True
            self._inserter.tell(FlushNow())
        if self._in_flight == 0 and not self._finished:
            self._finished = True
            self._log.info("all {} records read this run are settled", self._sent)
            self._signals.finished()

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        self._signals.failed("reader", exception_value)
        self._close()

    def on_stop(self) -> None:
        self._close()

    def _close(self) -> None:
        for resource in (self._source, self._target):
            if resource is not None:
                try:
                    resource.close()
                except Exception:
                    self._log.exception("closing {} failed", type(resource).__name__)
        self._source = self._target = None
