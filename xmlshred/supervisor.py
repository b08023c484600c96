"""Starts, watches and stops the actors of one migration run. No XML, no SQL.

The engine API: an engine (``run_migration`` here, ``engine.ray_engine``) is
built from these public functions: ``run_clock``, ``new_run_id``,
``load_compiled``, ``source_spec``, ``preflight`` (check both ends, count the
source), ``contract_run`` / ``check_reprocess``, ``take_lease``,
``target_opener`` / ``ensure_tables`` (create or upgrade the tables),
``record_contract``, ``masked_url`` and ``target_label``; failures are
``ConfigurationError`` (exit 2), its subclass ``TargetBusy`` and ``RunError``
(exit 1); exit codes are ``vocab.exit_codes.ExitCode``.

Start order: reporter, InsertActor, mappers, reader (each pinged before the
next starts); stop order is the reverse, in a ``finally``. The first
SIGINT/SIGTERM stops reading and drains (exit 130); a second one aborts at
once (nothing uncommitted is marked done, so nothing is lost).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pykka
from loguru import logger

from xmlshred.actors.inserter import InsertActor
from xmlshred.actors.lifecycle import RunSignals
from xmlshred.actors.mapper import MapperActor
from xmlshred.actors.reader import ReaderActor, ReadLimits
from xmlshred.actors.reporter import ReporterActor
from xmlshred.contract import (
    ContractError,
    LineageError,
    MapOptions,
    compile_contract,
    fingerprint_file,
    load_contract,
    record_lineage,
)
from xmlshred.db.errors import TargetError
from xmlshred.db.spec import TargetSpec, target_spec
from xmlshred.loading.reprocess import Reprocess, ReprocessError, parse_reprocess
from xmlshred.loading.retry import RetryPolicy
from xmlshred.messages import Ping, StartReading, StopReading, Summarize
from xmlshred.reporting.summary import RunSummary
from xmlshred.sources import SourceSpec, open_source
from xmlshred.targets import open_target
from xmlshred.targets.lease import LeasedRun, LeaseHeld, RunLease
from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.exit_codes import ExitCode
from xmlshred.vocab.lineage import RecordLineage
from xmlshred.workers.mapping_worker import WorkerConfig, WorkerProcess, fork_is_safe

PING_TIMEOUT_S = 120


class ConfigurationError(TerminalError):
    """The run cannot start: a bad contract or setting (exit 2)."""


class RunError(TerminalError):
    """The run stopped on an error (exit 1); the message says what to fix."""


class TargetBusy(ConfigurationError):
    """Another run holds the target's lease (exit 2); the message names it (run, since, host, pid)."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended."""

    exit_code: ExitCode
    run_id: str
    summary: RunSummary | None


def log_failure(exc: ConfigurationError | RunError) -> ExitCode:
    """Log why a run ended before its pipeline could (one ERROR line) and give its exit code.

    A ConfigurationError (TargetBusy too) is ``cannot start: …``, exit 2; a
    RunError is ``run stopped: …``, exit 1. Both engines and ``cli`` end this way;
    the line names the caller's module, as if the caller had logged it.
    """
    log = logger.opt(depth=1)
    if isinstance(exc, ConfigurationError):
        log.error("cannot start: {}", exc)
        return ExitCode.USAGE
    log.error("run stopped: {}", exc)
    return ExitCode.ERROR


