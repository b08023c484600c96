"""xmlshred_runs: one row per run that held a target's lease, written by the lease itself.

Columns: ``run_id`` (primary key), ``host``, ``pid``, ``started``,
``heartbeat`` (refreshed while the run holds the lease), ``finished`` (NULL
while running) and ``outcome`` (``running``, then ``finished``, ``error``,
``interrupted``, or ``abandoned`` when a later run found the holder gone).
It lives beside processing_log (same schema), so a refused run can say who
holds the target and ``report`` can read the runs from the target itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xmlshred.db import sql
from xmlshred.vocab.names import RUNS_TABLE
from xmlshred.vocab.schema import Column, Table

if TYPE_CHECKING:
    from xmlshred.db.dialect_types import Dialect

TABLE_NAME = RUNS_TABLE
RUNNING = "running"
ABANDONED = "abandoned"
OUTCOMES = (RUNNING, "finished", "error", "interrupted", ABANDONED)

CONTRACT_HASH = "contract_hash"
"""The fingerprint of the run's contract (written by ``targets.fingerprints`` once the run holds the lease)."""
CONTRACT_TABLES = "contract_tables"
"""The run's contract's data tables, comma separated (a reprocess checks they are still the contract's)."""

COLUMNS = ("run_id", "host", "pid", "started", "heartbeat", "finished", "outcome")


def runs_table() -> Table:
    """xmlshred_runs as a Table, so the dialects' DDL builders create it like any other."""
    return Table(
        name=TABLE_NAME,
        columns=(
            Column("run_id", "string", 64, nullable=False),
            Column("host", "string", 255, nullable=False),
            Column("pid", "int", nullable=False),
            Column("started", "datetime", nullable=False),
            Column("heartbeat", "datetime", nullable=False),
            Column("finished", "datetime"),
            Column("outcome", "string", 32, nullable=False),
            Column(CONTRACT_HASH, "string", 64),
            Column(CONTRACT_TABLES, "string", 4000),
        ),
        primary_key=("run_id",),
        on_conflict="error",
    )


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of xmlshred_runs, as read back."""

    run_id: str
    """The run's id (as in logs, metrics and processing_log.run_id)."""
    host: str
    """Host name of the machine the run's process ran on."""
    pid: int
    """Its process id there."""
    started: str
    """When it took the lease (UTC, to the second)."""
    heartbeat: str
    """Its last sign of life (UTC, to the second)."""
    finished: str | None
    """When it gave the lease back; None while running (or when it died)."""
    outcome: str
    """``running`` | ``finished`` | ``error`` | ``interrupted`` | ``abandoned``."""

    def describe(self) -> str:
        """``run R since S UTC on host H pid P (last heartbeat T UTC)``: what logs may say about it."""
        return (f"run {self.run_id} since {self.started} UTC on host {self.host} pid {self.pid} "
                f"(last heartbeat {self.heartbeat} UTC)")


def utc_now() -> dt.datetime:
    """Naive UTC, as the target's datetime columns store it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _when(value) -> str | None:
    """A stored datetime (a datetime on servers, canonical text in SQLite) to the second."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)[:19]


def record_of(row) -> RunRecord:
    """The run a row of xmlshred_runs tells; columns added after the first seven (the contract's
    fingerprint and tables, added by upgrades) are not part of it."""
    run_id, host, pid, started, heartbeat, finished, outcome = row[:7]
    return RunRecord(str(run_id), str(host), int(pid), _when(started), _when(heartbeat), _when(finished),
                     str(outcome))


class RunsStatements:
    """The statements the lease sends for xmlshred_runs, and their parameters, in one dialect."""

    def __init__(self, dialect: Dialect, schema_name: str | None) -> None:
        self.dialect = dialect
        self.table = runs_table()
        self.ref = sql.table_ref(dialect, schema_name, TABLE_NAME)
        self._adapters = dict(zip(self.table.column_names, dialect.adapters(self.table.columns), strict=True))
        self._schema_name = schema_name

    def _value(self, column: str, value):
        adapter = self._adapters[column]
        return adapter(value) if (adapter is not None and value is not None) else value

    def create(self) -> list[str]:
        """CREATE SCHEMA (where schemas exist) and CREATE TABLE IF NOT EXISTS for xmlshred_runs."""
        statements = []
        if self._schema_name and self.dialect.create_schema is not None:
            statements.append(self.dialect.create_schema(self.dialect, self._schema_name))
        statements.append(self.dialect.create_table(self.dialect, self._schema_name, self.table))
        if self.dialect.ddl_lock is not None:
            statements.insert(0, self.dialect.ddl_lock(self.dialect))
        return statements

    def insert(self, run_id: str, host: str, pid: int, now: dt.datetime) -> tuple[str, tuple]:
        values = (run_id, host[:255], pid, now, now, None, RUNNING)
        params = tuple(self._value(column, value) for column, value in zip(COLUMNS, values, strict=True))
        return sql.insert_values(self.dialect, self.ref, COLUMNS, 1), params

    def heartbeat(self, run_id: str, now: dt.datetime) -> tuple[str, tuple]:
        return (f"UPDATE {self.ref} SET {self._q('heartbeat')} = ? WHERE {self._q('run_id')} = ?",
                (self._value("heartbeat", now), run_id))

    def finish(self, run_id: str, outcome: str, now: dt.datetime) -> tuple[str, tuple]:
        """Marks ``run_id`` ended with ``outcome`` (also used to mark a gone holder ``abandoned``).

        Only a row still open changes: once a later run has marked it
        ``abandoned``, that record of the takeover stays.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome={outcome!r}; xmlshred_runs takes one of {', '.join(OUTCOMES)}")
        return (f"UPDATE {self.ref} SET {self._q('finished')} = ?, {self._q('outcome')} = ? "
                f"WHERE {self._q('run_id')} = ? AND {self._q('finished')} IS NULL",
                (self._value("finished", now), outcome, run_id))

    def open_runs(self) -> str:
        """Every run without ``finished``, the latest start first."""
        return (f"SELECT {sql.column_list(self.dialect, COLUMNS)} FROM {self.ref} "
                f"WHERE {self._q('finished')} IS NULL ORDER BY {self._q('started')} DESC")

    def _q(self, column: str) -> str:
        return sql.quote(self.dialect, column, "column")
