"""A run's summary is a typed ``RunSummary``; metrics.jsonl's ``summary`` object stays as it was.

``as_dict()`` must write the keys metrics.jsonl has always had (``report``, ``chart`` and external
readers depend on them), ``from_dict()`` must read them back, including a summary an older
xmlshred wrote without the newer keys.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from tests.helpers import EXAMPLE_CONTRACT, PINNED_NOW, make_source
from xmlshred import supervisor
from xmlshred.engine.shards import Shard
from xmlshred.messages import FlushReport, MapperLoad, ReaderProgress
from xmlshred.reporting.metrics import read_metrics
from xmlshred.reporting.report import build_report, group_runs
from xmlshred.reporting.stats import RunStats
from xmlshred.reporting.summary import RunSummary
from xmlshred.settings import load_settings

LOCAL_KEYS = [
    "event", "run_id", "outcome", "started_at", "finished_at", "seconds", "records_ok", "records_failed",
    "records_per_minute", "failures_by_stage", "rows", "flushes", "flush_p50_ms", "flush_p95_ms",
    "mapper_utilisation", "mappers", "sent", "in_flight", "skipped", "resumed", "source_exhausted",
    "workers_replaced", "bytes_read", "bytes_read_per_record", "read_cpu_ms_per_record", "map_cpu_ms_per_record",
    "whole_reads", "cpu_ms_per_record", "quality", "quality_by_kind", "rejects", "skipped_rejects",
    "time_by_stage", "busy", "verdict", "target", "dry_run", "coverage",
]
"""The summary object of a pipeline run, in the order xmlshred has written it."""

RAY_KEYS = {
    "event", "run_id", "outcome", "started_at", "finished_at", "seconds", "records_ok", "records_failed",
    "skipped", "resumed", "rows", "flushes", "workers_replaced", "rejects", "skipped_rejects",
    "records_per_minute", "failures_by_stage", "mappers", "quality", "quality_by_kind", "shards",
    "target", "dry_run", "engine",
}
"""The summary object of a Ray run (the driver's): sums of its shards, no per-pipeline figures."""

T0 = 1000.0


def _shard_stats(run_id: str, records: int, failed: int) -> RunSummary:
    stats = RunStats(run_id, mappers=2, started_at=datetime(2026, 3, 1, 12, tzinfo=UTC), start=T0)
    stats.add_reader_progress(ReaderProgress(sent=records + failed, in_flight=0, skipped_done=3, exhausted=True),
                              now=T0 + 1)
    stats.add_mapper_load(MapperLoad(mapper_index=0, busy_seconds=2.0, records=records + failed, read_cpu_s=0.1,
                                     map_cpu_s=1.5, worker_cpu_s=1.8, bytes_read=records * 4000, whole_reads=1))
    stats.add_flush(FlushReport(records_ok=records, records_failed=failed, rows=records * 6, seconds=0.25,
                                failures=(("parse", "not well-formed"),) * failed,
                                quality=(("truncated:app_base.name", 2),)), now=T0 + 5)
    return stats.summary("finished", now=T0 + 10, actor_cpu_s={"reader": 0.2, "mapper-0": 0.3, "insert": 0.4})


def test_a_pipelines_summary_goes_to_a_dict_and_back_unchanged():
    summary = dataclasses.replace(_shard_stats("run-1", 40, 2), target="sqlite:///t.db", dry_run=False,
                                  coverage={"records": 42, "tables": {"app_base": 42}, "unmatched_paths": None,
                                            "paths_checked": 10, "cpu_s": 0.01})
    written = json.loads(json.dumps(summary.as_dict()))  # as metrics.jsonl holds it
    assert list(written) == LOCAL_KEYS
    assert RunSummary.from_dict(written) == summary
    assert (summary.records_ok, summary.records_failed, summary.skipped, summary.rows) == (40, 2, 3, 240)
    assert summary.failures_by_stage == {"parse": 2} and summary.quality_by_kind == {"truncated": 2}
    assert summary.has_pipeline_figures and summary.verdict is not None


def test_the_ray_drivers_summary_keeps_its_keys_and_sums_its_shards(tmp_path):
    from xmlshred.engine.ray_engine import _Report

    config = tmp_path / "config.toml"
    metrics = tmp_path / "metrics.jsonl"
    config.write_text(f'[target]\nurl = "sqlite:///{tmp_path / "t.db"}"\n[log]\nmetrics = "{metrics}"\n',
                      encoding="utf-8")
    shards = [Shard(0, 1, 100), Shard(1, 101, 200)]
    results = {0: {"exit_code": 0, "host": "h", "pid": 1, "summary": _shard_stats("run-r", 40, 2)},
               1: {"exit_code": 3, "host": "h", "pid": 2, "summary": _shard_stats("run-r", 30, 1)}}
    report = _Report(load_settings(config, environ={}), "run-r", total=73, shard_count=2)
    summary = report.finish(results, shards, interrupted=False, lost=False)
    line = read_metrics(metrics)[-1]
    assert set(line) == RAY_KEYS
    assert line == summary.as_dict() and RunSummary.from_dict(line) == summary
    assert not summary.has_pipeline_figures and summary.verdict is None
    assert (summary.outcome, summary.records_ok, summary.records_failed, summary.rows) == ("finished", 70, 3, 420)
    assert summary.failures_by_stage == {"parse": 3} and summary.quality == {"truncated:app_base.name": 4}
    assert [(row["shard"], row["records_ok"]) for row in summary.shards] == [(0, 40), (1, 30)]


def test_a_real_runs_summary_is_the_summary_line_of_its_metrics(tmp_path):
    make_source(tmp_path / "source.db", 25)
    values = {"source.url": f"sqlite:///{tmp_path / 'source.db'}", "target.url": f"sqlite:///{tmp_path / 't.db'}",
              "contract.path": str(EXAMPLE_CONTRACT), "actors.mappers": 2, "run.now": PINNED_NOW,
              "log.metrics": str(tmp_path / "metrics.jsonl"), "log.progress": "never"}
    result = supervisor.run_migration(load_settings(None, values, {}, cwd=tmp_path))
    assert isinstance(result.summary, RunSummary)
    line = [record for record in read_metrics(tmp_path / "metrics.jsonl") if record["event"] == "summary"][-1]
    assert list(line) == LOCAL_KEYS
    assert result.summary.as_dict() == line
    assert RunSummary.from_dict(line) == result.summary
    assert result.summary.records_ok + result.summary.records_failed == 25


def test_an_older_summary_line_without_the_newer_keys_still_loads():
    older = {"event": "summary", "run_id": "20250101T000000-abcdef", "outcome": "finished",
             "started_at": "2025-01-01T00:00:00.000+00:00", "finished_at": "2025-01-01T00:01:00.000+00:00",
             "seconds": 60.0, "records_ok": 100, "records_failed": 1, "records_per_minute": 100.0,
             "failures_by_stage": {"map": 1}, "rows": 600, "flushes": 2, "flush_p50_ms": 12.0,
             "flush_p95_ms": 20.0, "mapper_utilisation": 0.5, "mappers": 2, "sent": 101, "in_flight": 0,
             "skipped": 0, "source_exhausted": True, "workers_replaced": 0}
    summary = RunSummary.from_dict(older)
    assert (summary.records_ok, summary.flush_p95_ms, summary.mappers) == (100, 20.0, 2)
    assert (summary.resumed, summary.rejects, summary.skipped_rejects, summary.quality) == (0, 0, 0, {})
    assert summary.verdict is None and summary.time_by_stage is None and summary.coverage is None
    assert {key: summary.as_dict()[key] for key in older} == older  # what it had is written back as it was
    [run] = group_runs([older])
    assert run.summary == summary and run.outcome == "finished"
    text = build_report([older], None, run_id=None)
    assert "older xmlshred" in text and "map: 1" in text
