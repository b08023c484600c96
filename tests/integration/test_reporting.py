"""Reporting: run figures, metrics.jsonl, the reporter actor, report text, chart, log setup."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime

import pytest
from loguru import logger

from xmlshred.actors.reporter import ReporterActor
from xmlshred.messages import (
    FlushReport,
    MapperLoad,
    Ping,
    ReaderProgress,
    ReportTick,
    Summarize,
    UnknownMessage,
    WorkerReplaced,
)
from xmlshred.reporting import (
    MetricsWriter,
    ProgressBar,
    ReportError,
    RunStats,
    build_report,
    configure_logging,
    failures_from_rows,
    install_thread_dump_on_sigusr1,
    log_thread_stacks,
    plot_rate,
    read_metrics,
    render_progress,
    select_run,
)
from xmlshred.reporting.stats import percentile, summary_line

T0 = 1_000.0
STARTED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def flush(ok: int, failed: int = 0, rows: int = 0, seconds: float = 0.1, failures=(), skipped: int = 0):
    return FlushReport(
        records_ok=ok, records_failed=failed, rows=rows, seconds=seconds,
        failures=tuple(failures), skipped=skipped,
    )


@pytest.fixture
def loguru_messages():
    """Records reaching loguru while the test runs: (level name, message, extra)."""
    seen: list[tuple[str, str, dict]] = []
    sink_id = logger.add(lambda m: seen.append((m.record["level"].name, m.record["message"], dict(m.record["extra"]))),
                         level="DEBUG")
    yield seen
    logger.remove(sink_id)


@pytest.fixture
def restore_logging():
    """configure_logging replaces loguru sinks and the root logger's handler: put both back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    logger.remove()
    logger.add(sys.stderr)
    root.handlers[:] = handlers
    root.setLevel(level)


# RunStats ----------------------------------------------------------------------


def test_counts_and_rates_count_only_successes():
    stats = RunStats("r1", mappers=2, started_at=STARTED, start=T0, recent_window_s=10)
    stats.add_flush(
        flush(90, 10, rows=300, failures=[("parse", "not well-formed")] * 6 + [("insert", "constraint")] * 4),
        now=T0 + 30,
    )
    stats.add_flush(flush(30, rows=100), now=T0 + 58)

    now = T0 + 60
    assert (stats.records_ok, stats.records_failed, stats.rows, stats.flushes) == (120, 10, 400, 2)
    assert stats.records_per_minute(now) == pytest.approx(120.0)  # 120 ok in 60 s; the 10 failed do not count
    assert stats.recent_records_per_minute(now) == pytest.approx(180.0)  # 30 ok in the last 10 s
    assert dict(stats.failures_by_stage) == {"parse": 6, "insert": 4}

    metrics = stats.interval_metrics(now)
    assert metrics["event"] == "progress"
    assert metrics["run_id"] == "r1"
    assert metrics["ts"] == "2026-03-01T12:01:00.000+00:00"
    assert metrics["seconds"] == 60
    assert (metrics["records_ok"], metrics["records_failed"], metrics["rows"], metrics["flushes"]) == (120, 10, 400, 2)
    assert metrics["records_per_minute"] == 120.0
    assert metrics["recent_records_per_minute"] == 180.0
    json.dumps(metrics)  # must be one JSON object per line


def test_records_an_earlier_attempt_committed_count_as_ok_but_not_in_the_rate():
    """A retried shard's reader finds 600 records its killed attempt committed: they are the
    run's ok records, but this attempt wrote only the 120 of its own flushes in its 60 s."""
    stats = RunStats("r1", mappers=1, started_at=STARTED, start=T0)
    stats.add_reader_progress(ReaderProgress(sent=0, in_flight=0, skipped_done=0, exhausted=False,
                                             resumed_ok=600, resumed_failed=(("parse", 5),)))
    stats.add_flush(flush(120), now=T0 + 30)
    assert (stats.records_ok, stats.records_failed, stats.resumed) == (720, 5, 605)
    assert stats.records_per_minute(T0 + 60) == pytest.approx(120.0)
    assert stats.summary("finished", now=T0 + 60).records_per_minute == 120.0


