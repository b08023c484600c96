"""The relational shape a compiled contract writes: tables, columns, keys.

These values are what the contract engine hands to the target layer; the
target layer never reads the contract JSON itself.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_TYPES = (
    "string", "int", "smallint", "bigint", "tinyint", "decimal", "float",
    "datetime", "date", "bit", "boolean",
)


@dataclass(frozen=True, slots=True)
class Column:
    """One target column."""

    name: str
    """Column name; already checked against ``[A-Za-z_][A-Za-z0-9_]*``."""
    data_type: str
    """One of DATA_TYPES (the contract's ``data_type``)."""
    data_length: int | None = None
    """``string``: max length; ``decimal``: decimal places; else None."""
    nullable: bool = True
    """False when the contract says ``nullable: false``."""
    identity: bool = False
    """True when the contract marks the column with ``identity_insert``."""


@dataclass(frozen=True, slots=True)
class Table:
    """One target table, columns in the fixed order every row tuple uses."""

    name: str
    """Table name (checked identifier)."""
    columns: tuple[Column, ...]
    """Columns; each mapped row is a tuple in exactly this order."""
    primary_key: tuple[str, ...] = ()
    """From the contract's optional ``tables`` section; () means none."""
    on_conflict: str = "error"
    """``error`` | ``skip`` | ``update`` (contract ``tables`` section)."""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


@dataclass(frozen=True, slots=True)
class TargetSchema:
    """Everything the target layer needs to create and fill the tables."""

    schema_name: str | None
    """The contract's ``target_schema`` (ignored by SQLite)."""
    key_column: str
    """The record key column (e.g. ``app_id``); also processing_log's key."""
    tables: tuple[Table, ...]
    """Data tables in insertion order; processing_log is not among them."""

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"table={name!r} is not in the contract's schema")
