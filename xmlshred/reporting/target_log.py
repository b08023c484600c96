"""Reading a target's processing_log and xmlshred_runs without changing anything (``report``,
end-of-run notes).

Opens the target read-only (``targets.readonly``): a missing SQLite file is
not created, and a missing processing_log is told apart from an empty one.
"""

from __future__ import annotations

from dataclasses import dataclass

from xmlshred.targets.readonly import open_readonly
from xmlshred.vocab.names import PROCESSING_LOG, QUALITY_TABLE, REJECTS_TABLE, RUNS_TABLE


@dataclass(frozen=True, slots=True)
class LogSnapshot:
    """processing_log of one target, as ``report`` needs it."""

    exists: bool
    """The target (SQLite file) exists."""
    has_log: bool
    """processing_log is there."""
    rows: list[tuple]
    """Every row, in processing_log column order."""
    runs: list[tuple] | None = None
    """Every xmlshred_runs row (targets.runs_table.COLUMNS order); None when the table is not there."""
    quality: list[tuple] | None = None
    """Every xmlshred_quality row (targets.quality.QUALITY_COLUMNS order); None when the table is not there."""
    rejects: list[tuple] | None = None
    """Every xmlshred_rejects row (targets.quality.REJECT_COLUMNS order); None when the table is not there."""


def read_processing_log(spec, schema_name: str | None) -> LogSnapshot:
    """All processing_log rows of ``spec``; TargetError when the target cannot be read."""
    from xmlshred.vocab.schema import TargetSchema

    # Only the schema name matters for reading processing_log.
    target = open_readonly(spec, TargetSchema(schema_name=schema_name, key_column="key", tables=()))
    try:
        if not target.exists:
            return LogSnapshot(False, False, [])
        runs = target.table_rows(RUNS_TABLE, schema_name) if target.has_table(RUNS_TABLE) else None
        from xmlshred.targets import quality

        found = quality.read_quality(target._target, schema_name) if target.has_table(QUALITY_TABLE) else None
        rejects = quality.read_rejects(target._target, schema_name) if target.has_table(REJECTS_TABLE) else None
        if not target.has_processing_log:
            return LogSnapshot(True, False, [], runs, found, rejects)
        return LogSnapshot(True, True, target.table_rows(PROCESSING_LOG, schema_name), runs, found, rejects)
    finally:
        target.close()


def failed_from_earlier_runs(spec, schema, run_id: str) -> int:
    """How many processing_log rows say ``failed`` from runs other than ``run_id`` (0 without a log)."""
    target = open_readonly(spec, schema)
    try:
        if not target.has_processing_log:
            return 0
        from xmlshred.db import sql

        ref = sql.table_ref(target.dialect, schema.schema_name, PROCESSING_LOG)
        rows = target._target._read(f"SELECT COUNT(*) FROM {ref} WHERE status = ? AND run_id <> ?",
                                    ("failed", run_id), PROCESSING_LOG)
        return int(rows[0][0])
    finally:
        target.close()
