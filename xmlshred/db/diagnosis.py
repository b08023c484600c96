"""What went wrong with a database, in the driver's words, and one line of what to do.

``explain(exc, spec)`` turns a driver error (pyodbc, sqlite3, OSError) into a
``Diagnosis``: the driver's own message (first lines, secrets masked), its
SQLSTATE (or SQLite code name) and native code, the cause it was sorted into
and the hint for that cause. Causes are decided by codes, never by message
text: SQLSTATE, SQL Server's native error numbers, SQLite's primary result
code, ``errno``. Where the driver gives one code for several causes (psqlODBC
reports every refused connection as 08001), the cause is found by looking:
is the ODBC driver installed (``pyodbc.drivers()``), does the host resolve,
does the port accept a TCP connection, and (PostgreSQL) does the same login
reach the ``postgres`` database.

Data errors (SQLSTATE 21/22/23) may quote row values in the driver's words,
so callers never put ``driver_words`` of a DataTargetError in a log line.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from dataclasses import dataclass

from xmlshred.db.errors import odbc_native_code, odbc_sqlstate
from xmlshred.db.secrets import mask_secrets
from xmlshred.db.spec import format_connection_string, parse_connection_string

AUTHENTICATION = "authentication"
MISSING_DRIVER = "missing driver"
UNKNOWN_HOST = "unknown host"
UNKNOWN_PORT = "unknown host or port"
UNKNOWN_DATABASE = "unknown database"
PERMISSION_DENIED = "permission denied"
DISK_FULL = "disk full"
READ_ONLY = "read-only"

HINTS = {
    AUTHENTICATION: "the server refused the login: check [target] username and the password "
                    "(set it with XMLSHRED__TARGET__PASSWORD)",
    MISSING_DRIVER: "that ODBC driver is not installed: install it, or set [target] driver to an installed one",
    UNKNOWN_HOST: "the server's host name does not resolve: check [target] server",
    UNKNOWN_PORT: "nothing accepts connections there: check [target] server and port, and that the "
                  "database server is running and reachable",
    UNKNOWN_DATABASE: "the database does not exist: create it (CREATE DATABASE) or fix [target] database",
    PERMISSION_DENIED: "the login lacks a privilege: grant it CREATE and INSERT/UPDATE/SELECT on the "
                       "contract's schema, or run init-db as a user who may",
    DISK_FULL: "the target's disk (or its database/log file) is full: free space or grow it, then run the "
               "same command again; committed records are kept and the run resumes where it stopped",
    READ_ONLY: "the target is read-only: make the file, its folder or the database writable, "
               "or point [target] url somewhere writable",
}
"""One line of what to do, per cause."""

POSTGRESQL_SQLSTATES = {
    "28P01": AUTHENTICATION, "28000": AUTHENTICATION,
    "3D000": UNKNOWN_DATABASE,
    "42501": PERMISSION_DENIED,
    "53100": DISK_FULL,
    "25006": READ_ONLY,
}
"""PostgreSQL's own SQLSTATEs (psqlODBC passes them through on statements)."""

MSSQL_NATIVE_CODES = {
    18456: AUTHENTICATION, 18452: AUTHENTICATION, 18486: AUTHENTICATION, 18487: AUTHENTICATION,
    18488: AUTHENTICATION,
    4060: UNKNOWN_DATABASE, 911: UNKNOWN_DATABASE,
    229: PERMISSION_DENIED, 230: PERMISSION_DENIED, 262: PERMISSION_DENIED, 300: PERMISSION_DENIED,
    1105: DISK_FULL, 9002: DISK_FULL,
    3906: READ_ONLY, 3908: READ_ONLY,
}
"""SQL Server's native error numbers (sys.messages) for the common causes."""

DRIVER_MANAGER_SQLSTATES = frozenset({"01000", "IM002", "IM003"})
"""unixODBC's answers when a driver cannot be loaded (01000 "Can't open lib", IM002, IM003)."""