def new_run_id() -> str:
    """A new run id: the start time in UTC and six hex digits (``20260101T120000-1a2b3c``)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def run_clock(settings) -> datetime:
    """The run's clock: ``[run] now`` when pinned, else the start time in UTC (naive), in whole
    milliseconds: SQL Server's own GETUTCDATE() is no finer, and a legacy DATETIME column refuses a
    value with more than three fraction digits."""
    if settings.run.now is not None:
        return settings.run.now
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def load_compiled(settings, now: datetime):
    """The contract (its warnings logged) and its compiled form; ConfigurationError when it is bad."""
    contract = load_checked_contract(settings)
    return contract, compile_for(settings, contract, now)


def load_checked_contract(settings):
    """The run's contract, its warnings logged; ConfigurationError when it is bad."""
    try:
        contract = load_contract(settings.contract.path, strict=settings.contract.strict)
    except ContractError as exc:
        raise ConfigurationError(str(exc)) from exc
    first_instance = set(contract.first_instance_warnings)
    for warning in contract.warnings:
        if warning not in first_instance:
            logger.warning("contract: {}", warning)
    if first_instance:
        from xmlshred.vocab.program import command

        logger.warning("contract: {} mapping(s) of per-record tables lie inside a repeating element "
                       "without a selector and read its first valid instance; "
                       "`{}` lists them", len(first_instance),
                       command("validate-contract", str(settings.contract.path)))
    return contract


def map_options(settings, now: datetime) -> MapOptions:
    """The run's one ``MapOptions`` (the clock, ``[contract]`` max_document_bytes and
    strict_wellformed): this process and the mapper workers compile with it."""
    return MapOptions(now=now, max_document_bytes=settings.contract.max_document_bytes,
                      strict_wellformed=settings.contract.strict_wellformed)


def compile_for(settings, contract, now: datetime):
    """``contract`` compiled with the run's options."""
    return compile_contract(contract, map_options(settings, now))


def run_target(settings) -> TargetSpec:
    """The run's ``TargetSpec``, built once and passed down; ConfigurationError ("[target]: …",
    exit 2) for a target setting that names no usable database."""
    try:
        return target_spec(settings)
    except TargetError as exc:
        raise ConfigurationError(f"[target]: {exc}") from exc


def retry_policy(settings) -> RetryPolicy:
    """What the actors get of ``[target]``: how to retry through transient errors, never credentials."""
    target = settings.target
    return RetryPolicy(target.connect_retries, target.retry_backoff_s, target.retry_backoff_max_s)


def source_spec(settings, contract) -> SourceSpec:
    return SourceSpec(
        url=settings.source.url,
        table=settings.source.table or contract.source_table,
        column=settings.source.column or contract.source_column,
        key_column=settings.source.key_column,
        odbc=settings.source.odbc(),
    )


def target_opener(spec: TargetSpec, schema, dry_run: bool = False):
    """A function opening a connection to the run's target (read-only for a dry run)."""
    if dry_run:
        from xmlshred.targets.readonly import open_readonly

        return lambda: open_readonly(spec, schema)  # a dry run creates and writes nothing
    return lambda: open_target(spec, schema)


def init_db(settings) -> list[str]:
    """Create the contract's tables, processing_log and xmlshred_runs in the target; returns the table names."""
    _, compiled = load_compiled(settings, run_clock(settings))
    ensure_tables(target_opener(run_target(settings), compiled.schema, settings.run.dry_run))
    return [table.name for table in compiled.schema.tables] + ["processing_log", "xmlshred_runs"]


class _SignalState:
    def __init__(self, signals: RunSignals) -> None:
        self.count = 0
        self._signals = signals

    def handle(self, signum, frame) -> None:
        self.count += 1
        if self.count >= 2:
            logger.error("second signal: aborting now; uncommitted records will be read again next run")
            # Worker processes see their pipe close and exit; nothing uncommitted is marked done.
            os._exit(ExitCode.SIGNAL)
        logger.warning("{} received: stopping after the records in flight (send again to abort)",
                       signal.Signals(signum).name)
        self._signals.changed.set()


@dataclass
class Migration:
    """A started run, between ``start_migration`` and ``stop_migration``."""

    settings: object
    run_id: str
    schema: object
    log: object
    signals: RunSignals = field(default_factory=RunSignals)
    target: TargetSpec | None = None
    """The run's TargetSpec (``run_target``), built once."""
    idle: bool = False
    """The source holds nothing to do: no actor was started, no lease taken."""
    lease: RunLease | None = None
    state: _SignalState | None = None
    previous_handlers: dict = field(default_factory=dict)
    started: list = field(default_factory=list)
    """Insert actor, mappers, reader, in start order (stopped in reverse)."""
    reporter: object = None
    reader: object = None
    dry_log: object = None
    stop: threading.Event | None = None
    """Set by a driver draining its shards: handled like a first SIGINT."""
    contract_run: ContractRun | None = None
    """The contract's fingerprint, and what a ``--reprocess`` reloads."""


