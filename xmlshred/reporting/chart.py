"""``report --plot``: one run's throughput, failures and flush latency over wall-clock time.

Three panels sharing a wall-clock (UTC) x axis:

1. successful records per minute at each flush (or progress interval),
   averaged over the last few of them (a sixth of the run's steps, 1 to 10)
   so single flushes do not make a saw-tooth, with the run's overall rate as
   a dashed line;
2. failed records per time bin, stacked by stage;
3. flush latency p95: each progress interval's (marked points) and the whole
   run's (a dashed line).

The counts come from the run's progress intervals in metrics.jsonl when there
are at least ``MIN_INTERVALS`` of them, otherwise from the run's
processing_log rows (their ``updated_at`` is the moment each record's flush
committed), so a run shorter than the reporting interval is charted too.
Failures by stage come from processing_log when it is available, else from
the intervals' failed counts (stage unknown).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from xmlshred.reporting.errors import ReportError

MIN_INTERVALS = 3
"""Fewer progress intervals than this: the counts come from processing_log timestamps."""
MAX_BINS = 60
"""Most bars in the failures panel."""


@dataclass
class ChartData:
    """What the chart shows, as plain values (so it can be tested without drawing)."""

    run_id: str
    source: str
    """``progress intervals`` or ``processing_log timestamps``."""
    edges: list[datetime]
    """Bin edges (len = bins + 1), UTC."""
    rate: list[tuple[datetime, float]]
    """(time, successful records per minute over the last ``window`` steps)."""
    overall: float
    """Successful records per minute over the whole run."""
    failures: dict[str, list[int]] = field(default_factory=dict)
    """Failed records per bin, by stage."""
    p95: list[tuple[datetime, float]] = field(default_factory=list)
    """(time, flush p95 ms) points."""
    window: int = 1
    """Steps (flushes or intervals) each rate point is averaged over."""
    dry_run: bool = False
    run_p95: float | None = None
    """The whole run's flush p95 ms (the summary's), drawn across the panel beside the intervals' points."""


def _time(text: Any) -> datetime | None:
    if text is None:
        return None
    if isinstance(text, datetime):
        moment = text
    else:
        try:
            moment = datetime.fromisoformat(str(text))
        except ValueError:
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _edges(start: datetime, end: datetime, points: int) -> list[datetime]:
    span = max((end - start).total_seconds(), 1e-3)
    bins = max(5, min(MAX_BINS, points))
    width = span / bins
    return [start + timedelta(seconds=width * i) for i in range(bins + 1)]


def _bin_of(edges: list[datetime], moment: datetime) -> int:
    span = (edges[-1] - edges[0]).total_seconds()
    index = int((moment - edges[0]).total_seconds() / span * (len(edges) - 1)) if span > 0 else 0
    return min(max(index, 0), len(edges) - 2)


FLUSH_GAP_S = 0.003
"""processing_log rows closer together than this belong to one flush (they are stamped in one loop)."""


def _flushes(rows: list[tuple[str, Any, datetime]]) -> list[tuple[datetime, int]]:
    """(commit time, successes) per flush, told apart by gaps between updated_at stamps."""
    ordered = sorted(rows, key=lambda row: row[2])
    flushes: list[list] = []
    previous = None
    for status, _, moment in ordered:
        if previous is None or (moment - previous).total_seconds() > FLUSH_GAP_S:
            flushes.append([moment, 0])
        flushes[-1][0] = moment
        flushes[-1][1] += status == "success"
        previous = moment
    return [(moment, ok) for moment, ok in flushes]


def _rates(points: list[tuple[datetime, float]], window: int) -> list[tuple[datetime, float]]:
    """Records/minute at each cumulative point, over the last ``window`` steps (sum over sum)."""
    out = []
    for index in range(1, len(points)):
        back = max(0, index - window)
        seconds = (points[index][0] - points[back][0]).total_seconds()
        count = points[index][1] - points[back][1]
        out.append((points[index][0], count * 60.0 / seconds if seconds > 0 else 0.0))
    return out


