"""``migrate --engine ray``: one run, sharded by key range over a Ray cluster, with one report.

The driver (this process) checks both ends, takes the target's run lease,
creates the tables, plans the shards from the source's key distribution and
submits one Ray task per shard. Each task runs the ordinary pykka pipeline
(``supervisor.run_migration``) on its key range under the driver's lease, on
whichever node Ray picks, and writes straight to the shared target. The
driver never handles a document: it only collects progress from a small
``ProgressBoard`` actor and the shards' summaries.

Exactly once: every record's processing_log row commits with its rows, so a
shard that Ray reruns (its worker process or node died) skips what already
committed, and a rerun of the whole job does only what is left.

SIGINT/SIGTERM to the driver: the board's stop flag is set, every shard
drains (stop reading, final flush) and the driver exits 130; a second
signal cancels the shards at once.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger

from xmlshred.engine.shards import Shard, ShardPlanError, file_chunks, plan_shards
from xmlshred.reporting.summary import RunSummary
from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.exit_codes import ExitCode

SHARDS_PER_CPU = 4
RAY_EXTRA_HINT = "install the extra: pip install -e '.[ray]' (or pip install 'ray[default]')"
_PASSED_ENV_PREFIXES = ("XMLSHRED_FAULT_",)
"""Test hooks the shards' mapper workers read from the environment (see workers/mapping_worker.py)."""