@dataclass(frozen=True, slots=True)
class ContractRun:
    """What a run knows of its contract beyond the compiled form."""

    fingerprint: str
    """``contract.fingerprint_file`` of the contract: written on every processing_log row."""
    reprocess: Reprocess | None = None
    """``[run] reprocess`` (``--reprocess``), parsed; None for a plain run."""
    lineage: RecordLineage | None = None
    """How each table's rows of a record are reached (a reprocess that replaces rows)."""


def contract_run(settings, contract, schema) -> ContractRun:
    """The run's ContractRun; ConfigurationError for an unusable keys file or contract lineage."""
    try:
        fingerprint = fingerprint_file(settings.contract.path)
        reprocess = parse_reprocess(settings.run.reprocess, fingerprint)
        lineage = record_lineage(contract, schema) if reprocess is not None and reprocess.replaces_rows else None
    except (ReprocessError, LineageError) as exc:
        raise ConfigurationError(f"--reprocess: {exc}") from exc
    return ContractRun(fingerprint, reprocess, lineage)


def check_reprocess(settings, spec: TargetSpec, schema, run_contract: ContractRun) -> None:
    """Before a reprocess takes the lease: refuse (ConfigurationError) when the records' rows are
    held by tables this contract does not write; in a dry run, say how many records it would
    reload. Read-only."""
    reprocess = run_contract.reprocess
    if reprocess is None:
        return
    from xmlshred.targets import fingerprints
    from xmlshred.targets.readonly import open_readonly

    try:
        target = open_readonly(spec, schema)
    except TargetError as exc:
        raise RunError(f"nothing was started: {masked_url(str(exc))}") from exc
    try:
        reasons = fingerprints.foreign_holders(target, schema, run_contract.fingerprint)
        if reasons:
            raise ConfigurationError("--reprocess refused: " + "; ".join(reasons)
                                     + ". Load into a fresh target, or give the tables their earlier names")
        count = fingerprints.reprocess_count(target, schema, reprocess.mode, reprocess.fingerprint, reprocess.keys,
                                             settings.run.key_start, settings.run.key_end)
    except TargetError as exc:
        raise RunError(f"nothing was started: the target cannot be read: {masked_url(str(exc))}") from exc
    finally:
        target.close()
    what = f"keys:{reprocess.keys_file}" if reprocess.mode == "keys" else reprocess.mode
    dry = settings.run.dry_run
    logger.info("{}reprocess {}: {} records already loaded {} reloaded (contract {}){}",
                "DRY RUN: " if dry else "", what, count, "would be" if dry else "will be",
                run_contract.fingerprint, "; nothing is written" if dry else "")


def record_contract(spec: TargetSpec, schema, run_id: str, run_contract: ContractRun) -> None:
    """The run's fingerprint and tables on its xmlshred_runs row (it holds the lease; tables exist)."""
    from xmlshred.targets import fingerprints

    try:
        target = open_target(spec, schema)
    except TargetError as exc:
        raise RunError(f"target cannot be reached: {exc}") from exc
    try:
        fingerprints.record_run_contract(target, schema, run_id, run_contract.fingerprint,
                                         [table.name for table in schema.tables])
    except TargetError as exc:
        raise RunError(f"the run's contract fingerprint cannot be recorded: {exc}") from exc
    finally:
        target.close()


GIL_SWITCH_INTERVAL_S = 0.0005
"""How long a thread of the run may hold the GIL while another waits (Python's default is 5 ms)."""


