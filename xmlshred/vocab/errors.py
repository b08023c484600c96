"""The one exception root of xmlshred, and the three families under it.

Every exception class the package defines derives from ``XmlshredError``
(``tests/unit/test_error_tree.py`` walks the package and checks it, and that
no two classes share a name). The families say how a caller reacts:

- ``DataError``: this record's (or these rows') data is wrong; the record is
  logged as failed (or the flush bisected) and the run goes on.
- ``TransientError``: a passing failure (connection lost, deadlock, a worker
  process that died); reconnect or restart and try the same work again.
- ``TerminalError``: the command cannot go on (bad config, contract, target or
  source; an internal inconsistency); it stops with a message saying what to fix.

A class is in at most one family. A subsystem base (``TargetError``,
``LeaseError``) may be in none when its subclasses are sorted into families;
raised as itself, it counts as terminal (``family_of``). Leaf module: imports
nothing of xmlshred, so every layer can use it.
"""

from __future__ import annotations


class XmlshredError(Exception):
    """The root of every exception xmlshred defines."""


class DataError(XmlshredError):
    """A record's or a flush's data is refused: fail that record, go on with the run."""


class TransientError(XmlshredError):
    """A passing failure: reconnect (or restart the worker) and retry the same work."""


class TerminalError(XmlshredError):
    """The command cannot go on; the message says what to fix."""


FAMILIES: tuple[type[XmlshredError], ...] = (DataError, TransientError, TerminalError)
"""The three families, in the order ``family_of`` tests them."""


def family_of(error: BaseException | type[BaseException]) -> type[XmlshredError] | None:
    """The family of an exception (or class): Data, Transient or Terminal.

    A subsystem base raised as itself (in no family) is terminal; an exception
    that is not xmlshred's (a bug, a library's own error) has no family: None.
    """
    cls = error if isinstance(error, type) else type(error)
    if not issubclass(cls, XmlshredError):
        return None
    for family in FAMILIES:
        if issubclass(cls, family):
            return family
    return TerminalError