class RayEngineError(TerminalError):
    """--engine ray cannot run as configured; ``exit_code`` says how the command ends (2 usage, 1 error)."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def check_ray_settings(settings, spec) -> None:
    """Refuse what a sharded run cannot do (``spec``: the run's TargetSpec), before anything starts
    (RayEngineError, exit 2)."""
    if spec.dialect.name == "sqlite":
        raise RayEngineError(
            f"--engine ray needs a server target that many writers share (PostgreSQL or SQL Server), "
            f"not SQLite ({settings.target.url}); use --engine local for a SQLite target, or set [target] url "
            "to an odbc: URL")
    if settings.run.limit:
        raise RayEngineError("[run] limit (--limit) applies to one pipeline; with --engine ray bound the run "
                             "with --key-start/--key-end instead")
    if settings.run.dry_run:
        raise RayEngineError("--dry-run runs on one machine: use --engine local for it")


def import_ray():
    """The ray module; RayEngineError (exit 2) naming the extra when it is not installed."""
    try:
        import ray
    except ImportError as exc:
        raise RayEngineError(f"--engine ray needs the Ray package, which is not installed; {RAY_EXTRA_HINT}") from exc
    return ray


def run_on_ray(settings) -> int:
    """Run the migration sharded over Ray; returns the exit code (0, 1, 2, 3 or 130).

    Raises nothing for expected failures: each is logged as one line and
    turned into its exit code.
    """
    from xmlshred import supervisor

    try:
        target = supervisor.run_target(settings)
        check_ray_settings(settings, target)
        ray = import_ray()
    except RayEngineError as exc:
        logger.error("cannot start: {}", exc)
        return exc.exit_code
    except supervisor.ConfigurationError as exc:
        return supervisor.log_failure(exc)
    now = supervisor.run_clock(settings)
    if settings.run.now is None:  # every shard maps with the same clock
        settings = dataclasses.replace(settings, run=dataclasses.replace(settings.run, now=now))
    try:
        contract, compiled = supervisor.load_compiled(settings, now)
        source = supervisor.source_spec(settings, contract)
        total = supervisor.preflight(source, target, settings, compiled.schema)
        run_contract = supervisor.contract_run(settings, contract, compiled.schema)
        supervisor.check_reprocess(settings, target, compiled.schema, run_contract)  # shards reprocess by key range
    except (supervisor.ConfigurationError, supervisor.RunError) as exc:
        return supervisor.log_failure(exc)
    run_id = supervisor.new_run_id()
    if total == 0:
        logger.warning("nothing to do: source {} holds no records in range; nothing was created or written",
                       supervisor.masked_url(source.url))
        return ExitCode.OK
    try:
        _connect(ray, settings)
    except Exception as exc:  # ray raises ConnectionError, RuntimeError, ValueError for a bad address
        logger.error("cannot start: Ray cluster at address={!r} cannot be reached ({}: {}); start one with "
                     "`ray start --head` and set [engine] address (or --ray-address)",
                     settings.engine.address, type(exc).__name__, exc)
        return ExitCode.USAGE
    try:
        signals = _DriverSignals()
        try:
            lease = supervisor.take_lease(target, compiled.schema, run_id, signals, settings.run.wait_s)
        except (supervisor.TargetBusy, supervisor.RunError) as exc:
            return supervisor.log_failure(exc)
        outcome = "error"
        try:
            supervisor.ensure_tables(supervisor.target_opener(target, compiled.schema))
            supervisor.record_contract(target, compiled.schema, run_id, run_contract)
            shard_count = settings.engine.shards or SHARDS_PER_CPU * max(1, int(ray.cluster_resources().get("CPU", 1)))
            if source.keyed:
                shards = plan_shards(source, min(shard_count, total), settings.run.key_start,
                                     settings.run.key_end)
            else:  # a folder or glob: chunks of its sorted files (every node must see the same path)
                shards = file_chunks(total, shard_count)
            outcome, exit_code = _drive(ray, settings, run_id, total, shards, lease.leased, signals)
            return exit_code
        except (supervisor.RunError, ShardPlanError) as exc:
            logger.error("run stopped: {}", exc)
            return ExitCode.ERROR
        finally:
            lease.release(outcome)
    finally:
        ray.shutdown()


def _connect(ray, settings) -> None:
    import xmlshred

    package_root = str(Path(xmlshred.__file__).resolve().parent.parent)
    env = {name: value for name, value in os.environ.items() if name.startswith(_PASSED_ENV_PREFIXES)}
    # The shards import this xmlshred (a checkout or an install at the same path on every node).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH", "")]))
    address = settings.engine.address or None
    ray.init(address=address, runtime_env={"env_vars": env}, logging_level="WARNING",
             log_to_driver=True, configure_logging=True)


class _DriverSignals:
    """SIGINT/SIGTERM in the driver: first drains the shards, second cancels them; a lost lease fails the run."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Event()
        self.lost: list[str] = []

    def failed(self, actor: str, error) -> None:  # supervisor.take_lease's signals: a lost lease
        self.lost.append(f"{actor}: {error}")
        self.changed.set()

    def handle(self, signum, frame) -> None:
        self.count += 1
        if self.count == 1:
            logger.warning("{} received: draining every shard (send again to cancel them at once)",
                           signal.Signals(signum).name)
        else:
            logger.error("second signal: cancelling every shard; uncommitted records will be read again next run")
        self.changed.set()


def _drive(ray, settings, run_id: str, total: int, shards: list[Shard], leased, signals) -> tuple[str, int]:
    """Submit the shards, report progress, drain on a signal; returns (outcome, exit code)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from xmlshred import supervisor

    # The board lives on the driver's node: losing a worker node must not lose the run's view or stop flag.
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    board = ray.remote(ProgressBoard).options(num_cpus=0, scheduling_strategy=here, max_restarts=-1).remote()
    task = ray.remote(run_shard).options(num_cpus=1, max_retries=settings.engine.shard_retries,
                                          retry_exceptions=False)
    shard_settings = dataclasses.replace(settings, engine=dataclasses.replace(settings.engine, kind="local"))
    logger.bind(actor="driver").info(
        "run {} starting on Ray: {} shards, {} records, source={} target={} mappers per shard={}",
        run_id, len(shards), total, supervisor.masked_url(settings.source.url), supervisor.target_label(settings),
        settings.actors.mappers)
    refs = {task.remote(shard_settings, leased, shard, board): shard for shard in shards}
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, signals.handle)
    report = _Report(settings, run_id, total, len(shards))
    results: dict[int, dict] = {}
    pending = list(refs)
    stop_sent = cancelled = False
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=0.5)
            for ref in ready:
                shard = refs[ref]
                try:
                    results[shard.index] = ray.get(ref)
                except Exception as exc:  # retries exhausted, or cancelled: the shard's own error
                    results[shard.index] = _failed_shard(shard, exc)
                    if not signals.count:
                        logger.error("shard {} (keys {}) failed: {}", shard.index, _range(shard),
                                     type(exc).__name__)
            if signals.lost and not stop_sent:
                logger.error("the run lease was lost ({}); draining every shard", signals.lost[0])
            if (signals.count or signals.lost) and not stop_sent:
                stop_sent = True
                board.request_stop.remote()
            if signals.count >= 2 and not cancelled:
                cancelled = True
                for ref in pending:
                    ray.cancel(ref, force=True)
            report.maybe_progress(lambda: ray.get(board.progress.remote(), timeout=10))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    summary = report.finish(results, shards, interrupted=bool(signals.count), lost=bool(signals.lost))
    if signals.count:
        return "interrupted", ExitCode.SIGNAL
    if summary.outcome == "error":
        return "error", ExitCode.ERROR
    if summary.records_failed:
        return "finished", ExitCode.SOME_FAILED
    return "finished", ExitCode.OK


def _failed_shard(shard: Shard, exc: BaseException) -> dict:
    return {"shard": shard.index, "key_start": shard.key_start, "key_end": shard.key_end, "files": shard.files,
            "exit_code": ExitCode.ERROR, "error": type(exc).__name__, "summary": None}


def _range(shard: Shard) -> str:
    if shard.files is not None:
        return f"files {shard.files[0]}..{shard.files[1]}"
    low = "first" if shard.key_start is None else shard.key_start
    high = "last" if shard.key_end is None else shard.key_end
    return f"{low}..{high}"


class ProgressBoard:
    """A Ray actor: the shards' latest progress figures and the driver's stop flag."""

    def __init__(self) -> None:
        self._latest: dict[int, dict] = {}
        self._stop = False

    def report(self, shard: int, figures: dict) -> bool:
        """Store a shard's latest figures; returns True when the driver asks every shard to drain."""
        self._latest[shard] = figures
        return self._stop

    def request_stop(self) -> None:
        self._stop = True

    def progress(self) -> dict[int, dict]:
        return dict(self._latest)


def run_shard(settings, leased, shard: Shard, board) -> dict:
    """One shard as a Ray task: the pykka pipeline on ``shard``'s key range, under the driver's lease.

    Returns the shard's exit code, summary, host and pid. A configuration or
    run error is returned, not raised (Ray reruns only a shard whose process
    or node died: an error would recur).
    """
    from xmlshred import supervisor

    logger.remove()
    logger.add(sys.stderr, level="WARNING", format="{time:HH:mm:ss} | {level} | shard " + str(shard.index)
               + " | {message}")
    metrics = Path(tempfile.mkdtemp(prefix=f"xmlshred-shard{shard.index}-")) / "metrics.jsonl"
    settings = dataclasses.replace(
        settings,
        run=dataclasses.replace(settings.run, key_start=shard.key_start, key_end=shard.key_end, wait_s=0.0),
        log=dataclasses.replace(settings.log, metrics=str(metrics), progress="never",
                                report_every_s=min(settings.log.report_every_s, 1.0)),
    )
    stop = threading.Event()
    outcome: dict = {}

    def pipeline() -> None:
        try:
            result = supervisor.run_migration(settings, leased=leased, stop=stop, files=shard.files)
            outcome.update(exit_code=result.exit_code, summary=result.summary)
        except supervisor.ConfigurationError as exc:
            outcome.update(exit_code=ExitCode.USAGE, error=str(exc))
        except supervisor.RunError as exc:
            outcome.update(exit_code=ExitCode.ERROR, error=str(exc))
        except Exception as exc:  # reported to the driver as this shard's error
            outcome.update(exit_code=ExitCode.ERROR, error=f"{type(exc).__name__}: {exc}")

    worker = threading.Thread(target=pipeline, name=f"shard-{shard.index}", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.5)
        figures = _last_progress(metrics)
        figures["pid"], figures["host"] = os.getpid(), socket.gethostname()
        try:
            if _ray_get(board.report.remote(shard.index, figures)):
                stop.set()
        except Exception:  # a late report is harmless; Ray ends the task if the driver is gone
            pass
    if outcome.get("error"):
        logger.error("{}", outcome["error"])
    return {"shard": shard.index, "key_start": shard.key_start, "key_end": shard.key_end, "files": shard.files,
            "host": socket.gethostname(), "pid": os.getpid(), **outcome}


def _ray_get(ref):
    import ray

    return ray.get(ref, timeout=30)


def _last_progress(metrics: Path) -> dict:
    """The shard pipeline's latest progress figures from its own metrics.jsonl ({} before the first)."""
    try:
        lines = metrics.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line being written
        if record.get("event") in ("progress", "summary"):
            return {key: record.get(key, 0) for key in
                    ("records_ok", "records_failed", "skipped", "in_flight", "rows", "flushes", "flush_p95_ms")}
    return {}


class _Report:
    """The driver's progress lines, metrics.jsonl and final summary, as a local run writes them."""

    def __init__(self, settings, run_id: str, total: int, shard_count: int) -> None:
        from xmlshred.reporting.target_labels import target_label

        self.run_id = run_id
        self.total = total
        self.shard_count = shard_count
        self.every = settings.log.report_every_s
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC).replace(tzinfo=None)
        self.last = self.started
        self.tags = {"target": target_label(settings.target), "dry_run": False, "engine": "ray"}
        self.path = Path(settings.log.metrics) if settings.log.metrics else None
        self.mappers = settings.actors.mappers
        self.log = logger.bind(actor="driver")

    def _write(self, record: dict) -> None:
        """One line of metrics.jsonl, through ``MetricsWriter`` (which ends a torn last line first)."""
        if self.path is not None:
            from xmlshred.reporting.metrics import MetricsWriter

            with MetricsWriter(self.path) as writer:
                writer.write({**record, **self.tags})

    def maybe_progress(self, read_board) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        try:
            board = read_board()
        except Exception:
            return  # best effort: the next interval tries again
        ok = sum(int(f.get("records_ok") or 0) for f in board.values())
        failed = sum(int(f.get("records_failed") or 0) for f in board.values())
        skipped = sum(int(f.get("skipped") or 0) for f in board.values())
        in_flight = sum(int(f.get("in_flight") or 0) for f in board.values())
        seconds = now - self.started
        rate = ok / seconds * 60 if seconds > 0 else 0.0
        p95 = max((f.get("flush_p95_ms") or 0 for f in board.values()), default=0)
        from xmlshred.reporting.stats import format_duration

        self.log.info("progress ok={:,} failed={:,} skipped={:,} | {:,.0f}/min | in flight {:,} | flush p95 {} | "
                      "shards {}/{} | {}", ok, failed, skipped, rate, in_flight,
                      f"{p95:,.0f} ms" if p95 else "-", len(board), self.shard_count, format_duration(seconds))
        self._write({"event": "progress", "run_id": self.run_id,
                     "ts": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds"),
                     "seconds": round(seconds, 3), "records_ok": ok, "records_failed": failed,
                     "records_per_minute": round(rate, 1), "in_flight": in_flight, "skipped": skipped,
                     "shards": {str(k): v for k, v in sorted(board.items())}})

    def finish(self, results: dict[int, dict], shards: list[Shard], interrupted: bool, lost: bool) -> RunSummary:
        from xmlshred.reporting.stats import summary_line
        from xmlshred.vocab.quality import totals_by_kind

        seconds = time.monotonic() - self.started
        summaries = {index: result.get("summary") for index, result in results.items()}
        done = [summaries[shard.index] for shard in shards if summaries.get(shard.index) is not None]
        per_shard = [_shard_row(shard, results.get(shard.index, {}), summaries.get(shard.index))
                     for shard in shards]
        by_stage: Counter[str] = Counter()
        quality: Counter[str] = Counter()
        for summary in done:
            by_stage.update(summary.failures_by_stage)
            quality.update(summary.quality)
        # A shard that did not finish (error, or drained without the driver asking) leaves records: an error.
        errors = any(result.get("exit_code") in (ExitCode.ERROR, ExitCode.USAGE, ExitCode.SIGNAL)
                     or (summaries[index] is not None and summaries[index].outcome != "finished")
                     for index, result in results.items())
        errors = errors or len(results) < len(shards)
        outcome = "interrupted" if interrupted else ("error" if lost or errors else "finished")
        totals = {name: sum(getattr(summary, name) for summary in done) for name in _SUMMED}
        summary = RunSummary(
            run_id=self.run_id, outcome=outcome,
            started_at=self.started_at.isoformat(timespec="milliseconds"),
            finished_at=datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds"),
            seconds=round(seconds, 3), **totals,
            records_per_minute=round(totals["records_ok"] / seconds * 60, 1) if seconds > 0 else 0.0,
            failures_by_stage=dict(sorted(by_stage.items())), mappers=self.mappers,
            quality=dict(sorted(quality.items())), quality_by_kind=totals_by_kind(dict(quality)),
            shards=per_shard, **self.tags,
        )
        self._write(summary.as_dict())
        for shard, row in zip(shards, per_shard, strict=True):
            self.log.info("shard {} keys {}: {} ok={:,} failed={:,}{} skipped={:,} on {} pid {}{}", row["shard"],
                          _range(shard), row["outcome"] or "no summary",
                          row["records_ok"], row["records_failed"],
                          f" ({row['resumed']:,} of them by its killed attempt)" if row["resumed"] else "",
                          row["skipped"], row["host"], row["pid"],
                          f" error: {row['error']}" if row["error"] else "")
        self.log.info(summary_line(summary))
        return summary


_SUMMED = ("records_ok", "records_failed", "skipped", "resumed", "rows", "flushes", "workers_replaced", "rejects",
           "skipped_rejects")
"""The run's figures that are the sums of its shards' (RunSummary fields)."""


def _shard_row(shard: Shard, result: dict, summary: RunSummary | None) -> dict:
    """A shard's object in the run's summary: where it ran, how it ended, its counts."""
    row = {"shard": shard.index, "key_start": shard.key_start, "key_end": shard.key_end, "files": shard.files,
           "host": result.get("host"), "pid": result.get("pid"),
           "exit_code": result.get("exit_code"), "error": result.get("error")}
    if summary is None:
        return {**row, "outcome": None, "seconds": None, "records_ok": 0, "records_failed": 0, "skipped": 0,
                "resumed": 0, "rows": 0, "records_per_minute": None}
    return {**row, "outcome": summary.outcome, "seconds": summary.seconds, "records_ok": summary.records_ok,
            "records_failed": summary.records_failed, "skipped": summary.skipped, "resumed": summary.resumed,
            "rows": summary.rows, "records_per_minute": summary.records_per_minute}

