"""What the target says about contract fingerprints: per-run records, counts, reprocess scope.

- ``record_run_contract``: the run's fingerprint and tables on its xmlshred_runs row.
- ``fingerprint_counts``: how many records each fingerprint produced (``report``).
- ``reprocess_count``: how many logged records a ``--reprocess`` would reload (``--dry-run``).
- ``foreign_holders``: why a reprocess must be refused: the records' rows live in tables the
  current contract does not have (its tables were renamed, or another contract loaded them).

Reads go through a Target or a ReadOnlyTarget (``targets.readonly``); nothing here
prints or returns a field value of a document: keys, counts, table names, fingerprints.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from xmlshred.db import sql
from xmlshred.db.errors import TargetError
from xmlshred.targets import processing_log, runs_table
from xmlshred.targets.readonly import ReadOnlyTarget
from xmlshred.targets.target import Target
from xmlshred.vocab.schema import TargetSchema


def _target_of(target) -> Target | None:
    return target._target if isinstance(target, ReadOnlyTarget) else target


def record_run_contract(target: Target, schema: TargetSchema, run_id: str, fingerprint: str,
                        tables: Sequence[str]) -> None:
    """Write the run's contract fingerprint and its data tables on its xmlshred_runs row (after the
    lease wrote the row and ``create_tables`` upgraded the table). TargetError when refused."""
    ref = sql.table_ref(target.dialect, schema.schema_name, runs_table.TABLE_NAME)
    q = lambda name: sql.quote(target.dialect, name, "column")  # noqa: E731
    statement = (f"UPDATE {ref} SET {q(runs_table.CONTRACT_HASH)} = ?, {q(runs_table.CONTRACT_TABLES)} = ? "
                 f"WHERE {q('run_id')} = ?")
    target.in_transaction(lambda cursor: cursor.execute(statement, [fingerprint, ",".join(tables)[:4000], run_id]),
                          "record the run's contract", runs_table.TABLE_NAME)


def _hash_column(target: Target, schema: TargetSchema) -> str | None:
    """The quoted contract_hash column of processing_log, or None on a target not yet upgraded."""
    names = target.table_columns(processing_log.TABLE_NAME, schema.schema_name)
    if processing_log.CONTRACT_HASH not in names:
        return None
    return sql.quote(target.dialect, processing_log.CONTRACT_HASH, "column")


def fingerprint_counts(target, schema: TargetSchema) -> list[tuple[str, str, int]]:
    """(fingerprint, status, records) for every fingerprint in processing_log, most records first;
    "" is the fingerprint of entries from before fingerprints. [] without processing_log."""
    if isinstance(target, ReadOnlyTarget) and not target.has_processing_log:
        return []
    base = _target_of(target)
    ref = sql.table_ref(base.dialect, schema.schema_name, processing_log.TABLE_NAME)
    status = sql.quote(base.dialect, "status", "column")
    column = _hash_column(base, schema)
    if column is None:
        rows = base._read(f"SELECT {status}, COUNT(*) FROM {ref} GROUP BY {status}", (), processing_log.TABLE_NAME)
        found = [("", str(row[0]), int(row[1])) for row in rows]
    else:
        rows = base._read(f"SELECT {column}, {status}, COUNT(*) FROM {ref} GROUP BY {column}, {status}", (),
                          processing_log.TABLE_NAME)
        merged: dict[tuple[str, str], int] = {}
        for fingerprint, state, count in rows:  # NULL and "" are both "before fingerprints"
            merged[(fingerprint or "", str(state))] = merged.get((fingerprint or "", str(state)), 0) + int(count)
        found = [(fingerprint, state, count) for (fingerprint, state), count in merged.items()]
    return sorted(found, key=lambda row: (-row[2], row[0], row[1]))


def reprocess_count(target, schema: TargetSchema, mode: str, fingerprint: str, keys: Collection[int] = (),
                    key_start: int | None = None, key_end: int | None = None) -> int:
    """How many records processing_log holds that ``--reprocess mode`` would load again (within the key
    range). Records never logged are not counted: any run loads those."""
    if isinstance(target, ReadOnlyTarget) and not target.has_processing_log:
        return 0
    base = _target_of(target)
    dialect = base.dialect
    ref = sql.table_ref(dialect, schema.schema_name, processing_log.TABLE_NAME)
    key = sql.quote(dialect, schema.key_column, "column")
    conditions: list[str] = []
    params: list = []
    if key_start is not None:
        conditions.append(f"{key} >= ?")
        params.append(key_start)
    if key_end is not None:
        conditions.append(f"{key} <= ?")
        params.append(key_end)
    if mode == "keys":
        total = 0
        wanted = sorted(int(value) for value in keys
                        if (key_start is None or value >= key_start) and (key_end is None or value <= key_end))
        for chunk in sql.chunks(wanted, min(1000, dialect.max_params_per_statement)):
            where = f"{key} IN {sql.placeholders(len(chunk))}"
            total += int(base._read(f"SELECT COUNT(*) FROM {ref} WHERE {where}", list(chunk),
                                    processing_log.TABLE_NAME)[0][0])
        return total
    if mode == "failed":
        conditions.append(f"{sql.quote(dialect, 'status', 'column')} = ?")
        params.append("failed")
    elif mode == "stale":
        column = _hash_column(base, schema)
        if column is not None:
            conditions.append(f"({column} IS NULL OR {column} <> ?)")
            params.append(fingerprint)
    elif mode != "all":
        raise ValueError(f"reprocess mode {mode!r}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return int(base._read(f"SELECT COUNT(*) FROM {ref}{where}", params, processing_log.TABLE_NAME)[0][0])


def foreign_holders(target: ReadOnlyTarget, schema: TargetSchema, fingerprint: str) -> list[str]:
    """Reasons a reprocess of this target with this contract must be refused (empty: none).

    A record's earlier rows can only be replaced where the current contract
    writes. Refused when processing_log holds loaded records and (1) a table
    of the current contract does not exist in the target (its rows are
    elsewhere: renamed tables, another contract), or (2) a run that wrote
    under another fingerprint recorded tables this contract does not have.
    """
    if not target.has_processing_log:
        return []
    base = _target_of(target)
    ref = sql.table_ref(base.dialect, schema.schema_name, processing_log.TABLE_NAME)
    status = sql.quote(base.dialect, "status", "column")
    loaded = int(base._read(f"SELECT COUNT(*) FROM {ref} WHERE {status} = ?", ["success"],
                            processing_log.TABLE_NAME)[0][0])
    if not loaded:
        return []
    current = [table.name for table in schema.tables]
    reasons = []
    missing = [name for name in current if not target.has_table(name)]
    if missing:
        reasons.append(f"processing_log holds {loaded} loaded records, but table(s) {', '.join(missing)} of "
                       "this contract do not exist in the target: those records' rows are held by another "
                       "contract's tables (renamed tables, or another contract loaded this target)")
    if not target.has_table(runs_table.TABLE_NAME):
        return reasons
    names = base.table_columns(runs_table.TABLE_NAME, schema.schema_name)
    column = _hash_column(base, schema)
    if runs_table.CONTRACT_TABLES not in names or column is None:
        return reasons
    runs_ref = sql.table_ref(base.dialect, schema.schema_name, runs_table.TABLE_NAME)
    q = lambda name: sql.quote(base.dialect, name, "column")  # noqa: E731
    recorded = base._read(f"SELECT {q(runs_table.CONTRACT_HASH)}, {q(runs_table.CONTRACT_TABLES)} FROM {runs_ref} "
                          f"WHERE {q(runs_table.CONTRACT_HASH)} IS NOT NULL AND {q(runs_table.CONTRACT_HASH)} <> ?",
                          [fingerprint], runs_table.TABLE_NAME)
    held = {str(row[0]) for row in base._read(
        f"SELECT DISTINCT {column} FROM {ref} WHERE {status} = ? AND {column} IS NOT NULL", ["success"],
        processing_log.TABLE_NAME)}
    for other, tables in recorded:
        if other not in held or not tables:
            continue
        foreign = sorted(set(str(tables).split(",")) - set(current))
        if foreign:
            reasons.append(f"records written under contract {other} have rows in table(s) {', '.join(foreign)}, "
                           "which this contract does not write: a reprocess could not remove them")
    return list(dict.fromkeys(reasons))


__all__ = ["record_run_contract", "fingerprint_counts", "reprocess_count", "foreign_holders", "TargetError"]
