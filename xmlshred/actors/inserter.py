"""InsertActor: buffers mapped rows and flushes them on size or age."""

from __future__ import annotations

import threading

import pykka
from loguru import logger

from xmlshred.actors.lifecycle import PipelineActor, tell_quietly
from xmlshred.loading import FlushAborted, FlushBuffer, FlushWriter, PendingRecord
from xmlshred.loading.retry import RetryPolicy
from xmlshred.messages import (
    FlushDue,
    FlushNow,
    FlushReport,
    MappedBatch,
    RecordsSettled,
    UnknownMessage,
)


class InsertActor(PipelineActor):
    """The only actor that writes to the target. One flush = one transaction.

    A flush that cannot be committed (retries exhausted, unclassified
    database error) kills the actor; the supervisor then stops the run, and
    the records of that flush stay unmarked, to be read again next run.
    """

    def __init__(self, open_target, schema, run_id: str, flush_settings, retry: RetryPolicy,
                 reporter, signals, *, dry_run: bool, check_done: bool, retry_failed: bool,
                 dry_run_log=None, contract_hash: str = "", reprocess=None, lineage=None) -> None:
        super().__init__("insert", signals)
        self._open_target = open_target
        self._schema = schema
        self._run_id = run_id
        self._retry = retry
        self._reporter = reporter
        self._dry_run = dry_run
        self._dry_run_log = dry_run_log
        """reporting.dryrun.DryRunLog of a dry run: each would-fail record goes there."""
        self._check_done = check_done
        self._contract_hash = contract_hash
        """The run's contract fingerprint (processing_log.contract_hash of every row it writes)."""
        self._reprocess = reprocess
        """loading.reprocess.Reprocess of a ``migrate --reprocess`` run, else None."""
        self._lineage = lineage
        """vocab.lineage.RecordLineage: how a reprocess finds a record's earlier rows."""
        self._retry_failed = retry_failed
        self._buffer = FlushBuffer(flush_settings.max_records, flush_settings.max_rows,
                                   flush_settings.max_interval_ms / 1000.0)
        self._timer: threading.Timer | None = None
        self._generation = 0
        self._target = None
        self._writer: FlushWriter | None = None
        self._aborted: FlushAborted | None = None
        self._log = logger.bind(actor="insert")

    def open(self) -> None:
        self._target = self._open_target()
        self._writer = FlushWriter(
            self._target, self._schema, self._run_id,
            retries=self._retry.connect_retries, backoff_s=self._retry.backoff_s,
            backoff_max_s=self._retry.backoff_max_s, dry_run=self._dry_run,
            check_done=self._check_done, retry_failed=self._retry_failed,
            on_dry_failure=self._dry_run_log.write if self._dry_run_log is not None else None,
            contract_hash=self._contract_hash, reprocess=self._reprocess, lineage=self._lineage,
        )

    def handle(self, message):
        if isinstance(message, MappedBatch):
            self._add(message)
        elif isinstance(message, FlushDue):
            if message.generation == self._generation and self._buffer.due():
                self._flush("age")
        elif isinstance(message, FlushNow):
            self._flush("drain")
        else:
            raise UnknownMessage(f"insert cannot handle {type(message).__name__}")
        return None

    def _add(self, batch: MappedBatch) -> None:
        if self._aborted is not None:
            return  # the run is stopping; these records stay unmarked and are read again next run
        was_empty = len(self._buffer) == 0
        for item in batch.mapped:
            self._buffer.add(PendingRecord(item, None, batch.reply_to))
        for item in batch.failed:
            self._buffer.add(PendingRecord(None, item, batch.reply_to))
        if self._buffer.full():
            self._flush("size")
        elif was_empty and len(self._buffer):
            self._arm_timer()

    def _arm_timer(self) -> None:
        self._cancel_timer()
        generation = self._generation
        self._timer = threading.Timer(self._buffer.max_interval_s, self._tell_due, args=(generation,))
        self._timer.daemon = True
        self._timer.start()

    def _tell_due(self, generation: int) -> None:
        try:
            self.actor_ref.tell(FlushDue(generation))
        except pykka.ActorDeadError:
            pass

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush(self, trigger: str) -> None:
        if self._aborted is not None:
            return
        self._generation += 1
        self._cancel_timer()
        records = self._buffer.take()
        if not records:
            return
        try:
            outcome = self._writer.write(records)
        except FlushAborted as exc:
            # An expected way to stop (the database stayed away): a clear line, no traceback.
            # Nothing of this flush was marked done; later batches are not written either.
            self._aborted = exc
            self._log.error("flush of {} records abandoned: {}", len(records), exc)
            self._signals.failed("insert", exc)
            return
        self._log.debug("flush ({}) of {} records: {} ok, {} failed, {} rows in {:.3f}s",
                        trigger, len(records), outcome.ok, len(outcome.failures), outcome.rows,
                        outcome.seconds)
        tell_quietly(self._reporter, FlushReport(outcome.ok, len(outcome.failures), outcome.rows,
                                                 outcome.seconds, tuple(outcome.failures), outcome.skipped,
                                                 tuple(outcome.quality.items()), outcome.rejects),
                     self._log)
        settled: dict[object, int] = {}
        for pending in records:
            settled[pending.reply_to] = settled.get(pending.reply_to, 0) + 1
        for reader, count in settled.items():
            tell_quietly(reader, RecordsSettled(count), self._log)

    def drain(self) -> None:
        self._cancel_timer()
        if self._writer is not None and len(self._buffer):
            self._flush("stop")

    def close(self) -> None:
        self._cancel_timer()
        if self._target is not None:
            try:
                self._target.close()
            except Exception:  # closing a broken connection must not mask the real error
                self._log.exception("closing the target failed")
            self._target = None