def run_migration(settings, leased: LeasedRun | None = None,
                  stop: threading.Event | None = None,
                  files: tuple[int, int] | None = None) -> RunResult:
    """Run one migration: ``start_migration``, ``watch_migration``, ``stop_migration``.

    The run takes the target's lease before it reads anything and gives it
    back when it ends (see targets.lease). ``leased``: the caller (a driver
    of a scaled-out run) already holds the lease for that run; this part of
    it works under it, with the driver's run id, and takes no lease itself.
    A dry run writes nothing and takes no lease. ``stop``: when set (by a
    driver draining its shards), the run stops reading and drains as on a
    first SIGINT, and ends ``interrupted`` (exit 130). ``files``: a file
    source's chunk (first, last position of its sorted files) for a shard.

    Raises ConfigurationError (bad contract/settings) or its subclass
    TargetBusy (another run holds the target, still after ``[run] wait_s``)
    before anything starts, and RunError when the lease cannot be taken
    for another reason (the target is unreachable) or the run stops on an error.
    """
    switch_interval = sys.getswitchinterval()
    # The run's threads (actors) hand the GIL over at blocking calls; a mapper actor waiting
    # for it at 5 ms turns leaves its worker process idle while the inserter computes.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    try:
        run = start_migration(settings, leased, files)
        run.stop = stop
        if run.idle:
            return RunResult(ExitCode.OK, run.run_id, None)
        try:
            with _as_run_error():
                outcome, exit_code = watch_migration(run)
        except BaseException:
            stop_migration(run, "error")
            raise
        return stop_migration(run, outcome, exit_code)
    finally:
        sys.setswitchinterval(switch_interval)


def start_migration(settings, leased: LeasedRun | None = None,
                    files: tuple[int, int] | None = None) -> Migration:
    """Check both ends, take the lease, start and ping every actor, and start reading.

    Returns an idle Migration (nothing started) when the source holds no
    records. Raises as ``run_migration`` says; whatever was started by then is
    stopped again (and the lease given back) before the error leaves.
    """
    now = run_clock(settings)
    contract = load_checked_contract(settings)
    spec = source_spec(settings, contract)
    if files is not None:
        spec = dataclasses.replace(spec, files=files)
    target = run_target(settings)
    config = _worker_config(settings, spec, target, now)
    # The mapper workers start now, each mapper actor takes its own over later. Forked from this
    # process once it has compiled the contract (while no other thread runs), they start with it
    # compiled; spawned (a test runner's or a Ray worker's threads), they import and compile it
    # themselves while this process compiles, counts the source and takes the lease.
    forking = fork_is_safe()
    compiled = compile_for(settings, contract, now) if forking else None
    workers = [
        WorkerProcess(config, name=f"xmlshred-mapper-{index}", wait=False, compiled=compiled)
        for index in range(settings.actors.mappers)]
    try:
        if compiled is None:
            compiled = compile_for(settings, contract, now)
        run = _start_run(settings, leased, compiled, spec, target, config, workers,
                         contract_run(settings, contract, compiled.schema))
    except BaseException:
        _stop_workers(workers)
        raise
    _stop_workers(workers)  # an idle run's: a started run's mapper actors took them all over
    return run


def _stop_workers(workers: list[WorkerProcess]) -> None:
    """Stop the launched workers no mapper actor took over."""
    while workers:
        workers.pop().stop()


def _worker_config(settings, spec: SourceSpec, target: TargetSpec, now: datetime) -> WorkerConfig:
    """What the mapper workers need: the run's MapOptions, source, target dialect, quality rule."""
    return WorkerConfig(str(settings.contract.path), map_options(settings, now), source=spec,
                        prefix_bytes=settings.source.prefix_bytes, target_dialect=target.dialect.name,
                        quality_fail=settings.quality.fail_kinds)


