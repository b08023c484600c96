"""Read back the rows a target holds for a set of records, table by table (``verify``).

Each table is read by ``db.record_rows.select_rows``: by the record key, or
through the parent tables for a child table without it (the contract's
lineage), so every row comes with the key of the record that owns it. Works
on a Target or a ReadOnlyTarget; reads only.
"""

from __future__ import annotations

from collections.abc import Iterable

from xmlshred.db import sql
from xmlshred.db.record_rows import key_chunk, select_rows
from xmlshred.targets.readonly import ReadOnlyTarget
from xmlshred.vocab.lineage import RecordLineage
from xmlshred.vocab.schema import TargetSchema


def read_record_rows(target, schema: TargetSchema, lineage: RecordLineage,
                     keys: Iterable[int]) -> dict[str, dict[int, list[tuple]]]:
    """``{table: {record key: [row tuples in Table column order, as stored]}}`` for ``keys``.

    A table missing from the target reads as empty for every record (verify then reports its rows
    missing). Raises TargetError (classified, naming the table) when a read fails otherwise.
    """
    base = target._target if isinstance(target, ReadOnlyTarget) else target
    keys = list(dict.fromkeys(int(key) for key in keys))
    found: dict[str, dict[int, list[tuple]]] = {}
    if base is None or not keys:
        return {table.name: {} for table in schema.tables}
    dialect = base.dialect
    for table in schema.tables:
        per_key: dict[int, list[tuple]] = {}
        found[table.name] = per_key
        if isinstance(target, ReadOnlyTarget) and not target.has_table(table.name):
            continue
        path = lineage.path(table.name)
        width = len(table.columns)
        for chunk in sql.chunks(keys, key_chunk(dialect)):
            statement = select_rows(dialect, schema.schema_name, path, table, lineage.key_column, len(chunk))
            for row in base._read(statement, list(chunk), table.name):
                per_key.setdefault(int(row[width]), []).append(tuple(row[:width]))
    return found
