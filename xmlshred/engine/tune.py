"""``xmlshred tune``: find good ``[actors]`` and ``[flush]`` settings by running the real pipeline.

Each trial is ``supervisor.run_migration`` (what ``migrate`` runs) on a sample of the user's own
source (``[run] limit``: the first N records of its key range) into a **scratch** target, fresh for
every run: a SQLite file in a temporary folder, or on PostgreSQL / SQL Server a schema
``xmlshred_tune_<id>`` in the user's database (the contract's ``target_schema`` replaced in a copy
of the contract), dropped between runs and at the end. The configured target, its tables and its
processing_log are never opened; the metrics go to the temporary folder.

The search is coordinate descent from the current settings: one setting at a time (mappers,
flush size, batch size, max_in_flight), its neighbours in a ladder of values, each candidate run
at least ``RUNS_PER_CANDIDATE`` times and judged by its median records/minute; a neighbour wins
only when its median beats the current one by more than the noise seen (the runs' spread); a
winning direction is followed while it keeps winning. It stops when the time budget would be
passed by one more candidate. Ctrl-C stops the run in progress as ``migrate`` does (drain), then
the scratch target is dropped.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.exit_codes import ExitCode

RUNS_PER_CANDIDATE = 2
"""Each candidate runs at least this often; its figure is the median."""
MIN_GAIN = 0.03
"""A neighbour must beat the current median by this share at least (and by more than the spread)."""

FLUSH_RECORDS = (100, 250, 500, 1000, 2000, 5000)
BATCH_SIZES = (5, 10, 20, 50, 100)
IN_FLIGHT = (250, 500, 1000, 2000, 4000, 8000)


class TuneError(TerminalError):
    """tune cannot go on (a run failed, the scratch target cannot be made); the message says why."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One combination of the tuned settings."""

    mappers: int
    batch_size: int
    max_in_flight: int
    flush_records: int
    flush_rows: int

    def label(self) -> str:
        return (f"mappers={self.mappers} batch={self.batch_size} in_flight={self.max_in_flight} "
                f"flush={self.flush_records}/{self.flush_rows}")

    def value(self, axis: str) -> int:
        return getattr(self, axis)


@dataclass
class RunFigures:
    """What one trial run measured (from its summary)."""

    records_per_minute: float
    seconds: float
    cpu_ms_per_record: dict[str, float]
    flush_p95_ms: float | None
    bound: str
    rows_per_record: float


@dataclass
class Trial:
    """A candidate and its runs."""

    candidate: Candidate
    runs: list[RunFigures] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(run.records_per_minute for run in self.runs) if self.runs else 0.0

    @property
    def spread(self) -> float:
        """Half the range of the runs' rates (± around the median)."""
        rates = [run.records_per_minute for run in self.runs]
        return (max(rates) - min(rates)) / 2 if len(rates) > 1 else 0.0

    def cpu(self, stage: str) -> float | None:
        values = [run.cpu_ms_per_record.get(stage) for run in self.runs if run.cpu_ms_per_record.get(stage) is not None]
        return statistics.median(values) if values else None

    @property
    def flush_p95(self) -> float | None:
        values = [run.flush_p95_ms for run in self.runs if run.flush_p95_ms is not None]
        return statistics.median(values) if values else None

    @property
    def bound(self) -> str:
        bounds = [run.bound for run in self.runs]
        return max(set(bounds), key=bounds.count) if bounds else "-"


# ---------------------------------------------------------------- scratch targets


class Scratch:
    """Where the trial runs write: a fresh target per run, and the clean-up."""

    def __init__(self, settings, folder: Path) -> None:
        from xmlshred.db.spec import target_spec

        self.settings = settings
        self.folder = folder
        self.spec = target_spec(settings)
        self.server = self.spec.path is None
        self.schema_name: str | None = None
        self.contract_path = Path(settings.contract.path)
        self._schema = None
        self._runs = 0
        if self.server:
            from xmlshred.contract import contract_schema, load_contract
            from xmlshred.targets.scratch import scratch_schema_name

            self.schema_name = scratch_schema_name()
            data = json.loads(Path(settings.contract.path).read_text(encoding="utf-8"))
            data["target_schema"] = self.schema_name
            self.contract_path = folder / "contract.json"
            self.contract_path.write_text(json.dumps(data), encoding="utf-8")
            # the scratch schema's tables: the contract's, as the runs will create them
            contract = load_contract(self.contract_path)
            self._schema = contract_schema(contract)

    @property
    def description(self) -> str:
        if self.server:
            return f"scratch schema {self.schema_name} on {self.spec.description}"
        return f"scratch SQLite files in {self.folder}"

    def next_target(self) -> str:
        """A fresh, empty target URL for the next run (the previous run's dropped first)."""
        self.clear()
        self._runs += 1
        if self.server:
            return self.settings.target.url
        return f"sqlite:///{self.folder / f'run-{self._runs}.db'}"

    def clear(self) -> None:
        """Drop what the last run wrote."""
        if self.server:
            from xmlshred.targets.scratch import drop_scratch_schema

            drop_scratch_schema(self.spec, self._schema)
            return
        for path in self.folder.glob("run-*.db*"):
            path.unlink(missing_ok=True)


