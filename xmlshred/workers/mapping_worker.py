"""The mapper's worker process: reads its documents from the source, parses and maps them.

It never writes anywhere: its own read-only source connection (opened at the
first batch, see ``workers.documents``) reads the prefix of each document the
contract needs, or the whole document. The parent talks to it over a
multiprocessing Pipe:
  parent -> worker: ``(batch_id, (SourceItem, ...))`` or ``None`` to stop
  worker -> parent: ``("ready", None)`` once (or ``("error", detail)``), then per batch
                    ``(batch_id, "mapped", ([result, ...], BatchCosts))`` or
                    ``(batch_id, "source-error", message)`` when the source cannot be read
where each result is a ReadyRecord or RecordFailure, in the batch's order: the
ReadyRecords of a batch share one BatchRows, its rows already in the target
database's form (``db.values.ReadyResults``), so the pipe carries plain values.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
import time
import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from xmlshred.sources import SourceSpec
from xmlshred.sources.errors import SourceError
from xmlshred.sources.types import SourceItem
from xmlshred.vocab.errors import TerminalError, TransientError
from xmlshred.vocab.quality import fail_reason
from xmlshred.vocab.results import MappedRecord, RecordFailure
from xmlshred.workers.documents import BatchCosts, DocumentMapper

if TYPE_CHECKING:
    from xmlshred.contract import MapOptions

FAULT_MARKER_ENV = "XMLSHRED_FAULT_KILL_MARKER"
"""Fault injection for tests: a worker that sees this marker in a document
SIGKILLs itself, exactly like an OOM kill. Unset in normal runs."""

FAULT_PAUSE_ENV = "XMLSHRED_FAULT_PAUSE_FILE"
"""Test hook: while the file this names exists, a worker waits before mapping each record, so a
test can hold a run mid-way (e.g. holding its lease) for exactly as long as it needs, and let it
go by deleting the file. A number in the file lets each worker map that many records first, so
a held run has commits to show (a deterministic throttle instead of racing the product's speed).
Unset in normal runs."""
PAUSE_POLL_S = 0.01


def _pause_allowance(path: str) -> float:
    """How many records a worker may map while the pause file exists (infinite when it is gone)."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return float("inf")
    except OSError:
        return 0
    return int(text) if text.isdigit() else 0


class WorkerDied(TransientError):
    """The worker process died (crash, OOM kill, SIGKILL) before answering."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"mapper worker process died (exit code {exitcode})")
        self.exitcode = exitcode


class WorkerStartError(TerminalError):
    """The worker process could not compile the contract or did not start."""


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What a worker needs to build its compiled contract and open its source, once."""

    contract_path: str
    options: MapOptions
    """How the contract is compiled: the run's one ``MapOptions`` (``supervisor.map_options``)."""
    source: SourceSpec
    """The source the worker reads documents from (its own read-only connection)."""
    prefix_bytes: int = 0
    """Read this much of each document first ([source] prefix_bytes); 0 = whole documents."""
    target_dialect: str = "sqlite"
    """The target's dialect name (``db.dialects.DIALECTS``): the form rows are sent back in."""
    quality_fail: tuple[str, ...] = ()
    """Kinds of changed value (``[quality]`` set to "fail") that fail a record at ``map``."""


def _path_coverage(compiled):
    """The worker's mapping-path check (``contract.coverage``), looking for every path of the contract."""
    from xmlshred.contract.coverage import for_contract

    return for_contract(compiled.contract, compiled.horizon)


def _contains_marker(document: bytes | str, marker: str) -> bool:
    if isinstance(document, bytes):
        return marker.encode() in document
    return marker in document


def worker_main(connection, config: WorkerConfig, compiled=None, inherited: tuple = ()) -> None:
    """Entry point of the worker process.

    ``compiled``: the parent's CompiledContract, for a worker forked from it (see
    ``WorkerProcess``); a spawned worker loads and compiles the contract itself.
    ``inherited``: the parent's ends of every worker pipe, which a forked worker holds
    copies of and closes at once (else its own pipe would never reach EOF when the parent goes).
    """
    for parent_end in inherited:
        parent_end.close()
    # The parent decides when to stop; a terminal's Ctrl-C must not kill workers mid-batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from xmlshred.contract import compile_contract, load_contract
    from xmlshred.db.dialects import DIALECTS
    from xmlshred.db.values import ReadyResults

    try:
        if compiled is None:
            compiled = compile_contract(load_contract(config.contract_path), config.options)
        ready = ReadyResults(compiled.schema, DIALECTS[config.target_dialect])
    except Exception as exc:  # the parent reports it and stops the run
        connection.send(("error", f"{exc.__class__.__name__}: {exc}"))
        return
    # Everything alive now lives as long as the process: keep it out of every collection.
    gc.freeze()
    connection.send(("ready", None))
    hooks = _FaultHooks()
    fail_kinds = frozenset(config.quality_fail)
    documents = DocumentMapper(compiled, config.source, config.prefix_bytes, hooks.inspect,
                               coverage=_path_coverage(compiled))
    counted = time.process_time()  # the worker's CPU up to here is start-up, not any batch's
    try:
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                return  # the parent is gone: never linger as an orphan
            if message is None:
                return
            batch_id, items = message
            try:
                results, costs = documents.map_items(list(items))
                if fail_kinds:
                    results = fail_on_quality(results, fail_kinds)
                ready_results = ready(results)
                now = time.process_time()
                costs, counted = replace(costs, process_cpu_s=now - counted), now
                connection.send((batch_id, "mapped", (ready_results, costs)))
            except _Orphaned:
                return
            except SourceError as exc:  # names the source, never a value
                connection.send((batch_id, "source-error", str(exc)))
            except Exception as exc:  # a driver error the source did not wrap
                connection.send((batch_id, "source-error", f"reading the source in the mapper worker failed "
                                                           f"({type(exc).__name__})"))
    finally:
        documents.close()


def fail_on_quality(results: list, fail_kinds: frozenset[str]) -> list:
    """``results`` with each MappedRecord that changed a value of a kind in ``fail_kinds`` turned into a
    ``map`` failure naming table, column and kind (``app_base.name: truncated``), never the value."""
    checked = []
    for result in results:
        if isinstance(result, MappedRecord) and result.warnings:
            reason = fail_reason(result.warnings, fail_kinds)
            if reason is not None:
                result = RecordFailure(result.key, "map", reason)
        checked.append(result)
    return checked


class _Orphaned(TerminalError):
    """The parent died while a fault hook held the worker."""


class _FaultHooks:
    """The test hooks of FAULT_MARKER_ENV and FAULT_PAUSE_ENV, applied to each document read."""

    def __init__(self) -> None:
        self.marker = os.environ.get(FAULT_MARKER_ENV) or None
        self.pause_file = os.environ.get(FAULT_PAUSE_ENV) or None
        self.parent = os.getppid()
        self.mapped = 0

    def inspect(self, document: bytes | str, again: bool) -> None:
        """Die on the marker; wait while the pause file says so (once per record, not for ``again``)."""
        if self.marker is not None and _contains_marker(document, self.marker):
            os.kill(os.getpid(), signal.SIGKILL)
        if again:
            return
        while self.pause_file is not None and self.mapped >= _pause_allowance(self.pause_file):
            if os.getppid() != self.parent:
                raise _Orphaned  # the parent died while we were held: never linger as an orphan
            time.sleep(PAUSE_POLL_S)
        self.mapped += 1


def fork_is_safe() -> bool:
    """May this process fork a worker? Only while it runs no other thread: a thread holding a
    lock (a logging sink's, an allocator's) at the fork would leave it held forever in the child."""
    return WorkerProcess._fork is not None and threading.active_count() == 1


class WorkerProcess:
    """One worker process and the parent's end of its pipe.

    ``map_batch`` raises WorkerDied when the process dies before answering
    (the caller replaces it with a new WorkerProcess) and SourceError when
    the worker could not read the source.
    """

    _spawn = multiprocessing.get_context("spawn")
    _fork = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    _parent_ends: weakref.WeakSet = weakref.WeakSet()
    """This process's ends of the pipes of its workers (a forked worker closes its copies); weak,
    so the end of a worker that was replaced without ``stop()`` is still closed once dropped."""

    def __init__(self, config: WorkerConfig, name: str, wait: bool = True, compiled=None) -> None:
        """Start the process; with ``wait`` (the default) also ``wait_ready()``.

        ``wait=False`` lets a caller start several workers and do other work while they
        import and compile the contract; it must then call ``wait_ready()`` (or ``stop()``).
        ``compiled``: this process's CompiledContract of ``config``. When this process runs no
        other thread (``fork_is_safe``), the worker is then forked: it starts at once with the
        contract compiled, instead of importing and compiling it all again (~0.4 s of CPU).
        Otherwise (threads: a run's actors, a Ray worker, a test runner) it is spawned.
        """
        self.forked = compiled is not None and fork_is_safe()
        context = self._fork if self.forked else self._spawn
        parent_end, child_end = context.Pipe(duplex=True)
        self._connection = parent_end
        self._ready = False
        args = (child_end, config, compiled, (*self._parent_ends, parent_end)) if self.forked else (child_end, config)
        self.process = context.Process(target=worker_main, args=args, name=name, daemon=True)
        self.process.start()
        # Without closing our copy of the child's end, recv() would never see EOF when it dies.
        child_end.close()
        self._parent_ends.add(parent_end)
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait for the worker's ``ready``: WorkerStartError (the worker stopped) when it reports it
        cannot start, WorkerDied when it dies first."""
        if self._ready:
            return
        kind, detail = self._receive()  # WorkerDied when it dies first
        if kind != "ready":
            self.stop()
            raise WorkerStartError(f"mapper worker could not start: {detail}")
        self._ready = True

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def _receive(self):
        while True:
            try:
                if self._connection.poll(0.5):
                    return self._connection.recv()
            except (EOFError, OSError):
                self.process.join(timeout=5)
                raise WorkerDied(self.process.exitcode) from None
            if not self.process.is_alive():
                # It may have answered just before dying.
                if self._connection.poll(0):
                    continue
                raise WorkerDied(self.process.exitcode)

    def map_batch(self, batch_id: int, items: list[SourceItem]) -> tuple[list, float, BatchCosts]:
        """Read and map the items' documents in the worker; (results, busy seconds, costs).

        Raises WorkerDied, or SourceError with the worker's message when it could not read the source.
        """
        started = time.perf_counter()
        try:
            self._connection.send((batch_id, tuple(items)))
        except (BrokenPipeError, OSError):
            self.process.join(timeout=5)
            raise WorkerDied(self.process.exitcode) from None
        answered_id, kind, answer = self._receive()
        if answered_id != batch_id:
            raise WorkerDied(self.process.exitcode)
        if kind == "source-error":
            raise SourceError(answer)
        results, costs = answer
        return results, time.perf_counter() - started, costs

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout``.

        A worker not yet ready is still importing and compiling, holding nothing: it is
        terminated at once rather than waited for.
        """
        if not self._ready and self.process.is_alive():
            self.process.terminate()
        try:
            self._connection.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=timeout)
        self._parent_ends.discard(self._connection)
        self._connection.close()
