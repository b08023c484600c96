"""One flush: a transaction of rows and processing_log rows, bisected on bad data,
retried on transient errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from loguru import logger

from xmlshred.db.errors import DataTargetError, TargetError
from xmlshred.loading.buffer import PendingRecord
from xmlshred.loading.reprocess import Reprocess
from xmlshred.loading.retry import RetriesExhausted, retry_transient
from xmlshred.targets.processing_log import LogRow
from xmlshred.targets.quality import EXAMPLE_KEYS, QualityRow, RejectRow
from xmlshred.targets.target import Replacement
from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.lineage import RecordLineage
from xmlshred.vocab.quality import add_counts, split_label
from xmlshred.vocab.results import BatchRows
from xmlshred.vocab.schema import TargetSchema

DUPLICATE_REASON = "duplicate record key in this run's source; the first occurrence was kept"


class FlushAborted(TerminalError):
    """A flush could not be committed (retries exhausted, or an unclassified
    database error). Nothing of it was marked done; a rerun reads it again."""


@dataclass(slots=True)
class FlushOutcome:
    """What one flush settled."""

    ok: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    rows: int = 0
    skipped: int = 0
    seconds: float = 0.0
    quality: dict[str, int] = field(default_factory=dict)
    """label ("kind:table.column") -> values changed, over the records this flush committed."""
    rejects: int = 0
    """Failures without a key recorded in xmlshred_rejects."""


def insert_failure_reason(error: DataTargetError) -> str:
    """A reason for processing_log that names the table and SQLSTATE, never values."""
    parts = [getattr(error, "sqlstate", None) and f"SQLSTATE {error.sqlstate}",
             getattr(error, "table", None) and f"table={error.table}"]
    detail = ", ".join(p for p in parts if p)
    return "the database rejected this record's rows" + (f" ({detail})" if detail else "")


class FlushWriter:
    """Writes flushes through one Target (owned by the calling thread)."""

    def __init__(
        self,
        target,
        schema: TargetSchema,
        run_id: str,
        *,
        retries: int,
        backoff_s: float,
        backoff_max_s: float,
        dry_run: bool = False,
        check_done: bool = False,
        retry_failed: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        on_dry_failure: Callable[[int | None, str, str, str], None] | None = None,
        contract_hash: str = "",
        reprocess: Reprocess | None = None,
        lineage: RecordLineage | None = None,
    ) -> None:
        self.target = target
        self.schema = schema
        self.run_id = run_id
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.dry_run = dry_run
        self.check_done = check_done
        self.retry_failed = retry_failed
        self._sleep = sleep
        self._on_dry_failure = on_dry_failure
        """Dry runs: called with (key, source label, stage, reason) for each record that would fail."""
        self.contract_hash = contract_hash
        """The run's contract fingerprint, written on every processing_log row."""
        self.reprocess = reprocess
        """``migrate --reprocess``: keys already logged are reloaded, their earlier rows replaced."""
        self.lineage = lineage
        """How each table's rows of a record are reached (needed when ``reprocess`` replaces rows)."""
        if reprocess is not None and reprocess.replaces_rows and lineage is None:
            raise ValueError("a reprocess that replaces rows needs the contract's record lineage")
        self._log = logger.bind(actor="insert")
        self._table_order = [table.name for table in schema.tables]
        self._now = datetime.now(UTC).replace(tzinfo=None)
        self.writer_id = uuid.uuid4().hex[:12]
        """This writer's rows of xmlshred_quality (several writers of one run, e.g. Ray shards, never share one)."""
        self._known_rejects: set[str] | None = None
        """source_refs xmlshred_rejects holds (file sources; read at the first flush)."""
        self._cleared: list[str] = []
        """source_refs of this flush's records that now have a key: their reject rows go."""
        self._quality: dict[str, tuple[int, tuple[int, ...]]] = {}
        """label -> (count, example keys) this writer has committed: its rows in xmlshred_quality."""

    # -- assembling ---------------------------------------------------------

    def _tables_of(self, records: list[PendingRecord]) -> tuple[list[tuple[str, list[tuple]]], set[str]]:
        """The records' rows per table, in insertion order, and the tables that need one row per key.

        Rows come ready from the workers, one BatchRows per batch: a batch whose
        records all take part gives its rows whole; otherwise (bisection, skipped
        or repeated keys) only the rows of the records taking part are picked.
        """
        batches: dict[int, tuple[BatchRows, list[int]]] = {}
        for pending in records:
            record = pending.mapped.record
            if record.position >= 0:  # it owns rows
                batches.setdefault(id(record.rows), (record.rows, []))[1].append(record.position)
        per_table: dict[str, list[tuple]] = {}
        dedupe: set[str] = set()
        for rows, positions in batches.values():
            wanted = None if len(positions) == rows.owners else frozenset(positions)
            for table in rows.tables:
                into = per_table.setdefault(table.name, [])
                if wanted is None:
                    into.extend(table.rows)
                else:
                    into.extend([row for owner, row in zip(table.owners, table.rows, strict=True) if owner in wanted])
                if table.shared_keys:
                    dedupe.add(table.name)
        order = self._table_order + [name for name in per_table if name not in self._table_order]
        return [(name, per_table[name]) for name in order if per_table.get(name)], dedupe

    def _log_row(self, key: int, status: str, stage: str | None, reason: str | None) -> LogRow:
        return LogRow(key=key, status=status, stage=stage, reason=reason,
                      run_id=self.run_id, updated_at=self._now, contract_hash=self.contract_hash)

    # -- the flush ----------------------------------------------------------

    def write(self, records: list[PendingRecord]) -> FlushOutcome:
        """Commit ``records``; raises FlushAborted when the flush cannot be committed."""
        started = time.perf_counter()
        self._now = datetime.now(UTC).replace(tzinfo=None)  # one timestamp for the whole flush
        outcome = FlushOutcome()
        successes, failures, rejects = self._triage(records, outcome)
        if self.dry_run:
            committed, rejected = successes, []
        else:
            committed, rejected = self._commit_isolating(successes, failures, outcome, rejects)
            outcome.rejects = len(rejects)
        outcome.ok = len(committed)
        outcome.rows = sum(p.mapped.record.row_count for p in committed)
        for pending in committed:
            if pending.mapped.record.warnings:
                add_counts(outcome.quality, pending.mapped.record.warnings)
        outcome.failures.extend((f.stage, f.reason) for _, f in failures)
        outcome.failures.extend(("insert", reason) for _, reason in rejected)
        if self.dry_run and self._on_dry_failure is not None:
            labels = {id(p.failed.failure): p.failed.item.label for p in records if p.failed is not None}
            for key, failure in failures:
                self._on_dry_failure(key, labels.get(id(failure), "?"), failure.stage, failure.reason)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _commit_isolating(self, successes, failures, outcome, rejects=()):
        """One transaction for everything; on a data error, bisect and log the rejected records.

        Before a record is blamed, processing_log is asked: a key it already
        holds as ``success`` (another run committed it) is *already done*,
        counted as skipped, never logged ``failed``.
        """
        failure_rows = [self._log_row(key, "failed", f.stage, f.reason) for key, f in failures if key is not None]
        try:
            self._commit(successes, failure_rows, rejects)
            return successes, []
        except DataTargetError:
            self._log.warning("flush of {} records rejected by the database; isolating the bad ones",
                              len(successes))
        remaining = self._drop_already_done(successes, outcome)
        committed, rejected = self._isolate(remaining, outcome, whole_first=len(remaining) < len(successes))
        failure_rows += [self._log_row(p.mapped.record.key, "failed", "insert", reason)
                         for p, reason in rejected]
        try:
            self._commit([], failure_rows, rejects)
        except DataTargetError as exc:
            raise FlushAborted(f"processing_log rejected failed rows: {exc}") from exc
        return committed, rejected

    def _drop_already_done(self, records: list[PendingRecord], outcome: FlushOutcome) -> list[PendingRecord]:
        """The records whose key processing_log does not yet hold as ``success``; the others are skipped."""
        if not records:
            return records
        keys = [p.mapped.record.key for p in records]
        if self.reprocess is not None:
            done = self._settled_by_this_run(keys)
        else:
            statuses = self._with_retries(lambda: self.target.done_keys(keys))
            done = {key for key, status in statuses.items() if status == "success"}
        if not done:
            return records
        self._log.warning("{} records of this flush were already committed by another run "
                          "(processing_log says success); counted as skipped, not failed", len(done))
        outcome.skipped += len(done)
        return [p for p in records if p.mapped.record.key not in done]

    def _triage(self, records, outcome):
        """Split into rows to write and failures to log; drop keys already done."""
        successes: list[PendingRecord] = []
        failures: list[tuple[int | None, object]] = []
        rejects: list[RejectRow] = []
        done: dict[int, str] = {}
        if self.check_done and self.reprocess is not None:
            done = self._reprocess_done([self._key_of(p) for p in records])
        elif self.check_done:
            keys = [self._key_of(p) for p in records]
            done = self._with_retries(lambda: self.target.done_keys([k for k in keys if k is not None]))
        seen: set[int] = set()
        self._cleared = []
        if self.check_done and not self.dry_run and self._known_rejects is None:
            self._known_rejects = set(self._with_retries(lambda: self.target.known_rejects(self.schema)))
        for pending in records:
            key = self._key_of(pending)
            if key is not None and self._known_rejects:
                path = (pending.mapped or pending.failed).item.path
                if path in self._known_rejects:
                    self._cleared.append(path)  # it has a key now: processing_log tells its fate
            status = done.get(key) if key is not None else None
            if status == "success" or (status == "failed" and not self.retry_failed):
                outcome.skipped += 1
                continue
            if key is not None and key in seen:
                # A second row for one key would clobber the first one's processing_log row.
                self._log.warning("record {} repeats a key already seen in this flush; not written",
                                  (pending.mapped or pending.failed).item.label)
                outcome.failures.append(("validate", DUPLICATE_REASON))
                continue
            if key is not None:
                seen.add(key)
            if pending.mapped is not None:
                successes.append(pending)
            else:
                failures.append((key, pending.failed.failure))
                if key is None:
                    rejects.append(self._reject_row(pending))
                    self._log.warning("record {} failed at {} and has no key, so no processing_log row "
                                      "(recorded in xmlshred_rejects): {}",
                                      pending.failed.item.label, pending.failed.failure.stage,
                                      pending.failed.failure.reason)
        return successes, failures, rejects

    def _reject_row(self, pending: PendingRecord) -> RejectRow:
        """The xmlshred_rejects row of a failure without a key: the file path (or the source's label)."""
        item, failure = pending.failed.item, pending.failed.failure
        size, mtime_ns = failure.source_stamp if failure.source_stamp is not None else (None, None)
        return RejectRow(self.run_id, item.path or item.label, failure.stage, failure.reason, self._now,
                         size, mtime_ns)

    def _quality_rows(self, successes: list[PendingRecord]) -> tuple[list[QualityRow], dict]:
        """This writer's new running totals for the labels ``successes`` touch, and the state to keep
        once they commit (the totals are written whole, so writing them again changes nothing)."""
        touched: dict[str, tuple[int, tuple[int, ...]]] = {}
        for pending in successes:
            record = pending.mapped.record
            for label, count in record.warnings:
                total, keys = touched.get(label) or self._quality.get(label) or (0, ())
                if len(keys) < EXAMPLE_KEYS and record.key not in keys:
                    keys = (*keys, record.key)
                touched[label] = (total + count, keys)
        rows = []
        for label, (count, keys) in touched.items():
            kind, table, column = split_label(label)
            rows.append(QualityRow(self.run_id, self.writer_id, table, column, kind, count,
                                   ",".join(str(key) for key in keys)))
        return rows, touched

    def _settled_by_this_run(self, keys: list[int]) -> set[int]:
        """Reprocess: the keys this run has committed already (earlier runs' successes are to be replaced)."""
        entries = self._with_retries(lambda: self.target.done_records(keys))
        return {key for key, entry in entries.items() if entry.status == "success" and entry.run_id == self.run_id}

    def _reprocess_done(self, keys: list[int | None]) -> dict[int, str]:
        """Reprocess with keys known only after mapping (files): the keys not to write, each as
        ``success`` (what makes ``_triage`` skip a key)."""
        wanted = [key for key in keys if key is not None]
        entries = self._with_retries(lambda: self.target.done_records(wanted)) if wanted else {}
        done = {}
        for key in wanted:
            entry = entries.get(key)
            if (entry is not None and entry.run_id == self.run_id) or not self.reprocess.wants(key, entry):
                done[key] = "success"
        return done

    @staticmethod
    def _key_of(pending: PendingRecord) -> int | None:
        if pending.mapped is not None:
            return pending.mapped.record.key
        return pending.failed.failure.key if pending.failed.failure.key is not None else pending.failed.item.key

    def _commit(self, successes: list[PendingRecord], extra_log_rows: list[LogRow], rejects=()) -> None:
        tables, dedupe = self._tables_of(successes)
        log_rows = [self._log_row(p.mapped.record.key, "success", None, None) for p in successes]
        log_rows += extra_log_rows
        if not tables and not log_rows and not rejects:
            return
        quality_rows, totals = self._quality_rows(successes)
        success_keys = [p.mapped.record.key for p in successes]
        replace = None
        if self.reprocess is not None and self.reprocess.replaces_rows and success_keys:
            replace = Replacement(self.lineage, tuple(success_keys))
        attempts = 0

        def write() -> None:
            nonlocal attempts
            attempts += 1
            # A connection can die after the server committed but before it said so. Before
            # writing again, look: a success row of this flush means the whole transaction
            # is in (the reader never hands out keys that already had one).
            if attempts > 1 and success_keys and self._committed_already(success_keys):
                self._log.warning("the previous attempt of this flush had committed; not writing it again")
                return
            self.target.write_flush(self.schema, tables, log_rows, dedupe=dedupe,
                                    quality_rows=quality_rows, reject_rows=rejects, cleared_rejects=cleared,
                                    replace=replace)

        cleared = self._cleared
        self._with_retries(write)
        if cleared:
            self._known_rejects.difference_update(cleared)
            self._cleared = []
        self._quality.update(totals)  # committed: these are now this writer's rows

    def _committed_already(self, keys: list[int]) -> bool:
        if self.reprocess is not None:  # the key had an earlier success: only this run's one counts
            entry = self.target.done_records(keys[:1]).get(keys[0])
            return entry is not None and entry.status == "success" and entry.run_id == self.run_id
        statuses = self.target.done_keys(keys[:1])
        return statuses.get(keys[0]) == "success"

    def _isolate(self, records: list[PendingRecord], outcome: FlushOutcome,
                 whole_first: bool = False) -> tuple[list[PendingRecord], list[tuple[PendingRecord, str]]]:
        """Bisect a rejected set until each bad record stands alone; commit the rest.

        A record rejected alone is blamed only after processing_log is
        checked once more: if its key became ``success`` meanwhile, it is
        skipped as already done.
        """
        if not records:
            return [], []
        if whole_first and len(records) > 1:
            try:
                self._commit(records, [])
                return records, []
            except DataTargetError:
                pass
        if len(records) == 1:
            try:
                self._commit(records, [])
                return records, []
            except DataTargetError as exc:
                if not self._drop_already_done(records, outcome):
                    return [], []
                return [], [(records[0], insert_failure_reason(exc))]
        middle = len(records) // 2
        committed, rejected = [], []
        for half in (records[:middle], records[middle:]):
            try:
                self._commit(half, [])
                committed += half
            except DataTargetError:
                ok, bad = self._isolate(half, outcome)
                committed += ok
                rejected += bad
        return committed, rejected

    def _with_retries(self, operation):
        try:
            return retry_transient(operation, self.target.reconnect, retries=self.retries,
                                   backoff_s=self.backoff_s, backoff_max_s=self.backoff_max_s,
                                   log=self._log, what="a flush", sleep=self._sleep)
        except RetriesExhausted as exc:
            raise FlushAborted(f"{exc}; nothing uncommitted was marked done: rerun to continue") from exc
        except DataTargetError:
            raise
        except TargetError as exc:
            raise FlushAborted(str(exc)) from exc