# ---------------------------------------------------------------- the search


def _ladder(values: tuple[int, ...], current: int) -> list[int]:
    return sorted(set(values) | {current})


def _axes(base: Candidate, cores: int) -> dict[str, list[int]]:
    return {
        "mappers": _ladder(tuple(range(1, max(2, cores + 1) + 1)), base.mappers),
        "flush_records": _ladder(FLUSH_RECORDS, base.flush_records),
        "batch_size": _ladder(BATCH_SIZES, base.batch_size),
        "max_in_flight": _ladder(IN_FLIGHT, base.max_in_flight),
    }


class Search:
    """Coordinate descent over the axes within a time budget."""

    def __init__(self, run: Callable[[Candidate], RunFigures], budget_s: float, base: Candidate, cores: int,
                 progress: Callable[[str], None]) -> None:
        self.run = run
        self.budget_s = budget_s
        self.base = base
        self.cores = cores
        self.progress = progress
        self.trials: dict[Candidate, Trial] = {}
        self.started = time.monotonic()
        self.rows_per_record = 30.0
        self.out_of_time = False

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _run_seconds(self) -> float:
        durations = [run.seconds for trial in self.trials.values() for run in trial.runs]
        return max(durations[-4:]) if durations else 0.0

    def _afford(self, runs: int) -> bool:
        return self.elapsed() + runs * self._run_seconds() * 1.2 <= self.budget_s

    def evaluate(self, candidate: Candidate, force: bool = False) -> Trial | None:
        trial = self.trials.setdefault(candidate, Trial(candidate))
        while len(trial.runs) < RUNS_PER_CANDIDATE:
            if not force and not self._afford(RUNS_PER_CANDIDATE - len(trial.runs)):
                self.out_of_time = True
                if not trial.runs:
                    del self.trials[candidate]
                return None
            self.progress(candidate.label())
            figures = self.run(candidate)
            trial.runs.append(figures)
            if figures.rows_per_record > 0:
                self.rows_per_record = figures.rows_per_record
        return trial

    def _with(self, candidate: Candidate, axis: str, value: int) -> Candidate:
        changed = replace(candidate, **{axis: value})
        if axis == "flush_records":
            # the rows threshold follows the records threshold (rows per record as measured)
            changed = replace(changed, flush_rows=max(1000, int(value * self.rows_per_record * 1.5)))
        return changed

    def _better(self, challenger: Trial, holder: Trial) -> bool:
        margin = max(holder.median * MIN_GAIN, holder.spread + challenger.spread)
        return challenger.median > holder.median + margin

    def best(self) -> Trial:
        complete = [trial for trial in self.trials.values() if len(trial.runs) >= RUNS_PER_CANDIDATE]
        return max(complete or self.trials.values(), key=lambda trial: trial.median)

    def search(self) -> Trial:
        current = self.evaluate(self.base, force=True)
        axes = _axes(self.base, self.cores)
        for _sweep in range(2):
            moved = False
            for axis, ladder in axes.items():
                if self.out_of_time:
                    return current
                position = ladder.index(current.candidate.value(axis)) if current.candidate.value(axis) in ladder \
                    else 0
                winner = None
                for step in (1, -1):
                    index = position + step
                    if not 0 <= index < len(ladder):
                        continue
                    trial = self.evaluate(self._with(current.candidate, axis, ladder[index]))
                    if trial is None:
                        return current
                    if self._better(trial, current) and (winner is None or trial.median > winner[0].median):
                        winner = (trial, step)
                if winner is None:
                    continue
                current, step = winner
                moved = True
                index = ladder.index(current.candidate.value(axis)) + step
                while 0 <= index < len(ladder):  # follow the winning direction while it keeps winning
                    trial = self.evaluate(self._with(current.candidate, axis, ladder[index]))
                    if trial is None or not self._better(trial, current):
                        break
                    current = trial
                    index += step
            if not moved:
                break
        return current


