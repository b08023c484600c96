"""Run figures: what the reporter knows about a run, as plain values.

``RunStats`` is fed the reporter's message values and turns them into the
periodic progress line, the per-interval metrics object and the final
summary. It has no threads and reads no clock: every call that needs the
time takes ``now`` (a ``time.monotonic()`` reading), so tests drive it with
made-up times.

Rates count successes only: a failed record is work done, not throughput.
Memory stays bounded whatever the number of records: latencies are kept as a
fixed-size sample, failures as counts per stage.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from typing import Any

from xmlshred.messages import FlushReport, MapperLoad, ReaderProgress, WorkerReplaced
from xmlshred.reporting.bottleneck import stage_times, verdict, verdict_clause
from xmlshred.reporting.summary import RunSummary
from xmlshred.vocab.quality import totals_by_kind

LATENCY_SAMPLE_SIZE = 10_000
"""Flush latencies kept for the run's percentiles; beyond it, a uniform sample."""


def percentile(values: list[float], pct: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def per_minute(count: int, seconds: float) -> float:
    """``count`` per minute over ``seconds`` (0.0 before any time has passed)."""
    if seconds <= 0:
        return 0.0
    return count * 60.0 / seconds


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 1)


def _utc(moment: datetime) -> datetime:
    # A naive datetime is taken as UTC, the convention of the whole project.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """``moment`` as ISO 8601 in UTC with milliseconds, e.g. ``2026-01-31T12:00:00.000+00:00``."""
    return _utc(moment).isoformat(timespec="milliseconds")


