"""The run lease: one run at a time per target, released by the database or the OS when a run dies.

A run claims its target before it reads anything and holds the claim until it
ends. The claim is a lock that the database or the operating system gives back
by itself when the holding process dies (kill -9 leaves nothing stale):

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a
  connection of its own;
- SQL Server: ``sp_getapplock`` owned by the session, on a connection of its own;
- SQLite: an exclusive ``flock`` on a sidecar file beside the database
  (``target.db.lease``; it is never deleted, deleting a lock file races).

Each dialect record says which (``Dialect.run_lock``). The lease also writes
its run into ``xmlshred_runs`` (see ``targets.runs_table``): a row when taken, a
heartbeat while held, ``finished`` and ``outcome`` when given back. A run that
finds the lock free but an older row still ``running`` knows that holder is
gone: it marks the row ``abandoned`` and says so in the log.

The lease belongs to a *run*, not to a process or a worker. The driver of a
run takes it (``RunLease.acquire``) and releases it; everything working under
that run (actors, worker processes, the shards of a scaled-out run, each with
its own disjoint key range) carries only ``lease.leased`` (a ``LeasedRun``,
a plain picklable value) and never takes the lease itself.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from xmlshred.db.errors import (
    ConnectTargetError,
    TargetError,
    TransientTargetError,
    odbc_sqlstate,
)
from xmlshred.db.quietly import close_quietly, rollback_quietly
from xmlshred.db.spec import TargetSpec
from xmlshred.targets import runs_table
from xmlshred.targets.runs_table import RunRecord, RunsStatements, utc_now
from xmlshred.vocab.errors import TerminalError, XmlshredError
from xmlshred.vocab.schema import TargetSchema

HEARTBEAT_S = 5.0
"""Seconds between heartbeats (and between checks that a server lease is still ours)."""
RETAKE_S = 1.0
"""Seconds between attempts to re-take a server lease whose connection was lost."""
POLL_S = 0.5
"""Seconds between attempts while waiting for another run's lease."""
HOLDER_GRACE_S = 5.0
"""How long a refused run looks for the holder's xmlshred_runs row (a holder writes it just after
taking the lock) before it refuses without naming the holder."""
LEASE_SUFFIX = ".lease"
SQLITE_BUSY_RETRY_S = 10.0
"""How long a SQLite lease transaction is tried again while the file answers BUSY."""


class LeaseError(XmlshredError):
    """The run lease subsystem's errors."""


class LeaseHeld(LeaseError, TerminalError):
    """Another run holds the target (after waiting ``wait_s``, if asked to): this run must not start."""

    def __init__(self, message: str, holder: RunRecord | None) -> None:
        super().__init__(message)
        self.holder = holder
        """The holder's xmlshred_runs row, or None when it has not written one (yet)."""


class LeaseLost(LeaseError, TerminalError):
    """A held server lease's session was lost and another run has taken the target meanwhile."""


@dataclass(frozen=True, slots=True)
class LeasedRun:
    """A run that works under a lease its driver holds: the only thing shards and workers carry.

    Picklable and free of connections, so a driver can hand it to other
    processes; whoever has it works under the run's lease and never takes it.
    """

    run_id: str
    """The run (and so the lease) this work belongs to."""


def lease_path(database: Path) -> Path:
    """The SQLite lease's sidecar file: ``<database>.lease``."""
    return database.with_name(database.name + LEASE_SUFFIX)


# ------------------------------------------------------------------ locks


