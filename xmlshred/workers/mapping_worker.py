"""The mapper's worker process: parse + map, CPU-bound, never touches a database.

The parent talks to it over a multiprocessing Pipe:
  parent -> worker: ``(batch_id, [(expected_key, document), ...])`` or ``None`` to stop
  worker -> parent: ``("ready", None)`` once, then ``(batch_id, [result, ...])``
where each result is a ReadyRecord or RecordFailure, in the batch's order: the
ReadyRecords of a batch share one BatchRows, its rows already in the target
database's form (``db.values.ReadyResults``), so the pipe carries plain values.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime

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


class WorkerDied(Exception):
    """The worker process died (crash, OOM kill, SIGKILL) before answering."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"mapper worker process died (exit code {exitcode})")
        self.exitcode = exitcode


class WorkerStartError(Exception):
    """The worker process could not compile the contract or did not start."""


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What a worker needs to build its compiled contract, once."""

    contract_path: str
    now: datetime
    max_document_bytes: int
    strict_wellformed: bool
    target_dialect: str
    """The target's dialect name (``db.dialects.DIALECTS``): the form rows are sent back in."""


def _contains_marker(document: bytes | str, marker: str) -> bool:
    if isinstance(document, bytes):
        return marker.encode() in document
    return marker in document


def empty_document_failure(document: bytes | str, expected_key: int | None):
    """A parse failure saying "empty document" for a 0-byte (or whitespace-only) document, else None.

    A parser would call it "not well-formed at line 0", which sends people looking for a syntax error.
    """
    if document is None or not document.strip():
        from xmlshred.vocab.results import RecordFailure

        size = 0 if document is None else len(document)
        what = "0 bytes" if not size else f"{size} bytes of whitespace only"
        return RecordFailure(expected_key, "parse", f"empty document ({what}): the source holds no XML for it")
    return None


def worker_main(connection, config: WorkerConfig) -> None:
    """Entry point of the worker process."""
    # The parent decides when to stop; a terminal's Ctrl-C must not kill workers mid-batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from xmlshred.contract import MapOptions, compile_contract, load_contract
    from xmlshred.db.dialects import DIALECTS
    from xmlshred.db.values import ReadyResults

    try:
        compiled = compile_contract(
            load_contract(config.contract_path),
            MapOptions(
                now=config.now,
                max_document_bytes=config.max_document_bytes,
                strict_wellformed=config.strict_wellformed,
            ),
        )
        ready = ReadyResults(compiled.schema, DIALECTS[config.target_dialect])
    except Exception as exc:  # the parent reports it and stops the run
        connection.send(("error", f"{exc.__class__.__name__}: {exc}"))
        return
    # Everything alive now lives as long as the process: keep it out of every collection.
    gc.freeze()
    connection.send(("ready", None))
    marker = os.environ.get(FAULT_MARKER_ENV) or None
    pause_file = os.environ.get(FAULT_PAUSE_ENV) or None
    parent = os.getppid()
    mapped = 0
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return  # the parent is gone: never linger as an orphan
        if message is None:
            return
        batch_id, documents = message
        results = []
        for expected_key, document in documents:
            if marker is not None and _contains_marker(document, marker):
                os.kill(os.getpid(), signal.SIGKILL)
            while pause_file is not None and mapped >= _pause_allowance(pause_file):
                if os.getppid() != parent:
                    return  # the parent died while we were held: never linger as an orphan
                time.sleep(PAUSE_POLL_S)
            mapped += 1
            empty = empty_document_failure(document, expected_key)
            results.append(empty or compiled.map_document(document, expected_key=expected_key))
        connection.send((batch_id, ready(results)))


class WorkerProcess:
    """One worker process and the parent's end of its pipe.

    ``map_batch`` raises WorkerDied when the process dies before answering;
    the caller replaces it with a new WorkerProcess.
    """

    _context = multiprocessing.get_context("spawn")

    def __init__(self, config: WorkerConfig, name: str) -> None:
        parent_end, child_end = self._context.Pipe(duplex=True)
        self._connection = parent_end
        self.process = self._context.Process(
            target=worker_main, args=(child_end, config), name=name, daemon=True
        )
        self.process.start()
        # Without closing our copy of the child's end, recv() would never see EOF when it dies.
        child_end.close()
        kind, detail = self._receive()
        if kind != "ready":
            self.stop()
            raise WorkerStartError(f"mapper worker could not start: {detail}")

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

    def map_batch(self, batch_id: int, documents: list[tuple[int | None, bytes | str]]) -> tuple[list, float]:
        """Map documents in the worker; returns (results, busy seconds). Raises WorkerDied."""
        started = time.perf_counter()
        try:
            self._connection.send((batch_id, documents))
        except (BrokenPipeError, OSError):
            self.process.join(timeout=5)
            raise WorkerDied(self.process.exitcode) from None
        answered_id, results = self._receive()
        if answered_id != batch_id:
            raise WorkerDied(self.process.exitcode)
        return results, time.perf_counter() - started

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout``."""
        try:
            self._connection.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=timeout)
        self._connection.close()