def test_failures_without_a_reason_still_count():
    stats = RunStats("r1", mappers=1, started_at=STARTED, start=T0)
    stats.add_flush(flush(0, 3, failures=[("map", "missing required")]), now=T0 + 1)
    assert dict(stats.failures_by_stage) == {"map": 1, "unknown": 2}


def test_recent_rate_early_in_the_run_uses_the_elapsed_time():
    stats = RunStats("r1", mappers=1, started_at=STARTED, start=T0, recent_window_s=60)
    stats.add_flush(flush(50), now=T0 + 5)
    # 50 records in the first 10 s is 300/min, not 50/min spread over a window not yet lived.
    assert stats.recent_records_per_minute(T0 + 10) == pytest.approx(300.0)
    assert stats.recent_records_per_minute(T0 + 200) == 0.0


def test_flush_latency_percentiles():
    stats = RunStats("r1", mappers=1, started_at=STARTED, start=T0, recent_window_s=100)
    for i in range(1, 21):  # 10 ms .. 200 ms
        stats.add_flush(flush(1, seconds=i / 100), now=T0 + i)
    metrics = stats.interval_metrics(T0 + 21)
    assert metrics["flush_p50_ms"] == 100.0
    assert metrics["flush_p95_ms"] == 190.0
    summary = stats.summary("finished", now=T0 + 21)
    assert (summary.flush_p50_ms, summary.flush_p95_ms) == (100.0, 190.0)
    # Only the flushes inside the recent window count for the interval figure.
    assert stats.interval_metrics(T0 + 115)["flush_p50_ms"] == 180.0
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0


def test_worker_costs_are_summed_per_mapped_record():
    stats = RunStats("r1", mappers=2, started_at=STARTED, start=T0)
    assert stats.summary("finished", T0 + 1).bytes_read_per_record is None  # no record yet
    stats.add_mapper_load(MapperLoad(0, records=10, busy_seconds=1.0, read_cpu_s=0.02, map_cpu_s=0.5,
                                     bytes_read=100_000, whole_reads=2))
    stats.add_mapper_load(MapperLoad(1, records=30, busy_seconds=2.0, read_cpu_s=0.06, map_cpu_s=1.5,
                                     bytes_read=300_000, whole_reads=1))
    stats.add_mapper_load(MapperLoad(1, records=10, busy_seconds=1.0))  # the fields before prefix reads
    summary = stats.summary("finished", T0 + 60)
    assert summary.bytes_read == 400_000 and summary.whole_reads == 3
    assert summary.bytes_read_per_record == 8000
    assert summary.read_cpu_ms_per_record == pytest.approx(1.6)
    assert summary.map_cpu_ms_per_record == pytest.approx(40.0)
    assert stats.interval_metrics(T0 + 60)["map_cpu_ms_per_record"] == pytest.approx(40.0)
    assert "per record: read 7.8 KB, CPU read 1.60 ms + map 40.00 ms" in summary_line(summary)


def test_mapper_utilisation_is_busy_over_wall_times_mappers():
    stats = RunStats("r1", mappers=2, started_at=STARTED, start=T0)
    stats.add_mapper_load(MapperLoad(mapper_index=0, records=10, busy_seconds=30.0))
    stats.add_mapper_load(MapperLoad(mapper_index=1, records=10, busy_seconds=10.0))
    stats.add_mapper_load(MapperLoad(mapper_index=1, records=10, busy_seconds=5.0))
    assert stats.mapper_utilisation(T0 + 60) == pytest.approx(45.0 / 120.0)
    assert stats.interval_metrics(T0 + 60)["mapper_utilisation"] == 0.375


