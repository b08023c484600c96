"""Ending what may already be gone, without raising.

A connection whose session the server (or a crash, or a signal) ended answers ``rollback`` and
``close`` with an error of its own. Where ending it is all that is wanted (closing a source,
dropping a target's connection, tidying up after a failure that is being raised already),
that error says nothing new: these two calls are the one place it is ignored.
"""

from __future__ import annotations

from contextlib import suppress

__all__ = ["close_quietly", "rollback_quietly"]


def close_quietly(resource) -> None:
    """``resource.close()`` (a connection, cursor or source; None: nothing); never raises."""
    if resource is not None:
        with suppress(Exception):
            resource.close()


def rollback_quietly(connection) -> None:
    """``connection.rollback()`` (None: nothing); never raises: a lost session cannot roll back, and
    the server rolled it back when it ended."""
    if connection is not None:
        with suppress(Exception):
            connection.rollback()