SQLITE_PRIMARY_CODES = {13: DISK_FULL, 8: READ_ONLY, 3: PERMISSION_DENIED, 23: PERMISSION_DENIED}
"""SQLITE_FULL, SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH (primary result codes)."""

ERRNO_CAUSES = {errno.ENOSPC: DISK_FULL, errno.EDQUOT: DISK_FULL, errno.EROFS: READ_ONLY,
                errno.EACCES: PERMISSION_DENIED, errno.EPERM: PERMISSION_DENIED}

CONNECTION_REFUSED_SQLSTATES = ("08001", "08004", "08S01", "HYT00", "HYT01")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A driver error sorted into a cause, with the driver's words (masked)."""

    driver_words: str
    """What the driver said, its first lines joined, secrets masked."""
    code: str | None
    """SQLSTATE, SQLite error name (SQLITE_FULL) or errno name (ENOSPC), when known."""
    native: int | None
    """The driver's native error number, when it gives one."""
    cause: str | None
    """One of the cause constants above, or None when none applies."""
    detail: str = ""
    """What the look found that the hint may add (the installed ODBC drivers)."""

    @property
    def hint(self) -> str | None:
        """One line of what to do, or None for an unsorted error."""
        if not self.cause:
            return None
        return HINTS[self.cause] + (f" ({self.detail})" if self.detail else "")

    def codes(self) -> str:
        """``SQLSTATE 08001, native 101`` (whatever is known)."""
        parts = []
        if self.code:
            parts.append(f"SQLSTATE {self.code}" if _is_sqlstate(self.code) else self.code)
        if self.native not in (None, 0):
            parts.append(f"native {self.native}")
        return ", ".join(parts) or "no error code"

    def sentence(self) -> str:
        """``<cause>: <driver words> (<codes>); <hint>``: what a log line says."""
        head = f"{self.cause}: " if self.cause else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{head}{self.driver_words} ({self.codes()}){hint}"


def _is_sqlstate(code: str) -> bool:
    return len(code) == 5 and code.isalnum() and code.upper() == code


def driver_words(exc: BaseException) -> str:
    """The driver's message on one line, secrets masked; pyodbc's ``[state]`` and ``(native) (SQLFn)`` trimmed."""
    args = getattr(exc, "args", ())
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    elif len(args) > 1 and isinstance(args[1], str):
        text = args[1]
    else:
        text = str(exc)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    joined = " ".join(lines) or type(exc).__name__
    state = odbc_sqlstate(exc)
    if state and joined.startswith(f"[{state}] "):
        joined = joined[len(state) + 3:]
    native_tail = joined.rfind(" (")
    if native_tail > 0 and joined.endswith(")") and "(SQL" in joined[native_tail:]:
        joined = joined[:native_tail].rstrip()
        native_tail = joined.rfind(" (")
        if native_tail > 0 and joined[native_tail + 2:-1].lstrip("-").isdigit():
            joined = joined[:native_tail].rstrip()
    return mask_secrets(joined)


def diagnose(exc: BaseException, dialect_name: str) -> Diagnosis:
    """Sort ``exc`` by its codes alone (no network look); see ``explain`` for connect errors."""
    words = driver_words(exc)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        name = getattr(exc, "sqlite_errorname", None)
        cause = SQLITE_PRIMARY_CODES.get(code & 0xFF) if code is not None else None
        return Diagnosis(words, name, None, cause)
    if isinstance(exc, OSError) and exc.errno is not None:
        return Diagnosis(words, errno.errorcode.get(exc.errno), None, ERRNO_CAUSES.get(exc.errno))
    state = odbc_sqlstate(exc)
    native = odbc_native_code(exc)
    cause = None
    if dialect_name == "mssql" and native is not None:
        cause = MSSQL_NATIVE_CODES.get(native)
    if cause is None and state:
        cause = POSTGRESQL_SQLSTATES.get(state) if dialect_name == "postgresql" else None
        if cause is None and state == "53100":
            cause = DISK_FULL
    return Diagnosis(words, state, native, cause)


