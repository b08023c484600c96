"""How to reach one record's rows in each table: the record key, or a chain of parents.

A table that holds the record key column (``app_id``) is reached directly. A
child table that carries only its parent's key (``app_contact_address.con_id``)
is reached through its parent: its rows are those whose ``con_id`` is one of
the record's ``app_contact_base`` rows' ``con_id``. ``contract.lineage`` works
these out from the contract's relationships; the target layer turns them into
DELETE (reprocess) and SELECT (verify) statements.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hop:
    """One step from a table up to its parent."""

    column: str
    """The column both tables hold (the child's foreign key, the parent's key)."""
    parent: str
    """The parent table."""


@dataclass(frozen=True, slots=True)
class RowPath:
    """How the rows of ``table`` that belong to a record are found."""

    table: str
    """The table whose rows are meant."""
    hops: tuple[Hop, ...] = ()
    """() when ``table`` holds the record key; else the parents to go through, nearest first,
    the last of which holds the record key."""

    @property
    def keyed_table(self) -> str:
        """The table whose record-key column decides (``table`` itself when there are no hops)."""
        return self.hops[-1].parent if self.hops else self.table


@dataclass(frozen=True, slots=True)
class RecordLineage:
    """Every table of a contract and how to reach a record's rows in it."""

    key_column: str
    """The record key column."""
    paths: tuple[RowPath, ...]
    """One per data table, in the contract's insertion order."""

    def path(self, table: str) -> RowPath:
        for path in self.paths:
            if path.table == table:
                return path
        raise KeyError(f"table={table!r} is not in the contract's lineage")

    @property
    def delete_order(self) -> tuple[RowPath, ...]:
        """Children before the parents they are reached through (reverse insertion order)."""
        return tuple(reversed(self.paths))
