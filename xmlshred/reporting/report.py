"""``cli.py report``: metrics.jsonl and processing_log turned into a human summary.

``run_report_command`` reads the metrics file and, when a target is given,
the processing_log rows; everything else here works on those plain values
and returns text or writes a PNG.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from xmlshred.reporting.bottleneck import bottleneck_section
from xmlshred.reporting.errors import ReportError
from xmlshred.reporting.stats import format_duration
from xmlshred.reporting.summary import RunSummary

MAX_RATE_ROWS = 40
"""Longest rate-over-time table; longer runs are shown at evenly spaced intervals."""

RATE_BAR_WIDTH = 30

# processing_log column positions when rows come as plain tuples
# (<key>, status, stage, reason, attempts, run_id, updated_at).
_STATUS, _STAGE, _REASON, _RUN_ID = 1, 2, 3, 5


@dataclass
class RunRecords:
    """What metrics.jsonl says about one run."""

    run_id: str
    intervals: list[dict[str, Any]] = field(default_factory=list)
    summary: RunSummary | None = None

    @property
    def last(self) -> dict[str, Any]:
        """The most complete figures as a metrics object: the summary's, else the last interval."""
        if self.summary is not None:
            return self.summary.as_dict()
        return self.intervals[-1]

    @property
    def started_at(self) -> datetime | None:
        if self.summary is not None and self.summary.started_at:
            return _parse_time(self.summary.started_at)
        first = self.intervals[0] if self.intervals else None
        if first and first.get("ts"):
            moment = _parse_time(first["ts"])
            if moment is not None:
                return moment - timedelta(seconds=float(first.get("seconds") or 0))
        return None

    @property
    def outcome(self) -> str:
        # No summary: the process ended without reaching it (killed, crashed).
        return (self.summary.outcome or "?") if self.summary is not None else "no summary"