# ---------------------------------------------------------------- running it


def _base_candidate(settings) -> Candidate:
    return Candidate(settings.actors.mappers, settings.actors.batch_size, settings.actors.max_in_flight,
                     settings.flush.max_records, settings.flush.max_rows)


def _trial_settings(settings, candidate: Candidate, target_url: str, contract_path: Path, sample: int,
                    folder: Path):
    return replace(
        settings,
        target=replace(settings.target, url=target_url),
        contract=replace(settings.contract, path=str(contract_path)),
        actors=replace(settings.actors, mappers=candidate.mappers, batch_size=candidate.batch_size,
                       max_in_flight=candidate.max_in_flight),
        flush=replace(settings.flush, max_records=candidate.flush_records, max_rows=candidate.flush_rows),
        log=replace(settings.log, metrics=str(folder / "metrics.jsonl"), file="", progress="never",
                    report_every_s=max(settings.log.report_every_s, 3600.0)),
        run=replace(settings.run, limit=sample, dry_run=False, retry_failed=False, wait_s=0.0),
    )


class _Bar:
    """One line redrawn in place on a terminal (nothing when stderr is not one)."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.live = sys.stderr.isatty()
        self.started = time.monotonic()

    def show(self, runs: int, best: float | None, doing: str) -> None:
        if not self.live:
            return
        elapsed = time.monotonic() - self.started
        filled = min(20, int(20 * elapsed / self.budget_s)) if self.budget_s > 0 else 20
        best_text = f"best {best:,.0f}/min" if best else "best -"
        text = f"tune [{'#' * filled}{'-' * (20 - filled)}] {elapsed:,.0f}/{self.budget_s:,.0f}s | runs {runs} | " \
               f"{best_text} | {doing}"
        width = shutil.get_terminal_size((100, 20)).columns - 1
        sys.stderr.write("\r\x1b[2K" + text[:width])
        sys.stderr.flush()

    def clear(self) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def run_tune(settings, *, sample: int = 2000, budget_s: float = 120.0, write: Path | None = None,
             out=None) -> int:
    """``xmlshred tune``: search, print the table and the recommendation, optionally write it. Exit code."""
    from loguru import logger

    from xmlshred import supervisor

    out = out or sys.stdout
    if settings.engine.kind == "ray":
        logger.warning("tune runs the local engine; [engine] kind = ray is ignored for the trials")
    folder = Path(tempfile.mkdtemp(prefix="xmlshred_tune_"))
    scratch = None
    bar = _Bar(budget_s)
    count = 0
    try:
        scratch = Scratch(settings, folder)
        print(f"tune: up to {sample:,} records of {_safe(settings.source.url)} per run, into "
              f"{scratch.description}; budget {budget_s:,.0f} s", file=out, flush=True)

        def trial_run(candidate: Candidate) -> RunFigures:
            nonlocal count
            count += 1
            trial = _trial_settings(settings, candidate, scratch.next_target(), scratch.contract_path, sample,
                                    folder)
            try:
                result = supervisor.run_migration(trial)
            except supervisor.ConfigurationError as exc:
                raise TuneError(f"the trial run cannot start: {exc}") from exc
            except supervisor.RunError as exc:
                raise TuneError(f"a trial run stopped: {exc}") from exc
            if result.exit_code == ExitCode.SIGNAL:
                raise KeyboardInterrupt
            if result.exit_code == ExitCode.OK and result.summary is None:
                raise TuneError("the source holds no records to sample (in [run] key_start..key_end)")
            if result.exit_code not in (ExitCode.OK, ExitCode.SOME_FAILED) or result.summary is None:
                raise TuneError(f"a trial run ended with exit code {int(result.exit_code)} ({candidate.label()})")
            summary = result.summary
            if not summary.records_ok:
                raise TuneError("a trial run wrote no records: the sample holds nothing that maps "
                                "(check [source] and the contract with migrate --dry-run)")
            figures = RunFigures(
                records_per_minute=float(summary.records_per_minute), seconds=float(summary.seconds),
                cpu_ms_per_record=dict(summary.cpu_ms_per_record or {}),
                flush_p95_ms=summary.flush_p95_ms, bound=(summary.verdict or {}).get("bound", "-"),
                rows_per_record=float(summary.rows) / max(summary.records_ok, 1))
            bar.show(count, search.best().median if search.trials else None, candidate.label())
            return figures

        search = Search(trial_run, budget_s, _base_candidate(settings), os.cpu_count() or 1,
                        lambda label: bar.show(count, search.best().median if search.trials else None, label))
        best = search.search()
        bar.clear()
        _print_table(search, best, out)
        if write is not None:
            write_settings(write, best.candidate)
            from xmlshred.settings import load_settings

            load_settings(write, {}, {})  # what migrate will read: it must load
            print(f"written to {write} ([actors] mappers, batch_size, max_in_flight; [flush] max_records, "
                  "max_rows); comments and layout kept", file=out)
        return ExitCode.OK
    except KeyboardInterrupt:
        bar.clear()
        logger.warning("tune interrupted: no recommendation; the scratch target is dropped")
        return ExitCode.SIGNAL
    except TuneError as exc:
        bar.clear()
        logger.error("tune stopped: {}", exc)
        return ExitCode.ERROR
    finally:
        _clean_up(scratch, folder, logger)


def _clean_up(scratch: Scratch | None, folder: Path, logger) -> None:
    try:
        if scratch is not None and scratch.server:
            scratch.clear()
    except Exception as exc:  # say what is left, never hide it
        from xmlshred.db.secrets import mask_secrets

        logger.error("could not drop {}: {}; drop it by hand", scratch.description, mask_secrets(str(exc)))
    shutil.rmtree(folder, ignore_errors=True)


def _safe(url: str) -> str:
    from xmlshred.db.secrets import mask_secrets

    return mask_secrets(url)


def _print_table(search: Search, best: Trial, out) -> None:
    headers = ("settings", "rec/min (median ± spread)", "runs", "CPU ms/rec read/transfer/map/insert",
               "flush p95 ms", "bound")
    rows = []
    for trial in sorted(search.trials.values(), key=lambda t: -t.median):
        cpu = "/".join("-" if trial.cpu(stage) is None else f"{trial.cpu(stage):.2f}"
                       for stage in ("read", "transfer", "map", "insert"))
        p95 = "-" if trial.flush_p95 is None else f"{trial.flush_p95:,.0f}"
        mark = " *" if trial is best else ""
        rows.append((trial.candidate.label() + mark, f"{trial.median:,.0f} ± {trial.spread:,.0f}",
                     str(len(trial.runs)), cpu, p95, trial.bound))
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]
    print("", file=out)
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))), file=out)
    base = search.trials.get(search.base)
    gain = f" ({best.median / base.median - 1:+.0%} over the current settings)" if base and base.median else ""
    print("", file=out)
    print(f"recommended{gain}: {best.candidate.label()}", file=out)
    print(recommendation_toml(best.candidate), file=out)
    if search.out_of_time:
        print("(the time budget ended the search; --budget-s S searches further)", file=out)


def recommendation_toml(candidate: Candidate) -> str:
    return (f"[actors]\nmappers = {candidate.mappers}\nbatch_size = {candidate.batch_size}\n"
            f"max_in_flight = {candidate.max_in_flight}\n\n[flush]\nmax_records = {candidate.flush_records}\n"
            f"max_rows = {candidate.flush_rows}")


def write_settings(path: Path, candidate: Candidate) -> None:
    """Put the candidate's values into the config file ``path`` (created when missing), keeping
    everything else as it is: comments, order, spacing (tomlkit). TuneError when it cannot."""
    import tomlkit

    path = Path(path)
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except (OSError, tomlkit.exceptions.TOMLKitError) as exc:
        raise TuneError(f"cannot read {path} to write the settings into: {exc}") from exc
    values: dict[str, dict[str, Any]] = {
        "actors": {"mappers": candidate.mappers, "batch_size": candidate.batch_size,
                   "max_in_flight": candidate.max_in_flight},
        "flush": {"max_records": candidate.flush_records, "max_rows": candidate.flush_rows},
    }
    for section, keys in values.items():
        table = document.get(section)
        if table is None:
            table = tomlkit.table()
            document[section] = table
        for key, value in keys.items():
            old = table.get(key)
            if hasattr(old, "trivia"):  # the same key: keep its comment and the spacing around it
                item = tomlkit.item(value)
                item.trivia.indent, item.trivia.comment_ws = old.trivia.indent, old.trivia.comment_ws
                item.trivia.comment, item.trivia.trail = old.trivia.comment, old.trivia.trail
                table[key] = item
            else:
                table[key] = value
    try:
        path.write_text(tomlkit.dumps(document), encoding="utf-8")
    except OSError as exc:
        raise TuneError(f"cannot write {path}: {exc}") from exc
