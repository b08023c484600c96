"""Retrying a database operation through transient errors: back off, reconnect, again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from xmlshred.db.errors import TargetError, TransientTargetError
from xmlshred.vocab.errors import TerminalError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How an actor retries through transient database errors (``[target]`` connect_retries,
    retry_backoff_s, retry_backoff_max_s): the only part of the target's settings actors get."""

    connect_retries: int
    """Reconnect attempts after a transient error before the run stops."""
    backoff_s: float
    """First wait between reconnects; doubled each attempt."""
    backoff_max_s: float
    """Longest wait between reconnects."""


class RetriesExhausted(TerminalError):
    """The database stayed unavailable through every retry; chained from the last error."""


def retry_transient(operation: Callable[[], T], reconnect: Callable[[], None], *, retries: int,
                    backoff_s: float, backoff_max_s: float, log, what: str,
                    sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``operation``; on TransientTargetError wait (exponential backoff), reconnect, run it again.

    Other errors of ``operation`` propagate unchanged. Raises RetriesExhausted
    after ``retries`` reconnect attempts (a failed reconnect counts as one).
    """
    attempt = 0
    while True:
        try:
            return operation()
        except TransientTargetError as exc:
            error: Exception = exc
        while True:
            attempt += 1
            if attempt > retries:
                raise RetriesExhausted(
                    f"database still unavailable after {retries} retries during {what} ({error})"
                ) from error
            delay = min(backoff_s * (2 ** (attempt - 1)), backoff_max_s)
            log.warning("transient database error during {} ({}); retry {}/{} in {:.1f}s",
                        what, error.__class__.__name__, attempt, retries, delay)
            sleep(delay)
            try:
                reconnect()
                break
            except TargetError as exc:
                error = exc