def _start_run(settings, leased, compiled, spec: SourceSpec, target: TargetSpec, config, workers: list,
               run_contract: ContractRun | None = None) -> Migration:
    """``start_migration`` once the workers are launched: each one a mapper actor takes over
    leaves ``workers``."""
    run_contract = run_contract or ContractRun(fingerprint_file(settings.contract.path))
    run_id = leased.run_id if leased else new_run_id()
    dry_run = settings.run.dry_run
    log = logger.bind(actor="supervisor")
    run = Migration(settings, run_id, compiled.schema, log, target=target)
    run.contract_run = run_contract
    # The one count of the source this run makes: the reporter's total (progress, ETA).
    total = preflight(spec, target, settings, compiled.schema)
    if not leased:  # a shard's driver checked already
        check_reprocess(settings, target, compiled.schema, run_contract)
    if total == 0:
        from xmlshred.sources.check import describe_range

        where = describe_range(settings.run.key_start, settings.run.key_end)
        logger.warning(f"nothing to do: source {masked_url(spec.url)} holds no records{where}; "
                       "nothing was created or written")
        run.idle = True
        return run
    open_target_fn = target_opener(target, compiled.schema, dry_run)
    signals = run.signals
    run.lease = None if leased or dry_run else take_lease(target, compiled.schema, run_id, signals,
                                                          settings.run.wait_s)
    run.state = _SignalState(signals)
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            run.previous_handlers[signum] = signal.signal(signum, run.state.handle)

    log.info("{}run {} starting: source={} target={} mappers={} max_in_flight={}",
             "DRY RUN (nothing will be created or written) " if dry_run else "",
             run_id, masked_url(spec.url), target_label(settings), settings.actors.mappers,
             settings.actors.max_in_flight)
    try:
        with _as_run_error():
            _start_actors(run, settings, spec, compiled, config, workers, total, open_target_fn)
    except BaseException:
        stop_migration(run, "error")
        raise
    return run


def _start_actors(run: Migration, settings, spec, compiled, config: WorkerConfig, workers: list,
                  total: int, open_target_fn) -> None:
    """Reporter, InsertActor, mappers, reader, each pinged before the next starts; then StartReading."""
    dry_run, signals = settings.run.dry_run, run.signals
    run_contract = run.contract_run or ContractRun("")
    if not dry_run:
        ensure_tables(open_target_fn)
        if run.lease is not None:
            record_contract(run.target, compiled.schema, run.run_id, run_contract)
    else:
        from xmlshred.reporting.dryrun import DryRunLog, dry_run_path

        run.dry_log = DryRunLog(dry_run_path(settings.log.metrics or None, run.run_id))
    run.reporter = ReporterActor.start(
        run.run_id, _path_or_none(settings.log.metrics), settings.log.report_every_s,
        settings.actors.mappers, total, settings.log.progress,
        datetime.now(UTC).replace(tzinfo=None),
        tags={"target": target_label(settings), "dry_run": dry_run}, signals=signals,
    )
    _ping("reporter", run.reporter)
    inserter = InsertActor.start(
        open_target_fn, compiled.schema, run.run_id, settings.flush, retry_policy(settings), run.reporter,
        signals, dry_run=dry_run, check_done=not spec.keyed,
        retry_failed=settings.run.retry_failed or _reprocesses(run_contract, "failed"), dry_run_log=run.dry_log,
        contract_hash=run_contract.fingerprint, reprocess=run_contract.reprocess, lineage=run_contract.lineage,
    )
    run.started.append(inserter)
    _ping("insert", inserter)
    mappers = []
    for index in range(settings.actors.mappers):
        worker = workers.pop(0) if workers else None
        mapper = MapperActor.start(index, config, inserter, run.reporter, signals, worker=worker)
        run.started.append(mapper)
        mappers.append(mapper)
    for index, mapper in enumerate(mappers):
        _ping(f"mapper-{index}", mapper)
    limits = ReadLimits(
        max_in_flight=settings.actors.max_in_flight, batch_size=settings.actors.batch_size,
        mapper_queue_batches=settings.actors.mapper_queue_batches,
        page_size=settings.source.page_size, limit=settings.run.limit,
        key_start=settings.run.key_start, key_end=settings.run.key_end,
        retry_failed=settings.run.retry_failed or _reprocesses(run_contract, "failed"),
        reprocess=run_contract.reprocess,
    )
    run.reader = ReaderActor.start(lambda: open_source(spec), open_target_fn, mappers, inserter,
                                   run.reporter, signals, limits, retry=retry_policy(settings),
                                   run_id=run.run_id)
    run.started.append(run.reader)
    _ping("reader", run.reader)
    run.reader.tell(StartReading())