def explain(exc: BaseException, spec, *, connecting: bool = False) -> Diagnosis:
    """``diagnose``, and for a failed connect to an ODBC target a look at what the codes leave open.

    ``spec``: the TargetSpec (or anything with ``dialect`` and ``connection_string``).
    Never raises: a look that fails leaves the cause as the codes gave it.
    """
    diagnosis = diagnose(exc, spec.dialect.name)
    if not connecting or diagnosis.cause or not getattr(spec, "connection_string", None):
        return diagnosis
    try:
        cause = _look(diagnosis, spec)
    except Exception:  # a diagnosis must never hide the error it explains
        cause = None
    if cause is None:
        return diagnosis
    detail = ""
    if cause == MISSING_DRIVER:
        drivers = installed_odbc_drivers() or []
        detail = f"installed: {', '.join(drivers)}" if drivers else "no ODBC driver is installed"
    return Diagnosis(diagnosis.driver_words, diagnosis.code, diagnosis.native, cause, detail)


def installed_odbc_drivers() -> list[str] | None:
    """The ODBC drivers unixODBC knows (``odbcinst -q -d``), or None when pyodbc cannot load."""
    try:
        import pyodbc
    except ImportError:
        return None
    return list(pyodbc.drivers())


def _look(diagnosis: Diagnosis, spec) -> str | None:
    pairs = {key.upper(): value for key, value in parse_connection_string(spec.connection_string)}
    if diagnosis.code in DRIVER_MANAGER_SQLSTATES:
        drivers = installed_odbc_drivers()
        driver = pairs.get("DRIVER", "")
        if drivers is not None and driver and driver not in drivers:
            return MISSING_DRIVER
        return None
    if diagnosis.code not in CONNECTION_REFUSED_SQLSTATES:
        return None
    host, port = _host_and_port(pairs, spec.dialect.name)
    if not host:
        return None
    try:
        socket.getaddrinfo(host, port or None)
    except socket.gaierror:
        return UNKNOWN_HOST
    if port:
        try:
            with socket.create_connection((host, port), timeout=min(5, max(1, spec.login_timeout_s))):
                pass
        except OSError:
            return UNKNOWN_PORT
    if spec.dialect.name == "postgresql":
        return _postgres_login_or_database(pairs, spec)
    return None


def _host_and_port(pairs: dict[str, str], dialect_name: str) -> tuple[str | None, int | None]:
    server = pairs.get("SERVER") or pairs.get("HOST") or pairs.get("SERVERNAME")
    if not server:
        return None, None
    server = server.removeprefix("tcp:")
    port_text = pairs.get("PORT")
    if "," in server:  # SQL Server's host,port
        server, _, port_text = server.partition(",")
    if "\\" in server:  # a named instance: its port is the browser's to tell
        return server.split("\\", 1)[0], None
    default = {"postgresql": 5432, "mssql": 1433}.get(dialect_name)
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        port = default
    return server, port


def _postgres_login_or_database(pairs: dict[str, str], spec) -> str | None:
    """psqlODBC says 08001 for both a refused password and a missing database: try the same login on ``postgres``."""
    from xmlshred.db.odbc import connect_odbc

    database = pairs.get("DATABASE")
    if not database or database == "postgres":
        return AUTHENTICATION
    probe = [(key, "postgres" if key.upper() == "DATABASE" else value)
             for key, value in parse_connection_string(spec.connection_string)]
    try:
        connection = connect_odbc(format_connection_string(probe), spec.login_timeout_s, autocommit=True)
    except Exception as exc:
        return AUTHENTICATION if odbc_sqlstate(exc) in CONNECTION_REFUSED_SQLSTATES else None
    connection.close()
    return UNKNOWN_DATABASE

