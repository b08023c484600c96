"""The target subsystem's exceptions, sorted by how the caller reacts.

``DataTargetError``: the rows were refused (constraint, conversion); the
transaction was rolled back and the caller bisects the flush.
``TransientTargetError``: connection lost, deadlock victim, timeout; rolled
back, the caller reconnects with backoff and retries the same flush.
``ConnectTargetError``: the first connection could not be opened; the run
stops. ``TargetError``: anything else; the run stops.

Classification is by SQLSTATE, driver error code or exception class, never by
message text (see ``classify_sqlstate``). Messages never carry row values;
they name ``table=``/``column=``/``key=`` where known and say how to fix it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from xmlshred.vocab.errors import DataError, TerminalError, TransientError, XmlshredError


class TargetError(XmlshredError):
    """A database target refused an operation for a reason that stops the run."""

    def __init__(self, message: str, *, sqlstate: str | None = None, table: str | None = None,
                 key: int | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        """The SQLSTATE (or sqlite error name) behind this error, when known."""
        self.table = table
        """The table being written when it happened, when known."""
        self.key = key
        """The record key, when the failing statement concerned a single record."""


class DataTargetError(TargetError, DataError):
    """The database rejected the data (SQLSTATE 21*, 22*, 23*): bisect the flush."""


class TransientTargetError(TargetError, TransientError):
    """A passing failure (connection lost, deadlock, timeout): reconnect and retry."""


class ConnectTargetError(TargetError, TerminalError):
    """The target could not be reached or logged into when it was opened."""


DATA_SQLSTATE_CLASSES = ("21", "22", "23")
"""Cardinality (two rows for one key in one upsert), data exception, integrity violation."""

TRANSIENT_SQLSTATES = frozenset({
    "40001",  # serialization failure; SQL Server reports deadlock victims (1205) with it
    "40P01",  # PostgreSQL deadlock detected
    "57P01", "57P02", "57P03",  # PostgreSQL admin/crash shutdown, cannot connect now
    "HYT00", "HYT01",  # ODBC timeout expired / connection timeout
})
TRANSIENT_SQLSTATE_CLASSES = ("08",)  # connection exceptions

SQLSTATE_MEANINGS = {
    "21000": "the same key appears twice in one statement",
    "22001": "a string is longer than its column",
    "22003": "a number is out of its column's range",
    "22007": "an invalid date or time",
    "22008": "a date or time out of range",
    "22P02": "a value that does not convert to its column's type",
    "23502": "NULL in a NOT NULL column",
    "23503": "a foreign key violation",
    "23505": "a duplicate primary key or unique value",
    "23000": "an integrity constraint violation",
}


def classify_sqlstate(sqlstate: str | None, native_code: int | None = None,
                      transient_native_codes: frozenset[int] = frozenset()) -> type[TargetError]:
    """The exception class for a driver error given its SQLSTATE and native code."""
    if native_code is not None and native_code in transient_native_codes:
        return TransientTargetError
    state = (sqlstate or "").upper()
    if state in TRANSIENT_SQLSTATES or state.startswith(TRANSIENT_SQLSTATE_CLASSES):
        return TransientTargetError
    if state.startswith(DATA_SQLSTATE_CLASSES):
        return DataTargetError
    return TargetError


def describe_sqlstate(sqlstate: str | None) -> str:
    """A short human meaning of a SQLSTATE (or of a driver's named code)."""
    if not sqlstate:
        return "an unknown database error"
    if len(sqlstate) != 5 or not sqlstate.isalnum():
        return f"error {sqlstate}"  # a driver's own code name, e.g. SQLITE_CONSTRAINT_PRIMARYKEY
    meaning = SQLSTATE_MEANINGS.get(sqlstate.upper())
    return f"SQLSTATE {sqlstate} ({meaning})" if meaning else f"SQLSTATE {sqlstate}"


# ---------------------------------------------------------------- classification by driver

SQLITE_TRANSIENT_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)


def classify_sqlite_error(exc: BaseException) -> type[TargetError]:
    """By sqlite3 exception class and primary result code (``sqlite_errorcode & 0xFF``)."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.DataError, OverflowError)):
        return DataTargetError
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.OperationalError) and code is not None and (code & 0xFF) in SQLITE_TRANSIENT_CODES:
        return TransientTargetError
    return TargetError


_PYODBC_NATIVE = re.compile(r"\((-?\d+)\) \(SQL\w+\)\s*$")


def odbc_sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE pyodbc puts first in an exception's args."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], str) and len(args[0]) == 5:
        return args[0]
    return None


def odbc_native_code(exc: BaseException) -> int | None:
    """The driver's native error number.

    pyodbc has no attribute for it; it always formats each diagnostic record
    as ``… (native) (SQLFunctionW)``, so we read that structured suffix (the
    message wording is never interpreted).
    """
    args = getattr(exc, "args", ())
    if len(args) > 1 and isinstance(args[1], str):
        match = _PYODBC_NATIVE.search(args[1])
        if match:
            return int(match.group(1))
    return None


def odbc_classifier(transient_native_codes: frozenset[int]) -> Callable[[BaseException], type[TargetError]]:
    def classify(exc: BaseException) -> type[TargetError]:
        if isinstance(exc, OverflowError):
            return DataTargetError
        return classify_sqlstate(odbc_sqlstate(exc), odbc_native_code(exc), transient_native_codes)
    return classify
