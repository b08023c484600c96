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
