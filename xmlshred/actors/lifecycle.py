"""What actors tell the supervisor outside the message flow (done, or failed), and their shared base.

pykka has no links between actors, so an actor that dies of a bug would
otherwise go unnoticed; each actor's ``on_failure`` reports here, and the
supervisor waits on ``changed``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pykka

from xmlshred.messages import Ping


@dataclass(frozen=True, slots=True)
class ActorFailure:
    """An actor died of an exception."""

    actor: str
    """Which actor (e.g. ``insert``, ``mapper-1``)."""
    error: BaseException
    """The exception that killed it."""


class RunSignals:
    """Thread-safe flags the supervisor waits on."""

    def __init__(self) -> None:
        self.changed = threading.Event()
        self._lock = threading.Lock()
        self._failures: list[ActorFailure] = []
        self._finished = False
        self._cpu_s: dict[str, float] = {}

    def finished(self) -> None:
        """The reader saw the end of input (or a stop) and every record is settled."""
        with self._lock:
            self._finished = True
        self.changed.set()

    def failed(self, actor: str, error: BaseException) -> None:
        with self._lock:
            self._failures.append(ActorFailure(actor, error))
        self.changed.set()

    def cpu_used(self, actor: str, seconds: float) -> None:
        """An actor's thread CPU time over its life, told once as it stops."""
        with self._lock:
            self._cpu_s[actor] = self._cpu_s.get(actor, 0.0) + seconds

    @property
    def cpu_s(self) -> dict[str, float]:
        """Thread CPU seconds per stopped actor (``reader``, ``mapper-0``, ``insert`` ...)."""
        with self._lock:
            return dict(self._cpu_s)

    @property
    def is_finished(self) -> bool:
        with self._lock:
            return self._finished

    @property
    def failures(self) -> tuple[ActorFailure, ...]:
        with self._lock:
            return tuple(self._failures)


def tell_quietly(ref, message, log) -> bool:
    """Tell ``message`` to ``ref``; a stopped actor drops it, said at DEBUG (never a traceback).

    On a stop, a late reply (a mapper's BatchMapped to a reader that has
    stopped, a load report to a stopped reporter) has nobody left to act on
    it: the run's fate is already decided, so it is dropped. Returns whether
    the message was delivered.
    """
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        log.debug("{} has stopped; dropped a late {}", _actor_name(ref), type(message).__name__)
        return False
    return True


def _actor_name(ref) -> str:
    actor_class = getattr(ref, "actor_class", None)
    return actor_class.__name__ if actor_class is not None else type(ref).__name__


class PipelineActor(pykka.ThreadingActor):
    """The start-error, Ping and ``on_failure`` handling every actor of a run shares.

    A subclass opens its resources in ``open()`` (run in ``on_start``), answers
    ``answer_ping()``, handles its messages in ``handle(message)``, does its last
    work of a normal stop in ``drain()`` and lets go of its resources in
    ``close()`` (after a stop and after a failure; it must not raise). Each
    actor counts its thread's CPU time and tells ``signals`` as it stops. An
    error in ``open()`` does not kill the actor: the supervisor's Ping raises
    it, naming the actor, so a run that cannot start says why. A failure later
    is told to ``signals`` (if any), which stops the run.
    """

    def __init__(self, name: str, signals: RunSignals | None) -> None:
        super().__init__()
        self.actor_name = name
        self._signals = signals
        self._start_error: BaseException | None = None
        self._cpu_s = 0.0
        """This actor's thread CPU time so far (its own work only: each actor has a thread)."""

    def open(self) -> None:
        """Open what the actor needs (worker process, connection, file)."""

    def answer_ping(self):
        """What a Ping returns once the actor has started."""
        return True

    def handle(self, message):
        raise NotImplementedError

    def drain(self) -> None:
        """The last work of a normal stop, before ``close()`` (e.g. a final flush)."""

    def close(self) -> None:
        """Let go of what ``open()`` took; never raises."""

    def on_start(self) -> None:
        started = time.thread_time()
        try:
            self.open()
        except Exception as exc:  # surfaced to the supervisor by Ping
            self._start_error = exc
        self._cpu_s += time.thread_time() - started

    def on_receive(self, message):
        if isinstance(message, Ping):
            if self._start_error is not None:
                raise self._start_error
            return self.answer_ping()
        started = time.thread_time()
        try:
            return self.handle(message)
        finally:
            self._cpu_s += time.thread_time() - started

    def _close_counted(self, drain: bool = False) -> None:
        started = time.thread_time()
        try:
            if drain:
                self.drain()
        finally:
            self.close()
            self._cpu_s += time.thread_time() - started
        if self._signals is not None:
            self._signals.cpu_used(self.actor_name, self._cpu_s)
            self._cpu_s = 0.0

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        if self._signals is not None:
            self._signals.failed(self.actor_name, exception_value)
        self._close_counted()

    def on_stop(self) -> None:
        self._close_counted(drain=True)