def test_reader_progress_and_skips_and_replaced_workers():
    stats = RunStats("r1", mappers=1, started_at=STARTED, start=T0)
    stats.add_reader_progress(ReaderProgress(sent=100, in_flight=40, skipped_done=7, exhausted=False))
    stats.add_reader_progress(ReaderProgress(sent=150, in_flight=25, skipped_done=9, exhausted=True))
    stats.add_flush(flush(5, skipped=2), now=T0 + 1)
    stats.add_worker_replaced(WorkerReplaced(mapper_index=0, exitcode=-9))
    metrics = stats.interval_metrics(T0 + 2)
    assert (metrics["sent"], metrics["in_flight"], metrics["skipped"], metrics["workers_replaced"]) == (150, 25, 11, 1)
    assert stats.done == 5 + 11


def test_progress_line_and_summary():
    stats = RunStats("run-7", mappers=4, started_at=STARTED, start=T0, recent_window_s=10)
    stats.add_reader_progress(ReaderProgress(sent=2000, in_flight=256, skipped_done=3, exhausted=False))
    stats.add_flush(flush(1500, 4, rows=9000, seconds=0.25, failures=[("parse", "p")] * 4), now=T0 + 55)
    line = stats.progress_line(T0 + 60)
    for part in ("ok=1,500", "failed=4", "skipped=3", "1,500/min", "recent 9,000", "in flight 256",
                 "flush p95 250 ms", "mappers 0%"):
        assert part in line, (part, line)

    summary = stats.summary("finished", now=T0 + 120)
    assert summary.as_dict()["event"] == "summary"
    assert summary.outcome == "finished"
    assert summary.run_id == "run-7"
    assert summary.started_at == "2026-03-01T12:00:00.000+00:00"
    assert summary.seconds == 120
    assert (summary.records_ok, summary.records_failed, summary.rows, summary.flushes) == (1500, 4, 9000, 1)
    assert summary.records_per_minute == 750.0
    assert summary.failures_by_stage == {"parse": 4}


# metrics.jsonl -----------------------------------------------------------------


def test_metrics_writer_appends_and_survives_a_reopen(tmp_path):
    path = tmp_path / "deep" / "dir" / "metrics.jsonl"
    writer = MetricsWriter(path)
    writer.write({"event": "progress", "run_id": "a", "n": 1})
    # Flushed at once: a reader sees the line while the writer is still open.
    assert read_metrics(path) == [{"event": "progress", "run_id": "a", "n": 1}]
    writer.write({"event": "summary", "run_id": "a", "n": 2})
    writer.close()

    with MetricsWriter(path) as again:
        again.write({"event": "progress", "run_id": "b", "n": 3})
    assert [record["n"] for record in read_metrics(path)] == [1, 2, 3]


def test_a_torn_last_line_does_not_spoil_the_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with MetricsWriter(path) as writer:
        writer.write({"run_id": "a", "n": 1})
    with open(path, "a", encoding="utf-8") as file:
        file.write('{"run_id": "a", "n": 2, "rec')  # a crash in mid-write
    assert [record["n"] for record in read_metrics(path)] == [1]
    with MetricsWriter(path) as writer:
        writer.write({"run_id": "b", "n": 3})
    assert [record["n"] for record in read_metrics(path)] == [1, 3]