def _reprocesses(run_contract: ContractRun, mode: str) -> bool:
    return run_contract.reprocess is not None and run_contract.reprocess.mode == mode


@contextmanager
def _as_run_error():
    """A bad setting found while actors run, or an actor gone, stops the run as an error (exit 1)."""
    try:
        yield
    except RunError:
        raise
    except (ConfigurationError, pykka.ActorDeadError) as exc:
        raise RunError(str(exc)) from exc


def watch_migration(run: Migration) -> tuple[str, int]:
    """Wait until the run ends; returns (outcome, exit code). A failed actor: RunError.

    The first signal tells the reader to stop reading (the records in flight
    drain); the run then ends as ``interrupted`` with exit code 130.
    """
    stop_sent = False
    signals, state, reader, log, stop = run.signals, run.state, run.reader, run.log, run.stop
    while True:
        signals.changed.wait(timeout=0.5)
        signals.changed.clear()
        if stop is not None and stop.is_set() and not state.count:
            state.count = 1  # a driver's drain request counts as the first signal
        if signals.failures:
            failure = signals.failures[0]
            log.error("{} failed: {}", failure.actor, failure.error)
            try:
                reader.tell(StopReading())
            except pykka.ActorDeadError:
                pass
            raise RunError(f"{failure.actor} failed: {failure.error}")
        if state.count and not stop_sent:
            stop_sent = True
            reader.tell(StopReading())
        if signals.is_finished:
            return ("interrupted", ExitCode.SIGNAL) if state.count else ("finished", ExitCode.OK)


def stop_migration(run: Migration, outcome: str, exit_code: int = ExitCode.ERROR) -> RunResult:
    """Stop the actors (reverse start order), write the summary, give back the signals and the lease.

    ``outcome``: ``finished``, ``interrupted`` or ``error`` (then no closing
    notes are logged: the error says what happened). A finished run with
    failed records ends with ExitCode.SOME_FAILED.
    """
    settings, log = run.settings, run.log
    summary = None
    try:
        _settle_replies(run.started, log)
        for actor in reversed(run.started):
            try:
                actor.stop(timeout=60)
            except pykka.Timeout:
                log.error("{} did not stop within 60 s", actor)
            except pykka.ActorDeadError:
                pass
        if run.reporter is not None:
            try:
                cpu = tuple(sorted(run.signals.cpu_s.items()))
                summary = run.reporter.ask(Summarize(outcome, cpu), timeout=30)
            except Exception:  # the summary is best effort; the run's fate is already decided
                log.exception("the reporter could not write the summary")
            try:
                run.reporter.stop(timeout=30)
            except pykka.ActorDeadError:
                pass
        if run.dry_log is not None:
            run.dry_log.close()
            log.info("DRY RUN: {} records would fail; their keys, stages and reasons are in {} "
                     "({})", run.dry_log.count, run.dry_log.path, report_command(settings, run.run_id))
    finally:
        for signum, handler in run.previous_handlers.items():
            signal.signal(signum, handler)
        if run.lease is not None:
            run.lease.release(outcome)
        _tidy_sqlite_files(settings, run.target)
    if outcome != "error" and summary is not None:
        from xmlshred.reporting.closing import closing_notes

        for note in closing_notes(summary, settings, run.target, run.schema, run.run_id):
            log.warning(note)
    if exit_code == ExitCode.OK and summary is not None and summary.records_failed:
        exit_code = ExitCode.SOME_FAILED
    return RunResult(exit_code, run.run_id, summary)


