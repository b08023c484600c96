"""processing_log: one row per record key saying how its last attempt ended.

The key column (named like the contract's record key, e.g. ``app_id``) is the
primary key; writing a key that is already there updates the row and adds one
to ``attempts``. Rows commit in the same transaction as the record's data.

The ledger never lies: a ``success`` row is never changed to ``failed``. The
upsert statement itself carries that rule (``SUCCESS_IS_FINAL``), so it holds
in the database for every writer, whatever a caller checked or forgot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from xmlshred.db.errors import TargetError
from xmlshred.vocab.names import PROCESSING_LOG
from xmlshred.vocab.schema import Column, Table

TABLE_NAME = PROCESSING_LOG
STATUSES = ("success", "failed")
REASON_LENGTH = 1000


@dataclass(frozen=True, slots=True)
class Settled:
    """A key's processing_log entry, as a reader finds it (``Target.done_records``)."""

    status: str
    """``success`` | ``failed``."""
    stage: str | None
    """The failure's stage; None for a success."""
    run_id: str | None
    """The run that wrote the entry last."""
    contract_hash: str = ""
    """The fingerprint of the contract that wrote it ("" for entries from before fingerprints)."""


@dataclass(frozen=True, slots=True)
class LogRow:
    """One processing_log entry to write."""

    key: int
    """The record key."""
    status: str
    """``success`` | ``failed``."""
    stage: str | None
    """``validate``, ``parse``, ``map``, ``insert``, or None for a success."""
    reason: str | None
    """Short reason without field values; None for a success."""
    run_id: str
    """The run that wrote this row."""
    updated_at: dt.datetime
    """When (naive UTC)."""
    contract_hash: str = ""
    """The fingerprint of the contract the run maps with (``contract.fingerprint``)."""


CONTRACT_HASH = "contract_hash"
"""The column holding the fingerprint of the contract that produced the record's rows; added to
an older processing_log by ``targets.upgrade`` (its earlier rows read as "", differing from any)."""


def log_table(key_column: str) -> Table:
    """processing_log as a Table, so the same DDL builders create it everywhere."""
    return Table(
        name=TABLE_NAME,
        columns=(
            Column(key_column, "bigint", nullable=False),
            Column("status", "string", 16, nullable=False),
            Column("stage", "string", 16),
            Column("reason", "string", REASON_LENGTH),
            Column("attempts", "int", nullable=False),
            Column("run_id", "string", 64),
            Column("updated_at", "datetime", nullable=False),
            Column(CONTRACT_HASH, "string", 64),
        ),
        primary_key=(key_column,),
        on_conflict="update",
    )


INCREMENTED = ("attempts",)
"""Columns that become ``existing + 1`` when the key is already logged."""


@dataclass(frozen=True, slots=True)
class KeepRule:
    """An existing row is left untouched when an upsert would change ``column`` from ``kept`` to ``refused``."""

    column: str
    """The column the rule looks at."""
    kept: str
    """The existing value that is final."""
    refused: str
    """The incoming value that may not replace it."""


SUCCESS_IS_FINAL = KeepRule("status", "success", "failed")
"""A record that committed stays ``success``: a later ``failed`` for its key (a second run that
lost a race, a replayed failure) leaves the row as it is, attempts included."""

KEEP_RULES = (SUCCESS_IS_FINAL,)
"""The rules every processing_log upsert carries."""


def log_values(rows) -> list[tuple]:
    """Row tuples in log_table column order; the last row of a repeated key wins."""
    latest: dict[int, LogRow] = {}
    for row in rows:
        if row.status not in STATUSES:
            raise TargetError(f"key={row.key} has status={row.status!r}; processing_log takes success or failed")
        latest.pop(row.key, None)
        latest[row.key] = row
    return [
        (row.key, row.status, row.stage or None,
         (row.reason[:REASON_LENGTH] if row.reason else None), 1, row.run_id, row.updated_at,
         row.contract_hash)
        for row in latest.values()
    ]