def test_read_metrics_errors_name_the_file(tmp_path):
    with pytest.raises(ReportError, match="not found"):
        read_metrics(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\nhello\n', encoding="utf-8")
    with pytest.raises(ReportError, match="line 2"):
        read_metrics(bad)


# ReporterActor -----------------------------------------------------------------


def test_reporter_ticks_and_summarises(tmp_path):
    path = tmp_path / "out" / "metrics.jsonl"
    ticks = threading.Event()
    progress_lines: list[str] = []

    def sink(message):
        record = message.record
        if record["extra"].get("actor") == "reporter" and record["message"].startswith("progress "):
            progress_lines.append(record["message"])
            # Two lines, the last one after every message told below was handled.
            if len(progress_lines) >= 2 and "ok=37 failed=3" in record["message"]:
                ticks.set()

    sink_id = logger.add(sink, level="INFO")
    try:
        reporter = ReporterActor.start(
            run_id="run-a", metrics_path=path, report_every_s=0.02, mappers=2,
            total_records=100, progress_mode="never", started_at=datetime.now(UTC),
        )
        reporter.tell(ReaderProgress(sent=60, in_flight=20, skipped_done=1, exhausted=False))
        reporter.tell(MapperLoad(mapper_index=0, records=60, busy_seconds=0.001))
        reporter.tell(FlushReport(records_ok=37, records_failed=3, rows=120, seconds=0.01,
                                  failures=(("parse", "not well-formed"), ("parse", "too large"),
                                            ("insert", "constraint"))))
        reporter.tell(WorkerReplaced(mapper_index=1, exitcode=-9))
        assert ticks.wait(timeout=10), f"no progress line with the flush's counts within 10 s: {progress_lines}"

        summary = reporter.ask(Summarize(outcome="finished"), timeout=10)
        again = reporter.ask(Summarize(outcome="error"), timeout=10)
    finally:
        logger.remove(sink_id)

    assert (summary.run_id, summary.outcome) == ("run-a", "finished")
    assert (summary.records_ok, summary.records_failed, summary.rows) == (37, 3, 120)
    assert summary.failures_by_stage == {"insert": 1, "parse": 2}
    assert summary.workers_replaced == 1
    assert summary.skipped == 1
    assert again == summary  # asked twice, counted once

    records = read_metrics(path)
    progress = [record for record in records if record["event"] == "progress"]
    summaries = [record for record in records if record["event"] == "summary"]
    assert len(progress) >= 2
    assert all(record["run_id"] == "run-a" for record in progress)
    assert progress[-1]["records_ok"] == 37
    assert summaries == [summary.as_dict()]
    assert "ok=37 failed=3" in progress_lines[-1]


def test_reporter_stops_its_ticker(tmp_path):
    reporter = ReporterActor.start(
        run_id="run-stop", metrics_path=tmp_path / "m.jsonl", report_every_s=30, mappers=1,
        progress_mode="never",
    )
    reporter.ask(ReportTick(), timeout=10)  # started and answering
    assert any(thread.name == "reporter-ticker-run-stop" for thread in threading.enumerate())
    reporter.stop(timeout=10)  # on_stop must end the 30 s wait at once
    assert not any(thread.name == "reporter-ticker-run-stop" for thread in threading.enumerate())
    assert [record["event"] for record in read_metrics(tmp_path / "m.jsonl")] == ["progress"]


def test_reporter_answers_ping_and_can_run_without_a_metrics_file(tmp_path):
    reporter = ReporterActor.start(
        run_id="r", metrics_path=None, report_every_s=30, mappers=1, progress_mode="never",
        started_at=datetime(2020, 1, 1),  # a pinned run clock: dates the summary, not the rates
    )
    assert reporter.ask(Ping(), timeout=10) is None
    reporter.tell(FlushReport(records_ok=5, records_failed=0, rows=5, seconds=0.01, failures=()))
    summary = reporter.ask(Summarize(outcome="finished"), timeout=10)
    assert summary.records_ok == 5 and summary.started_at.startswith("2020-01-01T00:00:00")
    assert summary.seconds < 60
    assert list(tmp_path.iterdir()) == []


def test_reporter_rejects_unknown_messages(tmp_path):
    reporter = ReporterActor.start(
        run_id="r", metrics_path=tmp_path / "m.jsonl", report_every_s=30, mappers=1, progress_mode="never",
    )
    with pytest.raises(UnknownMessage, match="dict"):
        reporter.ask({"type": "flush"}, timeout=10)


def test_reporter_rejects_a_bad_progress_mode(tmp_path):
    with pytest.raises(ValueError, match="progress_mode"):
        ReporterActor(run_id="r", metrics_path=tmp_path / "m.jsonl", report_every_s=1, mappers=1,
                      progress_mode="sometimes")


def test_reporter_draws_a_progress_bar_when_asked(tmp_path, capsys):
    reporter = ReporterActor.start(
        run_id="r", metrics_path=tmp_path / "m.jsonl", report_every_s=30, mappers=1,
        total_records=200, progress_mode="always",
    )
    reporter.tell(ReaderProgress(sent=100, in_flight=10, skipped_done=0, exhausted=False))
    reporter.tell(FlushReport(records_ok=50, records_failed=0, rows=50, seconds=0.01, failures=()))
    reporter.ask(Summarize(outcome="finished"), timeout=10)
    err = capsys.readouterr().err
    assert "50/200" in err and "25.0%" in err
    assert err.endswith("\n")  # the summary leaves the bar on a line of its own


def test_progress_bar_text_and_throttle():
    text = render_progress(done=50, ok=40, failed=5, total=200, records_per_minute=1200,
                           in_flight=8, seconds=60)
    assert text.startswith("[#####---------------]  25.0% 50/200 | ETA 3m20s | 1,200/min")
    assert text.endswith("ok 40 failed 5 | in flight 8")
    unknown_total = render_progress(done=7, ok=7, failed=0, total=None, records_per_minute=0, in_flight=0, seconds=3)
    assert unknown_total.startswith("7 done")

    import io

    stream = io.StringIO()
    bar = ProgressBar(total=10, stream=stream, min_interval_s=1.0)
    figures = dict(done=1, ok=1, failed=0, records_per_minute=1.0, in_flight=0, seconds=1.0)
    assert bar.update(0.0, **figures)
    assert not bar.update(0.5, **figures)  # too soon
    assert bar.update(0.5, force=True, **figures)
    bar.finish()
    assert stream.getvalue().count("\r") == 2 and stream.getvalue().endswith("\n")


# report ------------------------------------------------------------------------


def _two_runs_metrics() -> list[dict]:
    records = []
    first = RunStats("run-1", mappers=2, started_at=STARTED, start=T0, recent_window_s=10)
    first.add_flush(flush(100, rows=400), now=T0 + 5)
    records.append(first.interval_metrics(T0 + 10))
    first.add_flush(flush(200, 2, rows=800, failures=[("parse", "x")] * 2), now=T0 + 15)
    records.append(first.interval_metrics(T0 + 20))
    records.append(first.summary("finished", now=T0 + 30).as_dict())

    second = RunStats("run-2", mappers=2, started_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                      start=T0, recent_window_s=10)
    for i in range(1, 4):
        second.add_flush(flush(60 * i, 1, failures=[("map", "bad date")]), now=T0 + 10 * i - 1)
        records.append(second.interval_metrics(T0 + 10 * i))
    records.append(second.summary("interrupted", now=T0 + 31).as_dict())
    # A run that was killed: intervals, no summary.
    killed = RunStats("run-0", mappers=1, started_at=datetime(2026, 2, 1, tzinfo=UTC), start=T0)
    killed.add_flush(flush(10), now=T0 + 1)
    records.insert(0, killed.interval_metrics(T0 + 2))
    return records


def test_failures_from_rows_groups_a_runs_failures():
    rows = [
        (1, "success", None, None, 1, "run-2", "t"),
        (2, "failed", "parse", "not well-formed", 1, "run-2", "t"),
        (3, "failed", "parse", "not well-formed", 2, "run-2", "t"),
        (4, "failed", "map", "bad date: app_base.birth_date", 1, "run-2", "t"),
        (5, "failed", "parse", "not well-formed", 1, "run-1", "t"),
        {"app_id": 6, "status": "failed", "stage": "insert", "reason": "constraint", "attempts": 1,
         "run_id": "run-2", "updated_at": "t"},
    ]
    assert failures_from_rows(rows, run_id="run-2") == [
        ("parse", "not well-formed", 2),
        ("insert", "constraint", 1),
        ("map", "bad date: app_base.birth_date", 1),
    ]
    assert sum(count for _, _, count in failures_from_rows(rows)) == 5
    with pytest.raises(ReportError):
        failures_from_rows(["failed"])


def test_build_report_tables_runs_rates_and_failures():
    metrics = _two_runs_metrics()
    failures = [("parse", "not well-formed", 7), ("map", "bad date: app_base.birth_date", 2), ("parse", "too large", 1)]
    text = build_report(metrics, failures, run_id=None)

    runs_part, rate_part, time_part, failures_part = text.strip().split("\n\n")
    assert runs_part.startswith("Runs (3)")
    assert time_part.startswith("Where the time went")
    header = runs_part.splitlines()[1]
    for column in ("run", "started (UTC)", "duration", "ok", "failed", "records/min", "outcome"):
        assert column in header
    lines = runs_part.splitlines()[3:]
    assert [line.split()[0] for line in lines] == ["run-0", "run-1", "run-2"]  # oldest first
    assert "2026-03-01 12:00:00" in lines[1] and "300" in lines[1] and "600" in lines[1] and "finished" in lines[1]
    assert "no summary" in lines[0]
    assert "interrupted" in lines[2]

    assert rate_part.startswith("Rate over time, run run-2")  # the latest run by default
    assert len(rate_part.splitlines()) == 3 + 3  # title, header, rule, one row per interval

    assert failures_part.splitlines()[0] == "Failures by stage and reason, run run-2 (processing_log): 10"
    assert failures_part.splitlines()[1:] == [
        "  parse: 8",
        "           7  not well-formed",
        "           1  too large",
        "  map: 2",
        "           2  bad date: app_base.birth_date",
    ]


def test_build_report_for_one_run_without_a_target():
    text = build_report(_two_runs_metrics(), None, run_id="run-1")
    assert "Rate over time, run run-1" in text
    assert ("Failures by stage, run run-1 (metrics; the target has no processing_log to give reasons): 2\n"
            "  parse: 2") in text
    assert select_run(_two_runs_metrics(), None) == "run-2"
    with pytest.raises(ReportError, match="run-9"):
        build_report(_two_runs_metrics(), None, run_id="run-9")
    with pytest.raises(ReportError, match="no runs"):
        build_report([], None, run_id=None)


def test_plot_rate_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="the chart needs the optional plot extra (matplotlib)")
    import matplotlib.image

    path = plot_rate(_two_runs_metrics(), "run-2", tmp_path / "charts" / "rate.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100

    with pytest.raises(ReportError, match="nothing to plot"):
        plot_rate([{"event": "summary", "run_id": "s", "seconds": 1}], None, tmp_path / "x.png")


def test_plot_rate_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ReportError, match=r"pip install matplotlib \(or pip install -e '\.\[plot\]'\)"):
        plot_rate(_two_runs_metrics(), None, tmp_path / "rate.png")


