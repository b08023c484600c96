"""The record lineage of a contract: how each table's rows of one record are reached.

A table with the record key column is reached by it; any other table through
the ``relationships`` chain (child -> parent by the relationship's
``foreign_key_column``) up to a table that has the key. The result
(``vocab.lineage.RecordLineage``) is what ``migrate --reprocess`` deletes by
and what ``verify`` reads by.
"""

from __future__ import annotations

from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.lineage import Hop, RecordLineage, RowPath
from xmlshred.vocab.schema import TargetSchema


class LineageError(TerminalError):
    """A table whose rows cannot be tied to a record (no key column and no usable parent chain)."""


def record_lineage(contract, schema: TargetSchema) -> RecordLineage:
    """Each table of ``schema`` (compiled from ``contract``) with the way to its rows of a record.

    Raises LineageError naming the table when a table neither holds the record
    key nor has a relationship chain (with the linking column in both tables)
    to one that does; contract validation makes that impossible for a valid
    contract, so this is a guard, not an expected outcome.
    """
    columns = {table.name: set(table.column_names) for table in schema.tables}
    parents = {rel.child_table: rel for rel in contract.relationships}
    key = schema.key_column
    paths = []
    for table in schema.tables:
        hops: list[Hop] = []
        current = table.name
        seen = {current}
        while key not in columns.get(current, ()):
            relationship = parents.get(current)
            if relationship is None:
                raise LineageError(
                    f"table={table.name} has no {key} column and no relationship leads from "
                    f"table={current} to a table that has one; a reprocess could not find its rows")
            link, parent = relationship.foreign_key_column, relationship.parent_table
            if link not in columns.get(current, ()) or link not in columns.get(parent, ()):
                raise LineageError(
                    f"table={table.name}: relationship {parent} -> {current} links by column={link}, "
                    f"which is missing from table={current if link not in columns.get(current, ()) else parent}")
            if parent in seen:
                raise LineageError(f"table={table.name}: the relationships form a cycle at table={parent}")
            hops.append(Hop(link, parent))
            seen.add(parent)
            current = parent
        paths.append(RowPath(table.name, tuple(hops)))
    return RecordLineage(key, tuple(paths))
