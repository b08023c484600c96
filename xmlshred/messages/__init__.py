"""The messages actors exchange. Every message is a frozen value with tuple fields.

An actor that receives a message class it does not know raises
``UnknownMessage``: a wiring bug must fail loudly, never be ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xmlshred.sources.types import SourceItem
from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.results import ReadyRecord, RecordFailure


class UnknownMessage(TerminalError, TypeError):
    """An actor received a message it has no handler for (a wiring bug)."""


# reader -> mapper ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceBatch:
    """Records for one mapper to read, parse and map (its worker reads the documents)."""

    batch_id: int
    """Unique within a run, increasing."""
    items: tuple[SourceItem, ...]
    """The records (keys, file paths), in source order."""
    reply_to: Any
    """The reader's ActorRef: BatchMapped goes there, and RecordsSettled after the commit."""


# mapper -> insert ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MappedItem:
    """One record that mapped to rows."""

    item: SourceItem
    """Where it came from."""
    record: ReadyRecord
    """Its key and row count; its rows, database-ready, in ``record.rows`` (shared by its batch)."""


@dataclass(frozen=True, slots=True)
class FailedItem:
    """One record that failed before reaching the database."""

    item: SourceItem
    """Where it came from."""
    failure: RecordFailure
    """Stage and reason (never field values)."""


@dataclass(frozen=True, slots=True)
class MappedBatch:
    """The mapper's result for one SourceBatch."""

    batch_id: int
    """The SourceBatch this answers."""
    mapped: tuple[MappedItem, ...]
    """Records with rows."""
    failed: tuple[FailedItem, ...]
    """Records that failed at validate, parse or map."""
    reply_to: Any
    """The reader's ActorRef, for RecordsSettled once these records are committed."""


# mapper -> reader ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchMapped:
    """A mapper finished a batch: another may go to it."""

    mapper_index: int
    """Which mapper (0-based)."""
    batch_id: int
    """The batch it finished."""


# insert -> reader ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordsSettled:
    """Records whose fate is committed (success or failed rows) or final."""

    count: int
    """How many in-flight credits return to the reader."""


# reader/supervisor -> insert ------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlushNow:
    """Flush whatever is buffered, now (end of input, or a drain)."""


@dataclass(frozen=True, slots=True)
class FlushDue:
    """The age timer fired: flush if the oldest buffered record is old enough."""

    generation: int
    """Which timer fired; stale timers are ignored."""


# supervisor -> reader -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartReading:
    """Begin paging the source."""


@dataclass(frozen=True, slots=True)
class StopReading:
    """Read no more (a signal arrived); records already out still finish."""


@dataclass(frozen=True, slots=True)
class Pump:
    """Reader to itself: send more batches if credits allow."""


# -> reporter ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlushReport:
    """One committed flush (or a dry-run flush that wrote nothing)."""

    records_ok: int
    """Records committed with a success row."""
    records_failed: int
    """Records committed with a failed row (or failed without a key)."""
    rows: int
    """Data rows written."""
    seconds: float
    """Wall time of the flush, retries and bisection included."""
    failures: tuple[tuple[str, str], ...]
    """(stage, reason) of each failed record in this flush."""
    skipped: int = 0
    """Records found already done in processing_log (file sources) and not written again."""
    quality: tuple[tuple[str, int], ...] = ()
    """("kind:table.column", count): values the contract's rules changed in the committed records."""
    rejects: int = 0
    """Failures without a key recorded in xmlshred_rejects (among ``records_failed``)."""


@dataclass(frozen=True, slots=True)
class MapperLoad:
    """A mapper's busy time and its worker's costs for one batch, for utilisation and per-record figures."""

    mapper_index: int
    """Which mapper."""
    records: int
    """Records in the batch."""
    busy_seconds: float
    """Wall time the worker spent on the batch."""
    read_cpu_s: float = 0.0
    """CPU seconds the worker spent reading the batch's documents from the source."""
    map_cpu_s: float = 0.0
    """CPU seconds the worker spent parsing and mapping them."""
    bytes_read: int = 0
    """Bytes the worker read from the source (characters for text from a server)."""
    whole_reads: int = 0
    """Documents read whole (no prefix reads, or a prefix that did not serve)."""
    worker_cpu_s: float = 0.0
    """All CPU seconds of the worker process since its previous answer (pipe traffic included)."""


@dataclass(frozen=True, slots=True)
class TableCoverage:
    """What one batch's mapped records gave per table, and the mapping paths its worker has not seen."""

    mapper_index: int
    """Which mapper."""
    mapped: int
    """Records of the batch that mapped."""
    table_records: tuple[tuple[str, int], ...]
    """(table, records of the batch with rows in it), every contract table (0 included)."""
    unseen_paths: tuple[str, ...] | None = None
    """The worker's mapping paths found in no document it checked yet (None: not checked)."""
    paths_checked: int = 0
    """Documents the worker has checked for mapping paths so far."""
    coverage_cpu_s: float = 0.0
    """CPU seconds the batch's path check cost the worker."""


@dataclass(frozen=True, slots=True)
class ReaderProgress:
    """The reader's counters after it sent a batch or got credits back."""

    sent: int
    """Records sent to mappers so far in this run."""
    in_flight: int
    """Records out and not yet settled."""
    skipped_done: int
    """Records skipped because processing_log already had them from earlier runs."""
    exhausted: bool
    """True once the source has no more records for this run."""
    resumed_ok: int = 0
    """Records not read again because an earlier attempt of this run committed them."""
    resumed_failed: tuple[tuple[str, int], ...] = ()
    """(stage, count): failures an earlier attempt of this run logged, not read again."""
    skipped_rejects: int = 0
    """Documents not read because xmlshred_rejects holds them unchanged (same file, size, mtime)."""


@dataclass(frozen=True, slots=True)
class WorkerReplaced:
    """A mapper's worker process died and was replaced."""

    mapper_index: int
    """Which mapper."""
    exitcode: int | None
    """The dead process's exit code (negative: killed by that signal)."""


@dataclass(frozen=True, slots=True)
class ReportTick:
    """Timer to the reporter: time for a periodic progress line."""


@dataclass(frozen=True, slots=True)
class Ping:
    """Supervisor to any actor (ask): are you up? Raises the actor's start-up error if it has one."""


@dataclass(frozen=True, slots=True)
class Summarize:
    """Supervisor to the reporter (ask): write the final summary and reply with it."""

    outcome: str
    """How the run ended: ``finished``, ``interrupted`` or ``error``."""
    actor_cpu_s: tuple[tuple[str, float], ...] = ()
    """(actor name, thread CPU seconds) of the run's stopped actors, for the CPU-by-stage figures."""


__all__ = [
    "UnknownMessage", "SourceBatch", "MappedItem", "FailedItem", "MappedBatch",
    "BatchMapped", "RecordsSettled", "FlushNow", "FlushDue", "StartReading",
    "StopReading", "Pump", "FlushReport", "MapperLoad", "ReaderProgress",
    "WorkerReplaced", "ReportTick", "Summarize", "Ping", "SourceItem",
]