def _report_settings(tmp_path, metrics_path, db_path):
    from xmlshred.settings import load_settings

    return load_settings(None, {"log.metrics": str(metrics_path), "target.url": f"sqlite:///{db_path}"}, {},
                         cwd=tmp_path)


def test_report_command_reads_metrics_and_processing_log(tmp_path, capsys):
    import sqlite3

    metrics_path = tmp_path / "metrics.jsonl"
    db_path = tmp_path / "target.db"
    with MetricsWriter(metrics_path) as writer:
        for record in _two_runs_metrics():
            writer.write({**record, "target": f"sqlite:{db_path}"})  # as the reporter tags them
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE processing_log (app_id INTEGER PRIMARY KEY, status TEXT, stage TEXT, "
                   "reason TEXT, attempts INTEGER, run_id TEXT, updated_at TEXT)")
        db.executemany("INSERT INTO processing_log VALUES (?, ?, ?, ?, 1, ?, '2026-03-02 09:00:00')", [
            (1, "success", None, None, "run-2"),
            (2, "failed", "map", "bad date: app_base.birth_date", "run-2"),
            (3, "failed", "map", "bad date: app_base.birth_date", "run-2"),
            (4, "failed", "parse", "not well-formed", "run-1"),
        ])
        db.execute("CREATE TABLE xmlshred_runs (run_id TEXT PRIMARY KEY, host TEXT, pid INTEGER, started TEXT, "
                   "heartbeat TEXT, finished TEXT, outcome TEXT)")
        db.executemany("INSERT INTO xmlshred_runs VALUES (?, ?, ?, ?, ?, ?, ?)", [
            ("run-2", "etl-1", 41, "2026-03-02 09:00:00", "2026-03-02 09:00:05", "2026-03-02 09:00:06", "finished"),
            ("run-9", "etl-2", 77, "2026-03-02 10:00:00", "2026-03-02 10:00:30", "2026-03-02 11:00:00", "abandoned"),
            ("run-10", "etl-2", 78, "2026-03-02 11:00:00", "2026-03-02 11:00:30", None, "running"),
        ])
    db.close()
    settings = _report_settings(tmp_path, metrics_path, db_path)
    from xmlshred.reporting.report import run_report_command

    plot = tmp_path / "rate.png" if _has_matplotlib() else None
    assert run_report_command(settings, target=settings.target.url, plot=plot) == 0
    out = capsys.readouterr().out
    assert "Failures by stage and reason, run run-2 (processing_log): 2\n  map: 2\n" in out
    run_part, target_part = out.split("whole target")
    assert "not well-formed" not in run_part  # run-1's failure: only in the whole target's part
    assert "1  parse: not well-formed" in target_part and "2  map: bad date" in target_part
    # The target's own record of its runs, latest first; those the metrics file lacks marked *.
    runs_part = run_part.split("Runs recorded by the target (xmlshred_runs): 3\n")[1].splitlines()
    assert [line.split()[0:2] for line in runs_part[2:5]] == [["run-10", "*"], ["run-9", "*"], ["run-2", "etl-1"]]
    assert runs_part[2].split()[-4:] == ["2026-03-02", "11:00:00", "-", "running"]
    assert "abandoned" in runs_part[3] and runs_part[5].startswith(f"* not in {metrics_path}")
    if plot is not None:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert run_report_command(settings, run_id="nope") == 2
    assert "run 'nope' is not in the metrics" in capsys.readouterr().err
    # No metrics of this target here (another host ran it): what the target itself recorded.
    missing = _report_settings(tmp_path, tmp_path / "none.jsonl", db_path)
    assert run_report_command(missing) == 0
    out = capsys.readouterr().out
    assert "no metrics of this target: metrics file not found" in out and "*" not in out
    assert "Runs recorded by the target (xmlshred_runs): 3" in out
    assert "Failures by stage and reason, run run-10 (processing_log)\nnone" in out  # the latest started
    assert run_report_command(missing, run_id="run-2") == 0
    assert "run run-2 (processing_log): 2\n  map: 2\n" in capsys.readouterr().out
    assert run_report_command(missing, run_id="nope") == 2
    assert "run 'nope' is not recorded by the target" in capsys.readouterr().err
    if _has_matplotlib():
        assert run_report_command(missing, plot=tmp_path / "no.png") == 2
        assert "the chart is drawn from the metrics file" in capsys.readouterr().err
    # A SQLite target that does not exist, with no metrics: that the target does not exist (issue 29).
    bare = _report_settings(tmp_path, tmp_path / "none.jsonl", tmp_path / "never-written.db")
    assert run_report_command(bare) == 2
    assert "never-written.db does not exist" in capsys.readouterr().err
    assert not (tmp_path / "never-written.db").exists()
    # A target that is there but recorded no runs either: the metrics problem, as before.
    (tmp_path / "empty.db").touch()
    empty = _report_settings(tmp_path, tmp_path / "none.jsonl", tmp_path / "empty.db")
    assert run_report_command(empty) == 2
    assert "metrics file not found" in capsys.readouterr().err


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# logging -----------------------------------------------------------------------


