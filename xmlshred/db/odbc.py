"""Opening an ODBC connection (PostgreSQL or SQL Server) through pyodbc.

pyodbc is imported here, on first use, because it needs the system's
unixODBC library and the SQLite default must work without it.
"""

from __future__ import annotations

from types import ModuleType

from xmlshred.db.errors import ConnectTargetError
from xmlshred.db.spec import TargetSpec


def import_pyodbc() -> ModuleType:
    """The pyodbc module; ConnectTargetError (with what to install) when it cannot load."""
    try:
        import pyodbc
    except ImportError as exc:
        raise ConnectTargetError(
            "pyodbc cannot be imported, so ODBC targets and sources are unavailable; "
            "install unixODBC (e.g. apt-get install unixodbc) and `pip install pyodbc`"
        ) from exc
    # A pooled connection may be a dead one after an outage; reconnect() must
    # get a fresh session. Only effective before the process's first connect.
    pyodbc.pooling = False
    return pyodbc


def connect_odbc(connection_string: str, login_timeout_s: int, autocommit: bool = False):
    """A pyodbc connection; raises pyodbc.Error when the server refuses or cannot be reached."""
    pyodbc = import_pyodbc()
    return pyodbc.connect(connection_string, autocommit=autocommit, timeout=int(login_timeout_s))


def connect_odbc_target(spec: TargetSpec):
    """The target's connection: explicit transactions (autocommit off)."""
    assert spec.connection_string is not None
    return connect_odbc(spec.connection_string, spec.login_timeout_s)


def loaded_driver(connection) -> str | None:
    """The file name of the ODBC driver the driver manager loaded for ``connection`` (None: unknown)."""
    try:
        pyodbc = import_pyodbc()
        return str(connection.getinfo(pyodbc.SQL_DRIVER_NAME))
    except Exception:  # not an ODBC connection, or the driver does not say: treated as unknown
        return None


def set_fast_executemany(connection, cursor, dialect) -> bool:
    """Turn pyodbc's fast_executemany on for ``cursor`` when, and only when, the dialect asks for it
    AND the driver actually loaded is Microsoft's ODBC Driver 17 or later.

    The one place in xmlshred that sets fast_executemany: with FreeTDS it segfaults the Python
    process (every column type, one row suffices), so a dialect record alone (which a DSN or a
    ``dialect`` setting can make up) is never trusted. Returns whether it is on.
    """
    from xmlshred.db.dialects import microsoft_driver_file

    enabled = bool(dialect.fast_executemany) and microsoft_driver_file(loaded_driver(connection))
    if enabled:
        cursor.fast_executemany = True
    return enabled
