"""ReporterActor: progress lines, metrics.jsonl, the final summary, the progress bar.

A thin shell over ``reporting.stats.RunStats``: it matches on the message
class, hands the value to RunStats and writes what RunStats computes. It
never sees documents, only counts, so nothing it logs can hold record data.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pykka
from loguru import logger

from xmlshred.actors.lifecycle import PipelineActor
from xmlshred.messages import (
    FlushReport,
    MapperLoad,
    ReaderProgress,
    ReportTick,
    Summarize,
    TableCoverage,
    UnknownMessage,
    WorkerReplaced,
)
from xmlshred.reporting.coverage import CoverageTally, coverage_lines
from xmlshred.reporting.metrics import MetricsWriter
from xmlshred.reporting.progress import ProgressBar
from xmlshred.reporting.stats import RunStats, summary_line
from xmlshred.reporting.summary import RunSummary

PROGRESS_MODES = ("auto", "always", "never")

log = logger.bind(actor="reporter")


class ReporterActor(PipelineActor):
    """Watches a run's counters and reports them.

    - every ``report_every_s`` seconds (a ticker thread tells it
      ``ReportTick``): one INFO progress line and one ``progress`` object
      appended to ``metrics_path``;
    - on ``Summarize`` (asked once by the supervisor at the end): the
      summary at INFO, a ``summary`` object in ``metrics_path``, and the
      ``RunSummary`` as the reply; no progress ticks after it;
    - ``started_at`` dates the summary; rates are timed from the actor's
      construction (the supervisor starts the reporter first);
    - ``metrics_path`` None: log lines only, no metrics file;
    - ``tags`` (the masked ``target``, ``dry_run``: fields of ``RunSummary``) go into every metrics object;
    - ``progress_mode``: ``auto`` draws a bar on stderr when it is a
      terminal, ``always`` draws it anyway, ``never`` does not.

    Raises ``ValueError`` at construction for a bad ``progress_mode`` or a
    non-positive ``report_every_s``; ``OSError`` from ``on_start`` when the
    metrics file cannot be created (the supervisor's Ping raises it). A metrics
    write that fails later (disk full) is logged and metrics stop; the run
    goes on, since its data does not depend on them. An unknown message
    raises ``messages.UnknownMessage``.
    """

    def __init__(
        self,
        run_id: str,
        metrics_path: str | Path | None,
        report_every_s: float,
        mappers: int,
        total_records: int | None = None,
        progress_mode: str = "auto",
        started_at: datetime | None = None,
        tags: dict[str, Any] | None = None,
        signals=None,
    ) -> None:
        super().__init__("reporter", signals)
        if progress_mode not in PROGRESS_MODES:
            raise ValueError(f"progress_mode must be one of {PROGRESS_MODES}, got {progress_mode!r}")
        if report_every_s <= 0:
            raise ValueError(f"report_every_s must be positive, got {report_every_s}")
        self.run_id = run_id
        self.metrics_path = Path(metrics_path) if metrics_path else None
        self.report_every_s = report_every_s
        self.total_records = total_records
        self.progress_mode = progress_mode
        self.tags = dict(tags or {})
        """Added to every metrics object: the masked ``target``, ``dry_run``."""
        self._prefix = "DRY RUN " if self.tags.get("dry_run") else ""
        # Rates are timed from here, not from started_at: the reporter starts
        # first, and started_at may be a pinned clock ([run] now) in tests.
        self.stats = RunStats(
            run_id,
            mappers,
            started_at=started_at or datetime.now(UTC),
            start=time.monotonic(),
            recent_window_s=report_every_s,
        )
        self._writer: MetricsWriter | None = None
        self._bar: ProgressBar | None = None
        self._summary: RunSummary | None = None
        self._stop_ticking = threading.Event()
        self._ticker: threading.Thread | None = None
        self._coverage = CoverageTally()

    # lifecycle -------------------------------------------------------------

    def open(self) -> None:
        if self.metrics_path is not None:
            self._writer = MetricsWriter(self.metrics_path)
        if self.progress_mode == "always" or (self.progress_mode == "auto" and _stderr_is_terminal()):
            self._bar = ProgressBar(self.total_records)
        self._ticker = threading.Thread(
            target=_tick,
            args=(self.actor_ref, self._stop_ticking, self.report_every_s),
            name=f"reporter-ticker-{self.run_id}",
            daemon=True,
        )
        self._ticker.start()
        log.info(
            "reporter started run={} every={}s metrics={}", self.run_id, self.report_every_s, self.metrics_path
        )

    def on_stop(self) -> None:
        super().on_stop()
        log.debug("reporter stopped run={}", self.run_id)

    def answer_ping(self) -> None:
        return None

    def close(self) -> None:
        self._stop_ticking.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join(timeout=self.report_every_s + 1.0)
        if self._bar is not None:
            self._bar.finish()
        if self._writer is not None:
            self._writer.close()

    # messages --------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        now = time.monotonic()
        match message:
            case FlushReport():
                self.stats.add_flush(message, now)
                self._draw_bar(now)
            case ReaderProgress():
                self.stats.add_reader_progress(message, now)
                self._draw_bar(now)
            case MapperLoad():
                self.stats.add_mapper_load(message)
            case WorkerReplaced():
                self.stats.add_worker_replaced(message)
            case TableCoverage():
                self._coverage.add(message)
            case ReportTick():
                self._report_interval(now)
            case Summarize():
                return self._summarize(message.outcome, now, dict(message.actor_cpu_s))
            case _:
                raise UnknownMessage(f"ReporterActor has no handler for {type(message).__name__}")
        return None

    def _report_interval(self, now: float) -> None:
        if self._summary is not None:
            return  # a tick already queued when the summary was written
        log.info(self._prefix + self.stats.progress_line(now))
        self._append({**self.stats.interval_metrics(now), **self.tags})
        # The log line wiped the bar from the terminal; put it back at once.
        self._draw_bar(now, force=True)

    def _summarize(self, outcome: str, now: float, actor_cpu_s: dict[str, float]) -> RunSummary:
        if self._summary is not None:
            # A second ask (e.g. from an error path) must not count the run twice.
            return self._summary
        self._stop_ticking.set()
        self._draw_bar(now, force=True)
        if self._bar is not None:
            self._bar.finish()
        coverage = self._coverage.summary()
        self._summary = dataclasses.replace(self.stats.summary(outcome, now, actor_cpu_s), **self.tags,
                                            coverage=coverage)
        log.info(summary_line(self._summary))
        for line in coverage_lines(coverage):
            log.warning("{}coverage: {}", self._prefix, line)
        self._append(self._summary.as_dict())
        return self._summary

    def _draw_bar(self, now: float, force: bool = False) -> None:
        if self._bar is None:
            return
        stats = self.stats
        self._bar.update(
            now,
            force=force,
            done=stats.done,
            ok=stats.records_ok,
            failed=stats.records_failed,
            records_per_minute=stats.records_per_minute(now),
            in_flight=stats.reader.in_flight,
            seconds=stats.seconds(now),
        )

    def _append(self, obj: dict[str, Any]) -> None:
        if self._writer is None or self._writer.closed:
            return
        try:
            self._writer.write(obj)
        except OSError:
            log.exception("cannot write metrics to {}: metrics stop here, the run goes on", self.metrics_path)
            self._writer.close()


def _tick(actor_ref: pykka.ActorRef, stop: threading.Event, interval_s: float) -> None:
    # Event.wait rather than sleep: on_stop ends the wait at once.
    while not stop.wait(interval_s):
        try:
            actor_ref.tell(ReportTick())
        except pykka.ActorDeadError:
            return


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