def test_configure_logging_routes_stdlib_records_into_loguru(tmp_path, restore_logging, capsys):
    log_file = tmp_path / "logs" / "run.log"
    configure_logging("INFO", file=log_file, colorize=False)
    seen: list = []
    logger.add(lambda m: seen.append(m.record), level="DEBUG")

    logging.getLogger("pykka").warning("actor %s stopped", "InsertActor")
    logging.getLogger("pykka").debug("below the configured level")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("somelib").exception("it failed")

    assert [(r["level"].name, r["message"]) for r in seen] == [
        ("WARNING", "actor InsertActor stopped"),
        ("ERROR", "it failed"),
    ]
    assert seen[0]["function"] == "test_configure_logging_routes_stdlib_records_into_loguru"
    assert seen[1]["exception"].type is RuntimeError
    assert "actor InsertActor stopped" in log_file.read_text(encoding="utf-8")
    assert "actor InsertActor stopped" in capsys.readouterr().err

    # Reconfiguring does not route each stdlib record twice.
    configure_logging("INFO", file=log_file, colorize=False)
    logger.add(lambda m: seen.append(m.record), level="DEBUG")
    logging.getLogger("pykka").warning("once")
    assert [r["message"] for r in seen].count("once") == 1


def test_configure_logging_json_file(tmp_path, restore_logging):
    log_file = tmp_path / "run.jsonl"
    configure_logging("DEBUG", file=log_file, json=True, colorize=False)
    logger.bind(actor="reporter").info("progress run=x ok=1")
    objects = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert objects[-1]["record"]["message"] == "progress run=x ok=1"
    assert objects[-1]["record"]["extra"] == {"actor": "reporter"}