class RunStats:
    """The figures of one run, fed with message values.

    ``start`` is the ``time.monotonic()`` reading at ``started_at`` (the wall
    clock time the run started); timestamps are derived from both so that a
    wall clock jump during the run does not distort rates. ``recent_window_s``
    is the span of the "recent" rate and latency figures (the reporting
    interval). Raises ``ValueError`` for a window that is not positive.
    """

    def __init__(
        self,
        run_id: str,
        mappers: int,
        started_at: datetime | None = None,
        start: float | None = None,
        recent_window_s: float = 60.0,
    ) -> None:
        if recent_window_s <= 0:
            raise ValueError(f"recent_window_s must be positive, got {recent_window_s}")
        self.run_id = run_id
        self.mappers = mappers
        self.started_at = _utc(started_at or datetime.now(UTC))
        self.start = time.monotonic() if start is None else start
        self.recent_window_s = recent_window_s

        self.records_ok = 0
        self.records_failed = 0
        self.rows = 0
        self.flushes = 0
        self.flush_skipped = 0
        self.quality: dict[str, int] = {}
        """"kind:table.column" -> values the contract's rules changed in committed records."""
        self.rejects = 0
        """Failed records without a key, recorded in xmlshred_rejects."""
        self.failures_by_stage: Counter[str] = Counter()
        self._latency_sample: list[float] = []
        # Seeded: a run's percentiles must not change from one report to the next by chance.
        self._sampler = random.Random(0)
        # (arrival time, records ok, flush seconds) of the flushes inside the recent window.
        self._recent_flushes: deque[tuple[float, int, float]] = deque()
        self.flush_seconds = 0.0
        """Wall seconds of every flush (the InsertActor's busy time: its CPU and the database wait)."""
        self.first_sent_at: float | None = None
        """When the reader had sent its first batch (monotonic), if told."""
        self.last_flush_at: float | None = None
        """When the last flush was counted (monotonic)."""

        self.busy_seconds_by_mapper: dict[int, float] = {}
        self.mapped_records = 0
        self.read_cpu_s = 0.0
        """CPU seconds the workers spent reading documents from the source."""
        self.map_cpu_s = 0.0
        """CPU seconds the workers spent parsing and mapping."""
        self.worker_cpu_s = 0.0
        """All the workers' CPU seconds while answering batches (reading, mapping, pipe traffic)."""
        self.bytes_read = 0
        self.whole_reads = 0

        self.reader = ReaderProgress(sent=0, in_flight=0, skipped_done=0, exhausted=False)
        """The reader's latest counters. Its resumed records (an earlier attempt of this run settled
        them: a retried Ray shard) are counted in records_ok / records_failed and failures_by_stage."""

        self.workers_replaced = 0

    # feeding -----------------------------------------------------------------

    def add_flush(self, report: FlushReport, now: float) -> None:
        """Count one committed flush that arrived at ``now``."""
        self.records_ok += report.records_ok
        self.records_failed += report.records_failed
        self.rows += report.rows
        self.flushes += 1
        self.flush_skipped += report.skipped
        self.rejects += report.rejects
        for label, count in report.quality:
            self.quality[label] = self.quality.get(label, 0) + count
        for stage, _reason in report.failures:
            self.failures_by_stage[stage] += 1
        # Failed records that never reached a flush's failures tuple (failed
        # without a key) still count, under a stage that says so.
        unexplained = report.records_failed - len(report.failures)
        if unexplained > 0:
            self.failures_by_stage["unknown"] += unexplained
        self._sample_latency(report.seconds)
        self.flush_seconds += report.seconds
        self.last_flush_at = now
        self._recent_flushes.append((now, report.records_ok, report.seconds))
        self._forget_before(now - self.recent_window_s)

    def add_mapper_load(self, load: MapperLoad) -> None:
        """Count one batch's busy time for its mapper, and its worker's read and map costs."""
        self.busy_seconds_by_mapper[load.mapper_index] = (
            self.busy_seconds_by_mapper.get(load.mapper_index, 0.0) + load.busy_seconds
        )
        self.mapped_records += load.records
        self.read_cpu_s += load.read_cpu_s
        self.map_cpu_s += load.map_cpu_s
        self.worker_cpu_s += load.worker_cpu_s
        self.bytes_read += load.bytes_read
        self.whole_reads += load.whole_reads

    def add_reader_progress(self, progress: ReaderProgress, now: float | None = None) -> None:
        """Take the reader's latest counters (they are totals, not increments); ``now``: when they
        arrived (the first batch sent starts the run's active window, see ``bottleneck``)."""
        if progress.sent and self.first_sent_at is None and now is not None:
            self.first_sent_at = now
        # Totals too: what grew since the last report joins this run's settled records.
        self.records_ok += progress.resumed_ok - self.reader.resumed_ok
        before = dict(self.reader.resumed_failed)
        for stage, count in progress.resumed_failed:
            grown = count - before.get(stage, 0)
            if grown:
                self.records_failed += grown
                self.failures_by_stage[stage] += grown
        self.reader = progress

    def add_worker_replaced(self, replaced: WorkerReplaced) -> None:
        """Count one replaced worker process."""
        self.workers_replaced += 1

    def _sample_latency(self, seconds: float) -> None:
        # Reservoir sampling: exact percentiles up to LATENCY_SAMPLE_SIZE
        # flushes, an unbiased sample of them after that, in constant memory.
        if len(self._latency_sample) < LATENCY_SAMPLE_SIZE:
            self._latency_sample.append(seconds)
            return
        slot = self._sampler.randrange(self.flushes)
        if slot < LATENCY_SAMPLE_SIZE:
            self._latency_sample[slot] = seconds

    def _forget_before(self, cutoff: float) -> None:
        while self._recent_flushes and self._recent_flushes[0][0] <= cutoff:
            self._recent_flushes.popleft()

    # figures -----------------------------------------------------------------

    @property
    def skipped(self) -> int:
        """Records found already done: by the reader (keys) and at flush time (files)."""
        return self.reader.skipped_done + self.flush_skipped + self.reader.skipped_rejects

    @property
    def resumed(self) -> int:
        """Records an earlier attempt of this run had settled (in records_ok/records_failed)."""
        return self.reader.resumed_ok + sum(count for _, count in self.reader.resumed_failed)

    @property
    def done(self) -> int:
        """Records settled in this run one way or another (for the progress bar)."""
        return self.records_ok + self.records_failed + self.skipped

    def seconds(self, now: float) -> float:
        """Seconds since the run started."""
        return max(0.0, now - self.start)

    def records_per_minute(self, now: float) -> float:
        """Successful records per minute since the start: those this attempt wrote (not the
        ones an earlier attempt of the run had committed, which took none of its time)."""
        return per_minute(self.records_ok - self.reader.resumed_ok, self.seconds(now))

    def _recent(self, now: float) -> list[tuple[float, int, float]]:
        cutoff = now - self.recent_window_s
        return [flush for flush in self._recent_flushes if cutoff < flush[0] <= now]

    def recent_records_per_minute(self, now: float) -> float:
        """Successful records per minute over the last ``recent_window_s``.

        Early in the run the window is cut to the time elapsed, so the first
        reports are not understated.
        """
        span = min(self.recent_window_s, self.seconds(now))
        return per_minute(sum(ok for _, ok, _ in self._recent(now)), span)

    def recent_flush_latency(self, now: float, pct: float) -> float | None:
        """A percentile of the flush seconds in the recent window (None without flushes)."""
        return percentile([seconds for _, _, seconds in self._recent(now)], pct)

    def flush_latency(self, pct: float) -> float | None:
        """A percentile of the flush seconds over the whole run (None without flushes)."""
        return percentile(self._latency_sample, pct)

    def mapper_utilisation(self, now: float) -> float:
        """Fraction of the mappers' wall time spent busy: busy / (wall × mappers)."""
        capacity = self.seconds(now) * self.mappers
        if capacity <= 0:
            return 0.0
        return sum(self.busy_seconds_by_mapper.values()) / capacity

    def worker_costs(self) -> dict[str, Any]:
        """Per mapped record: bytes read, read and map CPU milliseconds (None before any record), whole reads."""
        records = self.mapped_records

        def each(total: float, scale: float, digits: int) -> float | None:
            return round(total * scale / records, digits) if records else None

        return {
            "bytes_read": self.bytes_read,
            "bytes_read_per_record": each(self.bytes_read, 1, 0),
            "read_cpu_ms_per_record": each(self.read_cpu_s, 1000.0, 3),
            "map_cpu_ms_per_record": each(self.map_cpu_s, 1000.0, 3),
            "whole_reads": self.whole_reads,
        }

    def timestamp(self, now: float) -> datetime:
        """The wall clock time of monotonic reading ``now``."""
        return self.started_at + timedelta(seconds=self.seconds(now))

    # outputs -----------------------------------------------------------------

    def progress_line(self, now: float) -> str:
        """The periodic INFO line (at most ~120 characters): counts and rates only, never record content.

        The run id is in the start and summary lines; p50 and the flush count in metrics.jsonl.
        """
        p95 = _ms(self.recent_flush_latency(now, 95))
        latency = "-" if p95 is None else f"{p95:,.0f} ms"
        return (
            f"progress ok={self.records_ok:,} failed={self.records_failed:,} skipped={self.skipped:,} | "
            f"{self.records_per_minute(now):,.0f}/min, recent {self.recent_records_per_minute(now):,.0f} | "
            f"in flight {self.reader.in_flight:,} | flush p95 {latency} | "
            f"mappers {self.mapper_utilisation(now):.0%} | {format_duration(self.seconds(now))}"
        )

    def interval_metrics(self, now: float) -> dict[str, Any]:
        """The metrics.jsonl object for one reporting interval."""
        return {
            "event": "progress",
            "run_id": self.run_id,
            "ts": iso_utc(self.timestamp(now)),
            "seconds": round(self.seconds(now), 3),
            "records_ok": self.records_ok,
            "records_failed": self.records_failed,
            "records_per_minute": round(self.records_per_minute(now), 1),
            "recent_records_per_minute": round(self.recent_records_per_minute(now), 1),
            "in_flight": self.reader.in_flight,
            "sent": self.reader.sent,
            "flushes": self.flushes,
            "flush_p50_ms": _ms(self.recent_flush_latency(now, 50)),
            "flush_p95_ms": _ms(self.recent_flush_latency(now, 95)),
            "mapper_utilisation": round(self.mapper_utilisation(now), 3),
            "rows": self.rows,
            "skipped": self.skipped,
            "workers_replaced": self.workers_replaced,
            **self.worker_costs(),
        }

    def cpu_ms_per_record(self, actor_cpu_s: dict[str, float]) -> dict[str, float]:
        """CPU milliseconds per record by stage, from the actors' thread CPU times and the workers' costs.

        ``read``: the reader (paging, done-key lookups) and the workers' source
        reads; ``transfer``: the mapper actors (batches to their workers, results
        on) and the workers' own share of it (receiving, sending, the rest of
        their loop); ``map``: the workers' parsing and mapping; ``insert``: the
        InsertActor (SQL, commits). Records are those settled (ok + failed).
        """
        worker_other = max(self.worker_cpu_s - self.read_cpu_s - self.map_cpu_s, 0.0)
        stages = {"read": self.read_cpu_s, "transfer": worker_other, "map": self.map_cpu_s, "insert": 0.0}
        for actor, seconds in actor_cpu_s.items():
            if actor == "reader":
                stages["read"] += seconds
            elif actor.startswith("mapper-"):
                stages["transfer"] += seconds
            elif actor == "insert":
                stages["insert"] += seconds
        records = max(self.records_ok + self.records_failed - self.resumed, 1)  # those this attempt handled
        return {stage: round(seconds * 1000.0 / records, 3) for stage, seconds in stages.items()}

    def summary(self, outcome: str, now: float | None = None,
                actor_cpu_s: dict[str, float] | None = None) -> RunSummary:
        """The final figures of the run (``now`` defaults to the clock)."""
        now = time.monotonic() if now is None else now
        return RunSummary(
            run_id=self.run_id, outcome=outcome,
            started_at=iso_utc(self.started_at), finished_at=iso_utc(self.timestamp(now)),
            seconds=round(self.seconds(now), 3),
            records_ok=self.records_ok, records_failed=self.records_failed,
            records_per_minute=round(self.records_per_minute(now), 1),
            failures_by_stage=dict(sorted(self.failures_by_stage.items())),
            rows=self.rows, flushes=self.flushes,
            flush_p50_ms=_ms(self.flush_latency(50)), flush_p95_ms=_ms(self.flush_latency(95)),
            mapper_utilisation=round(self.mapper_utilisation(now), 3), mappers=self.mappers,
            sent=self.reader.sent, in_flight=self.reader.in_flight, skipped=self.skipped, resumed=self.resumed,
            source_exhausted=self.reader.exhausted, workers_replaced=self.workers_replaced,
            **self.worker_costs(),
            cpu_ms_per_record=self.cpu_ms_per_record(actor_cpu_s or {}),
            quality=dict(sorted(self.quality.items())), quality_by_kind=totals_by_kind(self.quality),
            rejects=self.rejects, skipped_rejects=self.reader.skipped_rejects,
            **self.bottleneck(now, actor_cpu_s or {}),
        )

    def bottleneck(self, now: float, actor_cpu_s: dict[str, float]) -> dict[str, Any]:
        """``time_by_stage``, ``busy`` and the ``verdict`` (reporting.bottleneck) of the run so far."""
        worker_other = max(self.worker_cpu_s - self.read_cpu_s - self.map_cpu_s, 0.0)
        read = self.read_cpu_s + actor_cpu_s.get("reader", 0.0)
        transfer = worker_other + sum(cpu for actor, cpu in actor_cpu_s.items() if actor.startswith("mapper-"))
        # Busy shares over the run's active window, from its first batch sent to its last commit:
        # start-up (checks, lease, workers) and stopping are nobody's stage.
        active = self.seconds(now)
        if self.first_sent_at is not None and self.last_flush_at is not None \
                and self.last_flush_at > self.first_sent_at:
            active = self.last_flush_at - self.first_sent_at
        figures = stage_times(
            seconds=active, mappers=self.mappers,
            records=max(self.records_ok + self.records_failed - self.resumed, 0),
            mapper_busy_s=sum(self.busy_seconds_by_mapper.values()), flush_s=self.flush_seconds,
            read_cpu_s=read, transfer_cpu_s=transfer, map_cpu_s=self.map_cpu_s,
            insert_cpu_s=actor_cpu_s.get("insert", 0.0))
        mapped = self.records_ok + self.records_failed - self.resumed
        return {**figures, "verdict": verdict(figures["busy"], self.mappers, mapped)}


