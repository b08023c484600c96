"""Opening a server target's connection: psycopg for ``postgresql://`` URLs, pyodbc for ``odbc:``.

The dialect record says which (``Dialect.client``); each driver is imported only when used.
"""

from __future__ import annotations

from xmlshred.db.spec import TargetSpec


def connect_server_target(spec: TargetSpec):
    """The connection of a PostgreSQL or SQL Server target (explicit transactions), by ``spec.dialect.client``."""
    if spec.dialect.client == "psycopg":
        from xmlshred.db.pg import connect_postgres_target

        return connect_postgres_target(spec)
    from xmlshred.db.odbc import connect_odbc_target

    return connect_odbc_target(spec)