def test_thread_dump_names_every_thread(loguru_messages):
    parked = threading.Event()
    thread = threading.Thread(target=parked.wait, name="parked-thread", daemon=True)
    thread.start()
    try:
        log_thread_stacks()
    finally:
        parked.set()
        thread.join(timeout=10)
    dumps = [message for level, message, _ in loguru_messages if message.startswith("thread dump")]
    assert len(dumps) == 1
    assert "parked-thread" in dumps[0] and "MainThread" in dumps[0]
    assert "test_thread_dump_names_every_thread" in dumps[0]


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1 on this platform")
def test_sigusr1_dumps_threads():
    dumped = threading.Event()
    sink_id = logger.add(lambda m: dumped.set() if m.record["message"].startswith("thread dump") else None)
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        assert install_thread_dump_on_sigusr1() is True
        os.kill(os.getpid(), signal.SIGUSR1)
        # The handler runs in this (main) thread; a timed Event.wait lets it run.
        assert dumped.wait(timeout=10), "SIGUSR1 did not produce a thread dump"
    finally:
        signal.signal(signal.SIGUSR1, previous)
        logger.remove(sink_id)

    failure: list[BaseException] = []

    def install_from_a_thread():
        try:
            install_thread_dump_on_sigusr1()
        except RuntimeError as exc:
            failure.append(exc)

    worker = threading.Thread(target=install_from_a_thread)
    worker.start()
    worker.join(timeout=10)
    assert failure and "main thread" in str(failure[0])


def test_failures_group_parse_errors_without_their_positions():
    rows = [
        {"status": "failed", "stage": "parse", "reason": "not well-formed XML at line 5, column 168 (ERR_X)",
         "run_id": "r"},
        {"status": "failed", "stage": "parse", "reason": "not well-formed XML at line 12, column 20 (ERR_X)",
         "run_id": "r"},
        {"status": "success", "stage": None, "reason": None, "run_id": "r"},
    ]
    assert failures_from_rows(rows, "r") == [("parse", "not well-formed XML (ERR_X)", 2)]