def report_command(settings, run_id: str) -> str:
    """The ``report --run`` command that shows this run, as the user can run it where they are.

    It names ``--config`` when the config file is not ``./config.toml``, and
    ``--target`` / ``--metrics`` when this run's differ from what that config
    (with the same environment) gives: a dry run pointed elsewhere by a flag
    is then still found.
    """
    from xmlshred.settings import load_settings
    from xmlshred.vocab.program import command

    words = ["report", "--run", run_id]
    config = settings.config_path
    if config is not None and Path(config).resolve() != (Path.cwd() / "config.toml").resolve():
        words += ["--config", str(config)]
    try:
        configured = load_settings(config, {}, os.environ)
        same_target = target_label(configured) == target_label(settings)
        same_metrics = _path_or_none(configured.log.metrics) == _path_or_none(settings.log.metrics)
    except Exception:  # the config cannot say: name everything
        same_target = same_metrics = False
    if not same_target:
        words += ["--target", target_spec(settings).url]
    if not same_metrics and settings.log.metrics:
        words += ["--metrics", str(Path(settings.log.metrics).resolve())]
    return command(*words)


def _tidy_sqlite_files(settings, target: TargetSpec | None) -> None:
    """No empty -wal/-shm files beside the SQLite source and target once the run's connections are closed."""
    from xmlshred.db.sqlite import tidy_wal
    from xmlshred.db.urls import UrlError, locate

    paths = []
    try:
        kind, where = locate(settings.source.url)
        if kind == "sqlite":
            paths.append(where)
    except UrlError:
        pass
    if target is not None and target.path is not None:
        paths.append(target.path)
    for path in paths:
        tidy_wal(path)


SETTLE_TIMEOUT_S = 30
"""How long a stop waits for one actor to answer the messages it already holds."""


def _settle_replies(started: list, log) -> None:
    """Let every actor answer what it holds before any of them stops (Mopidy's habit).

    A Ping queues behind an actor's pending messages, so once each actor (in
    start order: the inserter, the mappers, the reader) has answered one, the
    replies its work sends (a mapper's BatchMapped to the reader) found their
    receiver still running. The reader has been told to stop reading, so no
    new work appears. An actor that failed (dead) or does not answer in
    ``SETTLE_TIMEOUT_S`` is passed over: the stop goes on.
    """
    for actor in started:
        try:
            actor.ask(Ping(), timeout=SETTLE_TIMEOUT_S)
        except pykka.Timeout:
            log.warning("{} did not answer within {} s; stopping it anyway", actor, SETTLE_TIMEOUT_S)
        except Exception as exc:  # dead, or its start error: the stop goes on
            log.debug("{} not settled before the stop: {}", actor, type(exc).__name__)


def take_lease(spec: TargetSpec, schema, run_id: str, signals, wait_s: float) -> RunLease:
    """The target's run lease for ``run_id``; a lost lease calls ``signals.failed("lease", error)``
    and so fails the run like a dead actor. TargetBusy when another run holds it (still after
    ``wait_s``: ``[run] wait_s``), RunError when it cannot be taken for another reason."""
    try:
        return RunLease.acquire(spec, schema, run_id, wait_s=wait_s,
                                on_lost=lambda lost: signals.failed("lease", lost))
    except LeaseHeld as exc:
        raise TargetBusy(str(exc)) from exc
    except TargetError as exc:
        raise RunError(f"the target's run lease cannot be taken: {exc}") from exc


def ensure_tables(open_target_fn) -> None:
    """Create missing target tables and upgrade the engine tables (CREATE … IF NOT EXISTS), so a
    fresh target just works; RunError when the target cannot be reached or refuses."""
    from xmlshred.db.errors import TargetError

    try:
        target = open_target_fn()
    except TargetError as exc:
        raise RunError(f"target cannot be reached: {exc}") from exc
    try:
        target.create_tables(target.schema)
    except TargetError as exc:
        raise RunError(f"target tables cannot be created: {exc}") from exc
    finally:
        target.close()


def _ping(name: str, actor) -> None:
    try:
        actor.ask(Ping(), timeout=PING_TIMEOUT_S)
    except pykka.Timeout as exc:
        raise RunError(f"{name} did not start within {PING_TIMEOUT_S} s") from exc
    except RunError:
        raise
    except Exception as exc:
        raise RunError(f"{name} could not start: {exc}") from exc


