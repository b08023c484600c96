"""What actors tell the supervisor outside the message flow: done, or failed.

pykka has no links between actors, so an actor that dies of a bug would
otherwise go unnoticed; each actor's ``on_failure`` reports here, and the
supervisor waits on ``changed``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


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

    def finished(self) -> None:
        """The reader saw the end of input (or a stop) and every record is settled."""
        with self._lock:
            self._finished = True
        self.changed.set()

    def failed(self, actor: str, error: BaseException) -> None:
        with self._lock:
            self._failures.append(ActorFailure(actor, error))
        self.changed.set()

    @property
    def is_finished(self) -> bool:
        with self._lock:
            return self._finished

    @property
    def failures(self) -> tuple[ActorFailure, ...]:
        with self._lock:
            return tuple(self._failures)