class _FileLock:
    """SQLite: an exclusive, non-blocking flock on the sidecar file; the OS drops it with the process."""

    def __init__(self, spec: TargetSpec) -> None:
        import fcntl

        self._fcntl = fcntl
        self.path = lease_path(spec.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Python opens descriptors non-inheritable: worker processes never hold the lock.
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    def try_acquire(self) -> bool:
        try:
            self._fcntl.flock(self._fd, self._fcntl.LOCK_EX | self._fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self._fcntl.flock(fd, self._fcntl.LOCK_UN)
        except OSError:
            pass
        os.close(fd)


class _SessionLock:
    """PostgreSQL / SQL Server: a session-scoped lock on a connection of its own."""

    def __init__(self, spec: TargetSpec, schema_name: str | None) -> None:
        self.spec = spec
        self.statements = spec.dialect.run_lock(spec.dialect, schema_name)
        self.connection = None
        self.connect()

    def connect(self) -> None:
        from xmlshred.db.connect import connect_server_target

        self.close()
        self.connection = connect_server_target(self.spec)

    def try_acquire(self) -> bool:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self.statements.acquire)
            # Some servers (Babelfish) answer a batch's EXEC with a result of its own before the
            # SELECT's row: the answer is the first result that has columns.
            while cursor.description is None and cursor.nextset():
                pass
            granted = int(cursor.fetchone()[0]) == 1
            self.connection.commit()  # the lock is the session's: it outlives this transaction
        finally:
            cursor.close()
        if not granted:
            # A fresh session for the next attempt: Babelfish 4.3 keeps the WARNING of each refused
            # sp_getapplock on the session's error stack, and the fifth or so in one session
            # PANICs the server (ERRORDATA_STACK_SIZE exceeded), ending every session on it.
            self.connect()
        return granted

    def release(self) -> None:
        if self.connection is None:
            return
        try:
            cursor = self.connection.cursor()
            cursor.execute(self.statements.release)
            self.connection.commit()
            cursor.close()
        except Exception:  # ending the session (below) gives the lock back anyway
            pass
        self.close()

    def close(self) -> None:
        connection, self.connection = self.connection, None
        close_quietly(connection)


# ------------------------------------------------------------------ the lease


class RunLease:
    """One run's claim on one target; take it with ``RunLease.acquire``, give it back with ``release``."""

    def __init__(self, spec: TargetSpec, schema: TargetSchema, run_id: str, lock,
                 heartbeat_s: float, on_lost: Callable[[LeaseLost], None] | None) -> None:
        self.spec = spec
        self.run_id = run_id
        """The run that holds this lease."""
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._statements = RunsStatements(spec.dialect, schema.schema_name)
        self._lock = lock
        self._heartbeat_s = heartbeat_s
        self._on_lost = on_lost
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._released = False
        self._lost = False
        self._log = logger.bind(actor="lease")

    # -------------------------------------------------------------- taking

    @classmethod
    def acquire(cls, spec: TargetSpec, schema: TargetSchema, run_id: str, *, wait_s: float = 0.0,
                heartbeat_s: float = HEARTBEAT_S,
                on_lost: Callable[[LeaseLost], None] | None = None) -> RunLease:
        """Take the target's lease for ``run_id``, waiting up to ``wait_s`` seconds for another run's.

        On success the run's xmlshred_runs row is written (rows of gone
        holders are marked ``abandoned`` first, with a WARNING) and a
        heartbeat thread keeps it fresh until ``release``. ``on_lost`` is
        called (from that thread, once) if a server lease's session is lost
        and another run takes the target before this one can re-take it.

        Raises LeaseHeld (naming the holder from xmlshred_runs) when the
        lease is still held after ``wait_s``; ConnectTargetError when the
        target cannot be reached; TargetError when the database refuses
        the lease's statements. Nothing is held after a failure.
        """
        lock = _FileLock(spec) if spec.dialect.run_lock is None else _connect_session_lock(spec, schema)
        lease = cls(spec, schema, run_id, lock, heartbeat_s, on_lost)
        try:
            lease._wait_for_lock(wait_s)
            lease._record_start()
        except BaseException:
            lock.release()
            raise
        lease._thread = threading.Thread(target=lease._beat, name=f"lease-{run_id}", daemon=True)
        lease._thread.start()
        return lease

    @property
    def leased(self) -> LeasedRun:
        """What shards and workers of this run carry to work under this lease."""
        return LeasedRun(self.run_id)

    def _wait_for_lock(self, wait_s: float) -> None:
        started = time.monotonic()
        deadline = started + max(0.0, wait_s)
        announced = False
        while True:
            if self._try_lock():
                if announced:
                    self._log.info("the target is free now; run {} takes it after {:.1f}s",
                                   self.run_id, time.monotonic() - started)
                return
            holder = self._holder()
            now = time.monotonic()
            if now >= deadline:
                if holder is None and now < deadline + HOLDER_GRACE_S:
                    time.sleep(0.1)  # the holder writes its row just after taking the lock
                    continue
                raise LeaseHeld(self._refusal(holder, wait_s), holder)
            if not announced and holder is not None:
                announced = True
                self._log.info("target {} is in use by {}; waiting up to {:g}s for it to end",
                               self.spec.description, holder.describe(), wait_s)
            time.sleep(min(POLL_S, max(0.01, deadline - now)))

    def _try_lock(self) -> bool:
        try:
            return self._lock.try_acquire()
        except Exception as exc:
            raise self._error(exc, "taking the run lease") from exc

    def _refusal(self, holder: RunRecord | None, wait_s: float) -> str:
        who = holder.describe() if holder else "another run (it has not recorded itself in xmlshred_runs yet)"
        waited = f" after waiting {wait_s:g}s" if wait_s > 0 else ""
        from xmlshred.vocab.program import command

        return (f"target {self.spec.description} is in use by {who}{waited}; let that run finish, or start "
                f"this one with `{command('migrate', '--wait', '600')}` (seconds; [run] wait_s) to wait for it")

    def _holder(self) -> RunRecord | None:
        """The latest run xmlshred_runs says is running; None when there is none or it cannot be read."""
        try:
            rows = self._session(lambda cursor: cursor.execute(self._statements.open_runs()).fetchall())
        except Exception as exc:  # e.g. no xmlshred_runs yet: the refusal just cannot name the holder
            self._log.debug("xmlshred_runs could not be read: {}", exc)
            return None
        return runs_table.record_of(rows[0]) if rows else None

    def _record_start(self) -> None:
        """Create xmlshred_runs if needed, mark gone holders abandoned, insert this run's row."""
        now = utc_now()

        def start(cursor) -> list[RunRecord]:
            for statement in self._statements.create():
                cursor.execute(statement)
            stale = [runs_table.record_of(row) for row in cursor.execute(self._statements.open_runs()).fetchall()]
            for record in stale:
                cursor.execute(*self._statements.finish(record.run_id, runs_table.ABANDONED, now))
            cursor.execute(*self._statements.insert(self.run_id, self.host, self.pid, now))
            return stale

        try:
            stale = self._session(start, write=True)
        except Exception as exc:
            raise self._error(exc, "recording the run in xmlshred_runs") from exc
        for record in stale:
            self._log.warning("took over target {} from {}: its process is gone (the lease was free), "
                              "so its row in xmlshred_runs is now marked abandoned", self.spec.description,
                              record.describe())
        self._log.info("run {} holds the lease on target {} (host {} pid {})", self.run_id,
                       self.spec.description, self.host, self.pid)

    # -------------------------------------------------------------- holding

    def _beat(self) -> None:
        interval = self._heartbeat_s
        while not self._stop.wait(interval):
            interval = self._heartbeat_s if self._heartbeat_once() else RETAKE_S
            if self._lost:
                return

    def _heartbeat_once(self) -> bool:
        """One heartbeat; False when it must be tried again soon (the session could not be re-taken yet)."""
        with self._guard:
            if self._stop.is_set():
                return True
            try:
                self._session(lambda cursor: cursor.execute(*self._statements.heartbeat(self.run_id, utc_now())),
                              write=True)
                return True
            except Exception as exc:
                error = self._error(exc, "the lease's heartbeat")
            if isinstance(self._lock, _FileLock):
                # The flock cannot be lost; a busy database only delays the heartbeat.
                self._log.warning("heartbeat of run {} not written ({}); trying again", self.run_id, error)
                return True
            return self._retake(error)

    def _retake(self, error: TargetError) -> bool:
        """The server session may be gone, and the lock with it: reconnect and take the lock again."""
        self._log.warning("the lease's connection failed ({}); re-taking the lease of run {}",
                          type(error).__name__, self.run_id)
        deadline = time.monotonic() + HOLDER_GRACE_S
        try:
            self._lock.connect()
            # Our old session, if it was alive after all, lets go of the lock as it ends: give it a moment.
            while not (granted := self._lock.try_acquire()) and time.monotonic() < deadline:
                time.sleep(0.2)
        except Exception as exc:
            self._log.warning("the lease cannot be re-taken yet ({}); trying again in {:.0f}s",
                              type(exc).__name__, RETAKE_S)
            return False
        if granted:
            self._log.warning("run {} re-took the lease on a new connection", self.run_id)
            return True
        holder = self._holder()
        who = holder.describe() if holder else "another run"
        lost = LeaseLost(f"run {self.run_id} lost the lease on target {self.spec.description} to {who} "
                         "while its connection was down; stopping this run (the other one continues)")
        self._lost = True
        self._log.error("{}", lost)
        if self._on_lost is not None:
            self._on_lost(lost)
        return True

    # -------------------------------------------------------------- giving back

    def release(self, outcome: str = "finished") -> None:
        """Record ``outcome`` (``finished``, ``error`` or ``interrupted``) and give the lease back.

        Idempotent and never raises: a failure to write xmlshred_runs is
        logged as a WARNING (the lock itself is released by closing the
        session or the file in any case).
        """
        if self._released:
            return
        self._released = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._heartbeat_s + 30)
        with self._guard:
            if not self._lost:
                try:
                    self._session(lambda cursor: cursor.execute(*self._statements.finish(
                        self.run_id, outcome, utc_now())), write=True)
                except Exception as exc:
                    self._log.warning("the end of run {} could not be written to xmlshred_runs: {}",
                                      self.run_id, self._error(exc, "recording the run's end"))
            self._lock.release()
        self._log.info("run {} released the lease on target {} (outcome {})", self.run_id,
                       self.spec.description, outcome)

    def __enter__(self) -> RunLease:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.release("finished" if exc_type is None else "error")

    # -------------------------------------------------------------- plumbing

    def _session(self, work, write: bool = False):
        """Run ``work(cursor)`` in one transaction on the lease's connection (SQLite: a short-lived one)."""
        if isinstance(self._lock, _FileLock):
            return self._sqlite_session(work, write)
        connection = self._lock.connection
        if connection is None:
            raise TransientTargetError("the lease's connection is closed")
        cursor = connection.cursor()
        try:
            result = work(cursor)
            connection.commit()
            return result
        except BaseException:
            rollback_quietly(connection)
            raise
        finally:
            close_quietly(cursor)

    def _sqlite_session(self, work, write: bool):
        """SQLite: a short-lived connection. SQLite answers BUSY at once, without its busy
        timeout, when two connections meet switching a new file to WAL or upgrading a read
        to a write; those clear within moments, so the whole transaction is tried again."""
        import sqlite3

        from xmlshred.db.sqlite import connect_sqlite

        deadline = time.monotonic() + SQLITE_BUSY_RETRY_S
        while True:
            try:
                connection = connect_sqlite(self.spec)
                try:
                    if write:
                        connection.execute("BEGIN IMMEDIATE")
                    result = work(connection.cursor())
                    if write:
                        connection.execute("COMMIT")
                    return result
                finally:
                    connection.close()
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _error(self, exc: BaseException, action: str) -> TargetError:
        if isinstance(exc, TargetError):
            return exc
        from xmlshred.db.diagnosis import explain

        kind = self.spec.dialect.classify_error(exc)
        code = getattr(exc, "sqlite_errorname", None) or odbc_sqlstate(exc)
        diagnosis = explain(exc, self.spec)
        hint = "" if diagnosis.hint else ("; check that the target is reachable and that its user may "
                                          "create and write tables")
        return kind(f"{action} failed on target {self.spec.description}: {diagnosis.sentence()}{hint}",
                    sqlstate=code)


def _connect_session_lock(spec: TargetSpec, schema: TargetSchema) -> _SessionLock:
    try:
        return _SessionLock(spec, schema.schema_name)
    except Exception as exc:
        from xmlshred.db.diagnosis import explain

        diagnosis = explain(exc, spec, connecting=True)
        hint = "" if diagnosis.hint else ("; check the server, port, database and credentials "
                                          "([target] in config.toml)")
        raise ConnectTargetError(f"cannot connect to target {spec.description} to take the run lease: "
                                 f"{diagnosis.sentence()}{hint}") from exc