def preflight(spec: SourceSpec, checked_target: TargetSpec, settings, schema) -> int:
    """Check both ends before anything is created or read; returns the source's record count.

    A source that does not exist or matches nothing: ConfigurationError
    (exit 2). A source that cannot be read, or a target that cannot be
    reached or written (a rolled-back write probe): RunError (exit 1).
    """
    from xmlshred.db.errors import TargetError
    from xmlshred.sources import SourceError, SourceMissing
    from xmlshred.sources.check import count_source
    from xmlshred.targets.probe import check_target

    try:
        total = count_source(spec, settings.run.key_start, settings.run.key_end)
    except SourceMissing as exc:
        raise ConfigurationError(str(exc)) from exc
    except (SourceError, OSError) as exc:
        raise RunError(f"source cannot be read: {exc}") from exc
    try:
        check_target(checked_target, schema, dry_run=settings.run.dry_run)
    except TargetError as exc:
        raise RunError(f"nothing was started: {masked_url(str(exc))}") from exc
    if settings.run.dry_run and checked_target.dialect.name == "mssql":
        _warn_express_cap(settings, spec, checked_target, total)
    return total


def _warn_express_cap(settings, spec: SourceSpec, target, total: int) -> None:
    """A dry run into SQL Server: says how much data the run would add (estimated: ``db.capacity``)
    and WARNs when an Express edition's 10 GB cap would be passed. Never stops the dry run; what
    cannot be asked is said at DEBUG."""
    from xmlshred.db import capacity
    from xmlshred.db.odbc import connect_odbc

    log = logger.bind(actor="supervisor")
    try:
        connection = connect_odbc(target.connection_string, target.login_timeout_s, autocommit=True)
        try:
            edition, version = connection.execute(capacity.EDITION_QUERY).fetchone()
            try:
                current = int(connection.execute(capacity.DATA_SIZE_QUERY).fetchone()[0] or 0)
            except Exception:
                current = None  # e.g. Babelfish has no sys.database_files
        finally:
            connection.close()
        _, compiled = load_compiled(settings, run_clock(settings))
        source = open_source(spec)
        source.open()
        try:
            items = source.page(None, capacity.SAMPLE_RECORDS, settings.run.key_start, settings.run.key_end)
            records = [compiled.map_document(document.document, document.item.key)
                       for document in source.fetch(list(items))]
        finally:
            source.close()
    except Exception as exc:
        log.debug("no size estimate for the SQL Server target: {}", type(exc).__name__)
        return
    tables = {table.name: table for table in compiled.schema.tables}
    added, sampled = capacity.estimate_bytes(tables, records, total)
    express = capacity.is_express(edition, version)
    held = "an unknown amount" if current is None else capacity.gigabytes(current)
    message = (f"target is SQL Server {edition or '(edition unknown)'}: this run would add about "
               f"{capacity.gigabytes(added)} of data (estimated: {sampled:,} sampled records mapped, their "
               f"rows' stored sizes averaged and scaled to {total:,} records; indexes, page fill and LOB "
               f"pages not counted) to the {held} the database holds")
    if express and (current or 0) + added > capacity.EXPRESS_CAP_BYTES:
        log.warning("{}; SQL Server Express caps a database at 10 GB, which this would pass: use another "
                    "edition, or split the source over databases (--key-start/--key-end)", message)
    elif express:
        log.info("{}; within SQL Server Express's 10 GB cap", message)
    else:
        log.info("{}", message)


def target_label(settings) -> str:
    """The target as metrics.jsonl and ``report`` name it (password masked)."""
    from xmlshred.reporting.target_labels import target_label as label

    return label(settings.target)


def _path_or_none(value) -> Path | None:
    return Path(value) if value else None


def masked_url(url: str) -> str:
    """``url`` (or a message holding one) with its password masked, as logs and errors show it."""
    from xmlshred.db.secrets import mask_secrets

    return mask_secrets(url)