def _work_steps(cumulative: list[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    """``cumulative`` without its tail after the last commit: the run's end (the summary's
    ``finished_at``) comes after its last flush or progress interval by the time it takes to drain
    and stop, in which nothing is settled. That tail is not an interval of work; a rate over it
    read as a collapse to 0 at the last point. Each remaining step's rate is its records over its
    own real length (the overall rate still counts the whole run)."""
    end = len(cumulative)
    while end > 2 and cumulative[end - 1][1] == cumulative[end - 2][1]:
        end -= 1
    return cumulative[:end]


def chart_data(run, log_rows: list[tuple] | None) -> ChartData:
    """The chart's series for ``run`` (a ``report.RunRecords``) and its processing_log rows.

    ``log_rows``: processing_log rows (``<key>, status, stage, reason, attempts,
    run_id, updated_at``) of this run only, or None. Raises ReportError when
    there is nothing to chart.
    """
    summary = run.summary
    summary_ok = float(summary.records_ok) if summary is not None else 0.0
    intervals = [i for i in run.intervals if _time(i.get("ts")) is not None]
    started = run.started_at
    rows = [(str(r[1]), r[2], _time(r[6])) for r in (log_rows or [])]
    rows = [r for r in rows if r[2] is not None]
    finished = _time(summary.finished_at) if summary is not None else None
    if len(intervals) >= MIN_INTERVALS:
        source = f"{len(intervals)} progress intervals"
        started = started or _time(intervals[0]["ts"])
        cumulative = [(started, 0.0)] + [(_time(i["ts"]), float(i.get("records_ok") or 0)) for i in intervals]
        if finished is not None and finished > cumulative[-1][0]:
            cumulative.append((finished, summary_ok))
    elif rows:
        flushes = _flushes(rows)
        source = f"processing_log timestamps ({len(flushes)} flushes)"
        started = min(started or flushes[0][0], flushes[0][0])
        cumulative, total = [(started, 0.0)], 0.0
        for moment, ok in flushes:
            total += ok
            cumulative.append((moment, total))
        if finished is not None and finished > cumulative[-1][0]:
            cumulative.append((finished, total))
    elif started is not None and finished is not None:
        # Too short for intervals and nothing in processing_log (a dry run, or rows
        # overwritten by a later run): the summary's average is all there is.
        source = "the run's summary only (too short for progress intervals, no processing_log rows)"
        finished = max(finished, started + timedelta(milliseconds=1))
        cumulative = [(started, 0.0), (finished, summary_ok)]
    else:
        raise ReportError(
            f"run {run.run_id} has nothing to plot: fewer than {MIN_INTERVALS} progress intervals, no "
            "start and finish times and no processing_log rows of this run (lower [log] report_every_s)")
    # Smoothed over about a sixth of the run's steps (at least 1, at most 10).
    window = max(1, min(10, round((len(cumulative) - 1) / 6)))
    rate_points = _rates(_work_steps(cumulative), window)
    end = cumulative[-1][0]
    edges = _edges(started, end, len(cumulative))
    total_s = max((end - started).total_seconds(), 1e-3)
    overall = cumulative[-1][1] * 60.0 / total_s

    failures: dict[str, list[int]] = defaultdict(lambda: [0] * (len(edges) - 1))
    failed_rows = [r for r in rows if r[0] == "failed"]
    if failed_rows:
        for _, stage, moment in failed_rows:
            failures[stage or "unknown"][_bin_of(edges, moment)] += 1
    elif intervals:
        previous = 0
        for interval in intervals:
            failed = int(interval.get("records_failed") or 0)
            if failed > previous:
                failures["failed (stage unknown)"][_bin_of(edges, _time(interval["ts"]))] += failed - previous
            previous = failed
        if summary is not None and summary.records_failed > previous:
            failures["failed (stage unknown)"][-1] += summary.records_failed - previous
    elif summary is not None and summary.records_failed:
        for stage, count in summary.failures_by_stage.items():
            failures[f"{stage} (whole run)"][-1] += int(count)

    p95 = [(_time(i["ts"]), float(i["flush_p95_ms"])) for i in intervals if i.get("flush_p95_ms") is not None]
    run_p95 = float(summary.flush_p95_ms) if summary is not None and summary.flush_p95_ms is not None else None
    dry_run = bool(summary is not None and summary.dry_run) or any(i.get("dry_run") for i in intervals)
    return ChartData(run.run_id, source, edges, rate_points, overall, dict(failures), p95, window,
                     dry_run=dry_run,
                     run_p95=run_p95)


def _draw_latency(lat_ax, data: ChartData) -> None:
    """The flush p95 panel: each progress interval's p95 as a marked point (so one interval, or
    intervals apart, still show: a line of one point draws nothing), joined when there are
    several; and the whole run's p95 as a dashed line across the run."""
    drawn = False
    if data.p95:
        lat_ax.plot([t.replace(tzinfo=None) for t, _ in data.p95], [v for _, v in data.p95],
                    color="tab:red", marker="o", markersize=4, linestyle="-",
                    label="p95 of each interval's flushes")
        drawn = True
    if data.run_p95 is not None:
        ends = [data.edges[0].replace(tzinfo=None), data.edges[-1].replace(tzinfo=None)]
        lat_ax.plot(ends, [data.run_p95, data.run_p95], color="tab:red", linestyle="--", alpha=0.6,
                    label=f"p95 of the whole run's flushes ({data.run_p95:,.0f} ms)")
        drawn = True
    if drawn:
        lat_ax.legend(loc="lower right", fontsize=8)
    else:
        lat_ax.text(0.5, 0.5, "no flush timings", transform=lat_ax.transAxes, ha="center", va="center",
                    color="gray")


def draw_chart(data: ChartData, path: str | Path, target: str | None = None) -> Path:
    """Write ``data`` as a PNG; ReportError when matplotlib is missing or the file cannot be written."""
    figure = build_figure(data, target)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    except OSError as exc:
        raise ReportError(f"cannot write the chart to {path}: {exc}") from exc
    return path


def build_figure(data: ChartData, target: str | None = None):
    """The chart as a matplotlib Figure (Agg canvas, no pyplot); ReportError without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ReportError(
            "the chart needs matplotlib: pip install matplotlib (or pip install -e '.[plot]')"
        ) from exc
    # A bare Figure with the Agg canvas: no pyplot, no global state, no GUI backend.
    figure = Figure(figsize=(10, 7.5), dpi=100)
    FigureCanvasAgg(figure)
    rate_ax, fail_ax, lat_ax = figure.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 1.5]})
    middles = [left + (right - left) / 2 for left, right in pairwise(data.edges)]
    naive = [m.replace(tzinfo=None) for m in middles]
    steps = "flushes" if "flushes" in data.source else "intervals"
    rate_ax.plot([t.replace(tzinfo=None) for t, _ in data.rate], [v for _, v in data.rate], color="tab:blue",
                 linewidth=2, marker="o" if len(data.rate) < 30 else None, markersize=3,
                 label=f"records/min (over the last {data.window} {steps})" if data.window > 1 else "records/min")
    rate_ax.axhline(data.overall, color="tab:blue", linestyle="--", alpha=0.6,
                    label=f"overall {data.overall:,.0f}/min")
    rate_ax.set_ylabel("successful\nrecords / minute")
    rate_ax.set_ylim(bottom=0)
    rate_ax.legend(loc="lower right", fontsize=8)
    rate_ax.grid(True, alpha=0.3)

    width = (data.edges[1] - data.edges[0]) * 0.9
    bottom = [0] * len(naive)
    if data.failures:
        for stage, counts in sorted(data.failures.items(), key=lambda item: -sum(item[1])):
            fail_ax.bar(naive, counts, width=width, bottom=bottom, label=f"{stage} ({sum(counts):,})")
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        fail_ax.legend(loc="upper right", fontsize=8)
    else:
        fail_ax.text(0.5, 0.5, "no failures", transform=fail_ax.transAxes, ha="center", va="center",
                     color="gray")
    fail_ax.set_ylabel("failed records\nby stage")
    fail_ax.grid(True, alpha=0.3)

    _draw_latency(lat_ax, data)
    lat_ax.set_ylabel("flush p95\nms")
    lat_ax.set_ylim(bottom=0)
    lat_ax.grid(True, alpha=0.3)
    locator = AutoDateLocator()
    lat_ax.xaxis.set_major_locator(locator)
    lat_ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    lat_ax.set_xlabel("wall-clock time (UTC)")
    title = f"xmlshred run {data.run_id}{' (DRY RUN)' if data.dry_run else ''}"
    figure.suptitle(title + (f"\n{target}" if target else ""), fontsize=10)
    rate_ax.set_title(f"from {data.source}", fontsize=8, loc="right", color="gray")
    figure.tight_layout()
    return figure
