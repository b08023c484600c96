"""Database targets: open one, create its tables, write flushes to it, hold its run lease.

Public API (what the package itself offers; the database layer it builds on, dialects, SQL,
URLs, error classes, the password masker, is ``xmlshred.db``: ``db.spec.parse_target_url``,
``db.errors.TargetError`` and its kinds, ``db.dialects``, ``db.secrets.mask_secrets``)::

    spec = parse_target_url("sqlite:///out/target.db")   # xmlshred.db.spec; or "odbc:DRIVER={…};SERVER=…"
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

from xmlshred.db.spec import TargetSpec, target_spec
from xmlshred.targets.lease import LeasedRun, LeaseError, LeaseHeld, LeaseLost, RunLease
from xmlshred.targets.processing_log import LogRow, Settled
from xmlshred.targets.target import Target
from xmlshred.vocab.schema import TargetSchema

__all__ = [
    "LeaseError", "LeaseHeld", "LeaseLost", "LeasedRun", "LogRow", "RunLease", "Settled", "Target", "open_target",
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