def _parse_time(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def group_runs(metrics_records: Iterable[Mapping[str, Any]]) -> list[RunRecords]:
    """The runs in the metrics, oldest first; objects without a run_id are ignored."""
    runs: dict[str, RunRecords] = {}
    for record in metrics_records:
        run_id = record.get("run_id")
        if not run_id:
            continue
        run = runs.setdefault(str(run_id), RunRecords(str(run_id)))
        event = record.get("event")
        if event == "summary":
            run.summary = RunSummary.from_dict(dict(record))
        elif event == "progress":
            run.intervals.append(dict(record))
    known = [run for run in runs.values() if run.summary is not None or run.intervals]
    for run in known:
        run.intervals.sort(key=lambda interval: float(interval.get("seconds") or 0))
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(known, key=lambda run: run.started_at or epoch)


def select_run(metrics_records: Iterable[Mapping[str, Any]], run_id: str | None = None) -> str:
    """``run_id`` if the metrics know it, else (``None``) the latest run's id.

    Raises ``ReportError`` when there are no runs or ``run_id`` is unknown.
    """
    return _select(group_runs(metrics_records), run_id).run_id


def _select(runs: list[RunRecords], run_id: str | None) -> RunRecords:
    if not runs:
        raise ReportError(
            "no runs in the metrics (is --metrics pointing at the metrics.jsonl a run wrote?)"
        )
    if run_id is None:
        return runs[-1]
    for run in runs:
        if run.run_id == run_id:
            return run
    known = ", ".join(run.run_id for run in runs[-5:])
    raise ReportError(f"run {run_id!r} is not in the metrics; latest runs: {known}")


# Parse errors name where in the document they happened; grouping ignores that.
_POSITION = re.compile(r" at line \d+, column \d+|, line \d+, column \d+")


def failures_from_rows(rows: Iterable[Any], run_id: str | None = None) -> list[tuple[str, str, int]]:
    """(stage, reason, count) of the ``failed`` processing_log rows, most frequent first.

    ``rows`` are mappings by column name or sequences in processing_log column
    order (``<key>, status, stage, reason, attempts, run_id, updated_at``).
    With ``run_id``, only that run's rows count. Raises ``ReportError`` for a
    row that has neither shape.
    """
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        status, stage, reason, row_run = _log_fields(row)
        if status != "failed":
            continue
        if run_id is not None and row_run != run_id:
            continue
        counts[(stage or "unknown", _POSITION.sub("", reason or ""))] += 1
    return [
        (stage, reason, count)
        for (stage, reason), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def _log_fields(row: Any) -> tuple[Any, Any, Any, Any]:
    if isinstance(row, (str, bytes)):
        raise ReportError("a processing_log row must be a mapping or a sequence of columns, not a string")
    if isinstance(row, Mapping):
        return row.get("status"), row.get("stage"), row.get("reason"), row.get("run_id")
    if isinstance(row, Sequence) or hasattr(row, "__getitem__"):
        try:
            return row[_STATUS], row[_STAGE], row[_REASON], row[_RUN_ID]
        except (IndexError, KeyError, TypeError) as exc:
            raise ReportError(
                "a processing_log row has too few columns: expected "
                "(<key>, status, stage, reason, attempts, run_id, updated_at)"
            ) from exc
    raise ReportError(f"a processing_log row must be a mapping or a sequence, not {type(row).__name__}")


# text ------------------------------------------------------------------------


def build_report(
    metrics_records: list[dict[str, Any]],
    log_failures: list[tuple[str, str, int]] | None,
    run_id: str | None,
) -> str:
    """The report: every run, then the rate over time and the failures of one run.

    The run is ``run_id`` or, when None, the latest. ``log_failures`` are
    (stage, reason, count) of that run from processing_log
    (``failures_from_rows``); without them the failures come from the run's
    summary, by stage only. Raises ``ReportError`` when there are no runs or
    ``run_id`` is unknown.
    """
    runs = group_runs(metrics_records)
    chosen = _select(runs, run_id)
    sections = [
        _runs_table(runs),
        _rate_section(chosen),
        bottleneck_section(chosen.run_id, chosen.summary),
        _failures_section(chosen, log_failures),
    ]
    return "\n\n".join(sections) + "\n"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max([len(headers[i]), *(len(row[i]) for row in rows)]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(cells)
        ).rstrip()

    rule = ["-" * width if header else "" for header, width in zip(headers, widths, strict=True)]
    return [line(headers), line(rule), *(line(row) for row in rows)]


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{float(value):,.{digits}f}"


def _short_duration(seconds: float) -> str:
    return "<1s" if seconds < 1 else format_duration(seconds)


def _runs_table(runs: list[RunRecords]) -> str:
    rows = []
    for run in runs:
        last = run.last
        started = run.started_at
        rows.append([
            run.run_id,
            started.strftime("%Y-%m-%d %H:%M:%S") if started else "?",
            _short_duration(float(last.get("seconds") or 0)),
            _number(last.get("records_ok")),
            _number(last.get("records_failed")),
            _number(last.get("records_per_minute")),
            run.outcome + (" DRY RUN" if last.get("dry_run") else ""),
        ])
    headers = ["run", "started (UTC)", "duration", "ok", "failed", "records/min", "outcome"]
    return "\n".join([f"Runs ({len(runs)})", *_table(headers, rows, right={2, 3, 4, 5})])


def _evenly_spaced(items: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    if len(items) <= limit:
        return items
    step = (len(items) - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]


def _rate_section(run: RunRecords) -> str:
    title = f"Rate over time, run {run.run_id}"
    if not run.intervals:
        return f"{title}\n(no progress intervals: the run was shorter than the reporting interval)"
    shown = _evenly_spaced(run.intervals, MAX_RATE_ROWS)
    peak = max(float(interval.get("recent_records_per_minute") or 0) for interval in shown)
    rows = []
    for interval in shown:
        recent = float(interval.get("recent_records_per_minute") or 0)
        bar = "#" * round(RATE_BAR_WIDTH * recent / peak) if peak > 0 else ""
        rows.append([
            format_duration(float(interval.get("seconds") or 0)),
            _number(interval.get("records_ok")),
            _number(interval.get("records_failed")),
            _number(recent),
            _number(interval.get("records_per_minute")),
            _number(interval.get("in_flight")),
            _number(interval.get("flush_p95_ms")),
            bar,
        ])
    headers = ["elapsed", "ok", "failed", "recent/min", "overall/min", "in flight", "flush p95 ms", ""]
    note = [] if len(shown) == len(run.intervals) else [f"({len(shown)} of {len(run.intervals)} intervals shown)"]
    return "\n".join([title, *_table(headers, rows, right={0, 1, 2, 3, 4, 5, 6}), *note])


def _failures_section(run: RunRecords, log_failures: list[tuple[str, str, int]] | None) -> str:
    if log_failures is not None:
        return _log_failures_section(run.run_id, log_failures)
    title = f"Failures by stage, run {run.run_id} (metrics; the target has no processing_log to give reasons)"
    if run.summary is None:
        return f"{title}\n(unknown: the run wrote no summary)"
    by_stage_counts = run.summary.failures_by_stage
    if not by_stage_counts:
        return f"{title}\nnone"
    lines = [f"{title}: {sum(by_stage_counts.values()):,}"]
    for stage, count in sorted(by_stage_counts.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"  {stage}: {count:,}")
    return "\n".join(lines)


def _log_failures_section(run_id: str, log_failures: list[tuple[str, str, int]]) -> str:
    """One run's failures from processing_log, by stage, then by reason."""
    title = f"Failures by stage and reason, run {run_id} (processing_log)"
    if not log_failures:
        return f"{title}\nnone"
    by_stage: dict[str, list[tuple[str, int]]] = {}
    for stage, reason, count in log_failures:
        by_stage.setdefault(stage, []).append((reason, count))
    stage_totals = {stage: sum(count for _, count in reasons) for stage, reasons in by_stage.items()}
    lines = [f"{title}: {sum(stage_totals.values()):,}"]
    for stage in sorted(by_stage, key=lambda name: (-stage_totals[name], name)):
        lines.append(f"  {stage}: {stage_totals[stage]:,}")
        for reason, count in sorted(by_stage[stage], key=lambda item: (-item[1], item[0])):
            lines.append(f"    {count:>8,}  {reason or '(no reason given)'}")
    return "\n".join(lines)


# chart -----------------------------------------------------------------------


def plot_rate(metrics_records: list[dict[str, Any]], run_id: str | None, path: str | Path,
              log_rows: list[tuple] | None = None, target: str | None = None) -> Path:
    """Draw one run's chart (``reporting.chart``) to a PNG at ``path``.

    ``run_id`` None means the latest run; ``log_rows`` are processing_log rows
    (any run: only ``run_id``'s are used). Raises ``ReportError`` when
    matplotlib is not installed, the run is unknown or has nothing to plot,
    or the file cannot be written.
    """
    from xmlshred.reporting.chart import chart_data, draw_chart

    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ReportError(
            "the chart needs matplotlib: pip install matplotlib (or pip install -e '.[plot]')"
        ) from exc
    run = _select(group_runs(metrics_records), run_id)
    rows = [row for row in log_rows or [] if _log_fields(row)[3] == run.run_id]
    return draw_chart(chart_data(run, rows), path, target)


# command -----------------------------------------------------------------------


def run_report_command(
    settings: Any,
    metrics: str | Path | None = None,
    target: str | None = None,
    run_id: str | None = None,
    plot: str | Path | None = None,
    out: TextIO | None = None,
) -> int:
    """``cli.py report``: print the report, optionally write the chart; returns the exit code.

    The metrics file is ``settings.log.metrics`` (the CLI folds ``--metrics``
    into it; ``metrics`` is the fallback when settings have none). The target
    is ``settings.target`` (config, or ``--target`` folded in by the CLI):
    only its runs are shown, and its processing_log, opened read-only, gives
    the failures of the whole target and of the chosen run. Nothing is ever
    created. Returns 0, 2 for a usage problem (no metrics file, unknown run,
    matplotlib missing), 1 when the target cannot be read; the reason goes
    to stderr.
    """
    from xmlshred.db.errors import TargetError
    from xmlshred.db.spec import target_spec
    from xmlshred.reporting.target_labels import target_label

    out = out if out is not None else sys.stdout
    metrics_path = getattr(settings.log, "metrics", None) or metrics
    try:
        try:
            label = target_label(settings.target)
            spec = target_spec(settings)
        except TargetError as exc:
            raise ReportError(f"[target] cannot be used: {exc}") from exc
        records, others, missing = _metrics_of(label, metrics_path)
        if missing is not None and spec.path is not None and not Path(spec.path).exists():
            # Nothing recorded this target anywhere: say so first (a dry run's target may be absent
            # and still have metrics, so only here).
            raise ReportError(f"target {label} does not exist (no such file) and no run of it is in the "
                              "metrics; check --target or [target] url (migrate and init-db create it)")
        if missing is not None:
            # No metrics of this target here (another host ran it, or another metrics file): what
            # the target itself recorded, when it recorded runs at all.
            out.write(_target_only_report(label, _recorded_runs_or(missing, settings, spec), run_id, missing, plot))
            return 0
        chosen = select_run(records, run_id)
        snapshot = _read_log(settings, spec)
        sections = [f"Target {label}"
                    + (f"\n({len(others)} runs of other targets in {metrics_path} not shown)" if others else "")]
        run_failures = None
        if snapshot.has_log:
            from xmlshred.reporting.quality_report import with_rejects

            run_failures = with_rejects(failures_from_rows(snapshot.rows, run_id=chosen), snapshot.rejects, chosen)
        text = build_report(records, run_failures, chosen)
        sections.append(text.rstrip("\n"))
        if snapshot.runs is not None:
            sections.append(_target_runs_section(snapshot.runs, {str(r.get("run_id")) for r in records},
                                                 metrics_path))
        sections.append(_target_failures_section(label, snapshot))
        sections += _quality_sections(snapshot, chosen)
        if snapshot.has_log:
            sections.append(fingerprints_section(snapshot.rows, _current_fingerprint(settings)))
        chosen_run = _select(group_runs(records), chosen)
        sections += _coverage_section(chosen_run.summary)
        summary_dry = chosen_run.summary is not None and bool(chosen_run.summary.dry_run)
        if summary_dry or any(i.get("dry_run") for i in chosen_run.intervals):
            from xmlshred.reporting.dryrun import dry_run_path, dry_run_section

            sections.append(dry_run_section(chosen, dry_run_path(metrics_path, chosen)))
        out.write("\n\n".join(sections) + "\n")
        if plot:
            written = plot_rate(records, chosen, plot, snapshot.rows if snapshot.has_log else None, label)
            out.write(f"\nchart written to {written}\n")
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    except TargetError as exc:
        print(f"report: cannot read processing_log: {exc}", file=sys.stderr)
        return 1
    finally:
        _tidy_sqlite_target(settings)
    return 0


def _tidy_sqlite_target(settings: Any) -> None:
    """A read-only look leaves no empty -wal/-shm files beside a SQLite target (as ``status``)."""
    from xmlshred.db.errors import TargetError
    from xmlshred.db.spec import target_spec
    from xmlshred.db.sqlite import tidy_wal

    try:
        path = target_spec(settings).path
    except TargetError:
        return
    if path is not None:
        tidy_wal(path)


def _metrics_of(label: str, metrics_path) -> tuple[list[dict[str, Any]], set[str], ReportError | None]:
    """The metrics records of target ``label``, the run ids of other targets in the same file, and
    why there are no records of ``label`` (None when there are): no metrics file set, the file is
    not there, or it holds no run of this target. A file that is there but cannot be read as
    metrics raises ``ReportError``."""
    from xmlshred.reporting.metrics import read_metrics

    if not metrics_path:
        return [], set(), ReportError('no metrics file: pass --metrics PATH or set [log] metrics in config.toml')
    try:
        all_records = read_metrics(metrics_path)
    except ReportError as exc:
        if Path(metrics_path).exists():
            raise
        return [], set(), exc
    records = [record for record in all_records if record.get("target") == label]
    others = {str(r.get("run_id")) for r in all_records if r.get("target") != label and r.get("run_id")}
    if records:
        return records, others, None
    return [], others, ReportError(
        f"no runs of target {label} in {metrics_path}"
        + (f" ({len(others)} runs of other targets, or from before metrics named their target; "
           "pass --target or --config to choose the target)" if others else ""))


def _recorded_runs_or(missing: ReportError, settings: Any, spec):
    """The target's processing_log and runs; ``missing`` (why there are no metrics) when the target
    recorded no runs or cannot be read, so the reason to fix first is the one given."""
    from xmlshred.db.errors import TargetError

    try:
        snapshot = _read_log(settings, spec)
    except TargetError:
        raise missing from None
    if not snapshot.runs:
        raise missing
    return snapshot


def _target_only_report(label: str, snapshot, run_id: str | None, missing: ReportError, plot) -> str:
    """The report from the target alone: its recorded runs, one run's failures (``run_id``, default the
    latest started) and the whole target's, when there are no metrics of it (``missing`` says why)."""
    from xmlshred.targets.runs_table import COLUMNS

    if plot:
        raise ReportError(f"the chart is drawn from the metrics file, and there is none for this target: {missing}")
    runs = [dict(zip(COLUMNS, row, strict=True)) for row in snapshot.runs]
    starts = {str(run["run_id"]): str(run["started"]) for run in runs}
    if run_id is not None and run_id not in starts:
        raise ReportError(f"run {run_id!r} is not recorded by the target (xmlshred_runs); "
                          f"it has {len(starts):,} runs")
    chosen = run_id if run_id is not None else max(starts, key=lambda run: starts[run])
    sections = [f"Target {label}\n(no metrics of this target: {missing}.\n The runs and failures below are what "
                "the target itself recorded; rates over time need the metrics file.)",
                _target_runs_section(snapshot.runs, set(), None)]
    if snapshot.has_log:
        from xmlshred.reporting.quality_report import with_rejects

        sections.append(_log_failures_section(chosen, with_rejects(
            failures_from_rows(snapshot.rows, run_id=chosen), snapshot.rejects, chosen)))
    sections.append(_target_failures_section(label, snapshot))
    sections += _quality_sections(snapshot, chosen)
    return "\n\n".join(sections) + "\n"


def _quality_sections(snapshot, run_id: str) -> list[str]:
    """Data quality (the run's, and the whole target's when other runs have some) and the rejects
    (documents that failed before a key was known: the run's, and the whole target's)."""
    from xmlshred.reporting.quality_report import quality_section, rejects_of, rejects_section

    if not snapshot.exists:
        return []
    sections = [quality_section(snapshot.quality, run_id)]
    if snapshot.quality and any(str(row[0]) != run_id for row in snapshot.quality):
        sections.append(quality_section(snapshot.quality, None))
    sections.append(rejects_section(snapshot.rejects, run_id))
    if snapshot.rejects and len(rejects_of(snapshot.rejects)) != len(rejects_of(snapshot.rejects, run_id)):
        sections.append(rejects_section(snapshot.rejects, None))
    return sections


def _read_log(settings: Any, spec):
    from xmlshred.reporting.target_log import read_processing_log

    # SQLite has no schemas; the others keep processing_log in the contract's target schema.
    schema_name = None if spec.path is not None else _contract_schema_name(settings)
    return read_processing_log(spec, schema_name)


TARGET_RUNS_SHOWN = 20
"""The latest runs of xmlshred_runs that ``report`` lists."""


def _target_runs_section(runs: list[tuple], in_metrics: set[str], metrics_path) -> str:
    """The target's own record of its runs (xmlshred_runs), latest first: also the runs the metrics
    file does not know (another host or config, a crash before any metrics), marked ``*``."""
    from xmlshred.targets.runs_table import COLUMNS

    title = "Runs recorded by the target (xmlshred_runs)"
    if not runs:
        return f"{title}\nnone"
    records = sorted((dict(zip(COLUMNS, run[:len(COLUMNS)], strict=True)) for run in runs),
                     key=lambda run: str(run["started"]), reverse=True)
    marked = metrics_path is not None  # without metrics every run would be marked: none is
    rows = [[str(run["run_id"]) + (" *" if marked and str(run["run_id"]) not in in_metrics else ""),
             str(run["host"]),
             str(run["pid"]), _stamp(run["started"]), _stamp(run["finished"]), str(run["outcome"])]
            for run in records[:TARGET_RUNS_SHOWN]]
    headers = ["run", "host", "pid", "started (UTC)", "finished (UTC)", "outcome"]
    shown = f", the latest {TARGET_RUNS_SHOWN}" if len(records) > TARGET_RUNS_SHOWN else ""
    lines = [f"{title}: {len(records):,}{shown}", *_table(headers, rows, right={2})]
    if any(row[0].endswith(" *") for row in rows):
        lines.append(f"* not in {metrics_path}: a run with another metrics file or on another host, "
                     "or one that stopped before it wrote any metrics")
    return "\n".join(lines)


FINGERPRINT_POSITION = 7
"""processing_log's contract_hash column (after updated_at); absent on a target not yet upgraded."""


def fingerprints_section(rows: Iterable[Sequence[Any]], current: str | None) -> str:
    """How many records each contract fingerprint produced (processing_log), by status; the current
    contract's marked. "(none)" is the entries from before fingerprints."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        fingerprint = (row[FINGERPRINT_POSITION] if len(row) > FINGERPRINT_POSITION else None) or ""
        by_status = counts.setdefault(str(fingerprint), {})
        by_status[str(row[1])] = by_status.get(str(row[1]), 0) + 1
    title = "Records by contract fingerprint (processing_log)"
    if not counts:
        return f"{title}\nnone"
    table = [[(fingerprint or "(none)") + (" (current)" if current and fingerprint == current else ""),
              _number(by_status.get("success", 0)), _number(by_status.get("failed", 0))]
             for fingerprint, by_status in sorted(counts.items(), key=lambda item: -sum(item[1].values()))]
    lines = [title, *_table(["fingerprint", "success", "failed"], table, right={1, 2})]
    if current and any(fingerprint != current for fingerprint in counts):
        lines.append("records of another fingerprint are stale: migrate --reprocess stale reloads them")
    return "\n".join(lines)


def _current_fingerprint(settings: Any) -> str | None:
    """The fingerprint of the configured contract, or None when it cannot be read."""
    from xmlshred.contract import fingerprint_file

    try:
        return fingerprint_file(settings.contract.path)
    except (OSError, ValueError):
        return None


def _stamp(value: Any) -> str:
    """A datetime column's value (a datetime, or SQLite's text) to the second; ``-`` for NULL."""
    if value is None:
        return "-"
    return str(value).replace("T", " ")[:19]


def _target_failures_section(label: str, snapshot) -> str:
    title = "Failures by stage and reason, whole target (processing_log, every run)"
    if not snapshot.exists:
        return f"{title}\n(the target database does not exist yet: no run has written to it)"
    if not snapshot.has_log:
        return (f"{title}\n(the target has no processing_log table: no run has written to it yet; "
                "migrate or init-db creates it)")
    done = Counter(_log_fields(row)[0] for row in snapshot.rows)
    failures = failures_from_rows(snapshot.rows)
    rejected = len(snapshot.rejects or ())
    lines = [f"{title}: {done.get('failed', 0):,} failed, {done.get('success', 0):,} succeeded"
             + (f"; and {rejected:,} failed before a key was known (xmlshred_rejects, below)" if rejected else "")]
    for stage, reason, count in failures:
        lines.append(f"    {count:>8,}  {stage}: {reason or '(no reason given)'}")
    if done.get("failed"):
        from xmlshred.vocab.program import command

        lines.append(f"(a rerun skips failed records; {command('migrate', '--retry-failed')} processes them again)")
    return "\n".join(lines)


def _contract_schema_name(settings: Any) -> str | None:
    from xmlshred.contract import ContractError, load_contract

    try:
        return load_contract(settings.contract.path).target_schema
    except ContractError as exc:
        raise ReportError(
            f"the contract {settings.contract.path} names processing_log's schema and cannot be loaded: {exc}"
        ) from exc


def _coverage_section(summary: RunSummary | None) -> list[str]:
    """The run's table coverage (sparse tables, unmatched mapping paths), when it has something to say."""
    from xmlshred.reporting.coverage import coverage_lines

    lines = coverage_lines(summary.coverage if summary is not None else None)
    if not lines:
        return []
    return ["Table coverage (tables that got rows from under 1% of the mapped records, mapping paths that "
            "matched nothing)\n" + "\n".join(f"    {line}" for line in lines)]
