"""Database targets: dialects, DDL, inserts, error classification, connections.

Public API::

    spec = parse_target_url("sqlite:///out/target.db")          # or "odbc:DRIVER={…};SERVER=…"
    target = open_target(spec, schema)   # ConnectTargetError when it cannot connect
    target.create_tables(schema)
    target.write_flush(schema, tables, log_rows)
    target.done_keys(keys) -> {key: status}
    target.done_records(keys) -> {key: Settled(status, stage, run_id)}
    target.reconnect(); target.close()

    lease = RunLease.acquire(spec, schema, run_id, wait_s=0)   # one run per target (targets.lease)
    lease.leased -> LeasedRun(run_id); lease.release(outcome)

pyodbc is imported only when an ``odbc:`` target is opened, psycopg only for a ``postgresql://`` one.
"""

from __future__ import annotations

from xmlshred.db.dialects import DIALECTS, MSSQL, POSTGRESQL, SQLITE, Dialect, identify_driver
from xmlshred.db.errors import (
    ConnectTargetError,
    DataTargetError,
    TargetError,
    TransientTargetError,
)
from xmlshred.db.secrets import mask_secrets
from xmlshred.db.spec import (
    OdbcSettings,
    TargetSpec,
    build_connection_string,
    parse_target_url,
    target_spec,
)
from xmlshred.db.sql import UnsafeIdentifierError, check_identifier
from xmlshred.db.values import canonical_text
from xmlshred.targets.lease import LeasedRun, LeaseError, LeaseHeld, LeaseLost, RunLease
from xmlshred.targets.processing_log import LogRow, Settled
from xmlshred.targets.target import Target
from xmlshred.vocab.schema import TargetSchema

__all__ = [
    "ConnectTargetError", "DIALECTS", "DataTargetError", "Dialect", "LogRow", "MSSQL", "OdbcSettings",
    "POSTGRESQL", "SQLITE", "Settled", "Target", "TargetError", "TargetSpec", "TransientTargetError",
    "UnsafeIdentifierError", "build_connection_string", "canonical_text", "check_identifier",
    "identify_driver", "mask_secrets", "open_target", "parse_target_url", "target_spec",
    "LeaseError", "LeaseHeld", "LeaseLost", "LeasedRun", "RunLease",
]


def open_target(spec, schema: TargetSchema | None = None) -> Target:
    """A connected Target for ``spec``: a TargetSpec, or settings (``Settings`` or its ``[target]``
    section, turned into one by ``db.spec.target_spec``, the same for migrate, init-db and report).

    ``schema`` (optional) lets ``done_keys`` work before any write. Raises
    ConnectTargetError, with the connection string masked and what to check,
    when the database cannot be reached; it is not retried here.
    """
    if not isinstance(spec, TargetSpec):
        spec = target_spec(spec)
    if spec.path is not None:
        from xmlshred.db.sqlite import connect_sqlite as connect
    else:
        from xmlshred.db.connect import connect_server_target as connect
    target = Target(spec, connect, schema)
    target.connect()
    return target
