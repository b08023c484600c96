"""ReaderActor: pages the source by key and hands batches of keys to mappers, within credits.

It never reads a document: each mapper's worker reads its batch's documents itself.

The decisions (credits, per-mapper queues, end of stream, limit, key range,
skipping done keys) live in ``xmlshred.loading.reading``; this actor only
turns messages into calls there and carries out the answers.
"""

from __future__ import annotations

from loguru import logger

from xmlshred.actors.lifecycle import PipelineActor, tell_quietly
from xmlshred.loading.reading import ReadCursor, ReadLimits, ReadState
from xmlshred.loading.retry import RetryPolicy, retry_transient
from xmlshred.messages import (
    BatchMapped,
    FlushNow,
    Pump,
    ReaderProgress,
    RecordsSettled,
    SourceBatch,
    StartReading,
    StopReading,
    UnknownMessage,
)

__all__ = ["ReadLimits", "ReaderActor"]


class ReaderActor(PipelineActor):
    """Reads the source; never has more than ``max_in_flight`` records out.

    Credits come back as RecordsSettled after the InsertActor commits; each
    mapper holds at most ``mapper_queue_batches`` batches of keys; documents
    stay in the source until a worker reads them.
    """

    def __init__(self, open_source, open_target, mappers, inserter, reporter, signals,
                 limits: ReadLimits, retry: RetryPolicy | None = None, run_id: str | None = None) -> None:
        """``run_id``: this run's id; processing_log entries under it were settled by an earlier
        attempt of this run (a retried Ray shard) and count as this run's, not as skipped."""
        super().__init__("reader", signals)
        self._run_id = run_id
        self._retry = retry
        """How processing_log lookups retry through transient errors (None: no retry)."""
        self._open_source = open_source
        self._open_target = open_target
        self._mappers = list(mappers)
        self._inserter = inserter
        self._reporter = reporter
        self._limits = limits
        self._state = ReadState(len(self._mappers), limits.max_in_flight, limits.batch_size,
                                limits.mapper_queue_batches)
        self._batch_id = 0
        self._source = None
        self._target = None
        self._cursor: ReadCursor | None = None
        self._log = logger.bind(actor="reader")

    def open(self) -> None:
        self._source = self._open_source()
        self._source.open()
        self._target = self._open_target()
        known = {} if self._limits.retry_failed else self._known_rejects()
        self._cursor = ReadCursor(self._source, self._done_records, self._limits, self._run_id, known)

    def handle(self, message):
        if isinstance(message, StartReading):
            self._state.start()
            self._pump()
        elif isinstance(message, BatchMapped):
            self._state.mapped(message.mapper_index)
            self._pump()
        elif isinstance(message, RecordsSettled):
            self._state.settled(message.count)
            self._pump()
        elif isinstance(message, StopReading):
            if not self._state.stopped:
                self._log.info("stop requested: reading no more; draining {} records in flight",
                               self._state.in_flight)
            self._state.stop()
            self._end_step()
        elif isinstance(message, Pump):
            self._pump()
        else:
            raise UnknownMessage(f"reader cannot handle {type(message).__name__}")
        return None

    def _done_records(self, keys: list[int]) -> dict:
        """processing_log entries of ``keys``, retried like a flush through transient errors.

        Raises RetriesExhausted (the run stops) when the database stays away,
        and any other TargetError at once.
        """
        if self._retry is None:
            return self._target.done_records(keys)
        return retry_transient(
            lambda: self._target.done_records(keys), self._target.reconnect,
            retries=self._retry.connect_retries, backoff_s=self._retry.backoff_s,
            backoff_max_s=self._retry.backoff_max_s, log=self._log,
            what="a processing_log lookup")

    def _known_rejects(self) -> dict:
        """xmlshred_rejects as source_ref -> (size, mtime_ns), retried like processing_log lookups."""
        if self._retry is None:
            return self._target.known_rejects()
        return retry_transient(
            self._target.known_rejects, self._target.reconnect,
            retries=self._retry.connect_retries, backoff_s=self._retry.backoff_s,
            backoff_max_s=self._retry.backoff_max_s, log=self._log,
            what="an xmlshred_rejects lookup")

    def _pump(self) -> None:
        if not self._state.started:
            return
        while (step := self._state.next_send(self._cursor.exhausted)) is not None:
            index, most = step
            items = self._cursor.next_items(most)
            if not items:
                break
            self._batch_id += 1
            tell_quietly(self._mappers[index], SourceBatch(self._batch_id, tuple(items), self.actor_ref), self._log)
            self._state.sent_batch(index, len(items))
        cursor = self._cursor
        tell_quietly(self._reporter, ReaderProgress(self._state.sent, self._state.in_flight, cursor.skipped_done,
                                                    cursor.exhausted or self._state.stopped, cursor.resumed_ok,
                                                    tuple(sorted(cursor.resumed_failed.items())),
                                                    cursor.skipped_rejects), self._log)
        self._end_step()

    def _end_step(self) -> None:
        step = self._state.end_step(self._cursor is not None and self._cursor.exhausted)
        if step.flush_now:
            # Everything is mapped: no reason to wait for the age threshold.
            tell_quietly(self._inserter, FlushNow(), self._log)
        if step.finished:
            self._log.info("all {} records read this run are settled", self._state.sent)
            self._signals.finished()

    def close(self) -> None:
        for resource in (self._source, self._target):
            if resource is not None:
                try:
                    resource.close()
                except Exception:
                    self._log.exception("closing {} failed", type(resource).__name__)
        self._source = self._target = None
