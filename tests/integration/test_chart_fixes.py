"""``report --plot``: the flush-p95 panel draws its data, and the last step's rate is over its real length.

Both from real runs' metrics and processing_log (nothing timed: the assertions are about what is drawn).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import make_source, pipeline_config, run_cli


def _run(tmp_path: Path, count: int, **overrides):
    make_source(tmp_path / "src.db", count, seed=41, edge_share=0.05)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 't.db'}",
                             **overrides)
    assert run_cli("migrate", "--config", str(config)).returncode in (0, 3)
    from xmlshred.reporting.report import group_runs

    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines() if line.strip()]
    run = group_runs(lines)[-1]
    rows = sqlite3.connect(tmp_path / "t.db").execute("SELECT * FROM processing_log").fetchall()
    return run, rows


def test_the_last_rate_point_is_not_the_idle_tail_after_the_last_commit(tmp_path):
    # A run shorter than the reporting interval: charted from processing_log's commit stamps.
    # The run's end (finished_at) comes after its last commit by the time it takes to stop;
    # nothing settles then, and a rate over that tail read as a drop to ~0 at the last point.
    from xmlshred.reporting.chart import chart_data

    run, rows = _run(tmp_path, 400, log__report_every_s=600.0, flush__max_records=60)
    data = chart_data(run, rows)
    assert "processing_log" in data.source
    assert len(data.rate) >= 3
    last_commit = max(row[6] for row in rows)
    assert data.rate[-1][0].replace(tzinfo=None) <= _naive(last_commit)
    # every step settled records, so every rate point is positive, the last one included
    assert all(rate > 0 for _, rate in data.rate), data.rate
    # the overall rate still counts the whole run, tail included
    assert data.overall > 0


def _naive(value):
    from datetime import datetime

    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=None)


def _visible(line) -> bool:
    """A matplotlib line shows something: two points or more joined, or a marker."""
    joined = len(line.get_xdata()) >= 2 and line.get_linestyle() not in ("None", "", " ")
    marked = line.get_marker() not in (None, "None", "", " ")
    return joined or marked


def test_the_flush_p95_panel_draws_an_interval_it_has(tmp_path):
    pytest.importorskip("matplotlib")
    from xmlshred.reporting.chart import build_figure, chart_data

    run, rows = _run(tmp_path, 600, log__report_every_s=0.2, flush__max_records=50)
    with_p95 = [interval for interval in run.intervals if interval.get("flush_p95_ms") is not None]
    assert with_p95, "the run wrote no progress interval with flushes"
    # The metrics of a run that wrote one progress interval with flushes (e.g. a 15 s run at the
    # default 10 s interval): its p95 used to be a one-point line without a marker, so nothing.
    run.intervals = [with_p95[0]]
    data = chart_data(run, rows)
    figure = build_figure(data)
    latency_axis = figure.axes[2]
    drawn = [line for line in latency_axis.get_lines() if _visible(line)]
    values = {round(float(value), 1) for line in drawn for value in line.get_ydata()}
    assert round(float(with_p95[0]["flush_p95_ms"]), 1) in values
    assert round(float(run.summary.flush_p95_ms), 1) in values  # and the whole run's p95