def format_duration(seconds: float) -> str:
    """``seconds`` as ``1h02m03s`` / ``2m03s`` / ``3s`` (for reports and bars)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def summary_line(summary: RunSummary) -> str:
    """The final INFO line for a run's summary (``DRY RUN`` first when it was one).

    A run shorter than a second gets no rate: "in <1s" says why.
    """
    by_stage = ", ".join(f"{stage}={n:,}" for stage, n in summary.failures_by_stage.items())
    seconds = float(summary.seconds)
    timing = (f"in {format_duration(seconds)} ({summary.records_per_minute:,.0f} rec/min)"
              if seconds >= 1 else "in <1s")
    prefix = "DRY RUN (nothing written) " if summary.dry_run else ""
    return (
        f"{prefix}summary run={summary.run_id} outcome={summary.outcome} "
        f"ok={summary.records_ok:,} failed={summary.records_failed:,}{_resumed_clause(summary)} "
        f"skipped={summary.skipped:,} rows={summary.rows:,} {timing} "
        f"| failures by stage: {by_stage or 'none'} "
        f"| flushes {summary.flushes:,} | workers replaced {summary.workers_replaced}"
        + _quality_clause(summary) + _costs_clause(summary)
        + verdict_clause(summary)
    )


def _quality_clause(summary: RunSummary) -> str:
    """`` | changed values: truncated=3, bad_date=1`` (`` | changed values: none``); totals per kind."""
    return " | changed values: " + (
        ", ".join(f"{kind}={n:,}" for kind, n in summary.quality_by_kind.items()) or "none")


def _resumed_clause(summary: RunSummary) -> str:
    """`` (120 of them settled by an earlier attempt of this run)`` when a retried shard found some."""
    resumed = summary.resumed
    return f" ({resumed:,} of them settled by an earlier attempt of this run)" if resumed else ""


def _costs_clause(summary: RunSummary) -> str:
    """`` | per record: read 8.2 KB, CPU read 0.05 ms + map 0.61 ms`` ("" before any record was mapped)."""
    if summary.bytes_read_per_record is None:
        return ""
    return (f" | per record: read {summary.bytes_read_per_record / 1024:,.1f} KB, "
            f"CPU read {summary.read_cpu_ms_per_record:.2f} ms + map {summary.map_cpu_ms_per_record:.2f} ms")
