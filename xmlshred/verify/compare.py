"""Compare one record's rows, as the contract maps them, with the rows the target holds.

Both sides are brought to CONTRACT.md's canonical forms (conformance section)
by one function, ``canonical``: a decimal as text with exactly ``data_length``
places, a date ``YYYY-MM-DD``, a datetime ``YYYY-MM-DD HH:MM:SS`` with
``.ffffff`` only when the fraction is not zero, bit/boolean and integers as
int, NULL as None. A database returns these as Decimal, datetime, date, bool,
int, float or their canonical text (SQLite); the mapper as Python values.

Rows of a table are compared as a bag per record. Rows left over on both
sides are paired (by primary key when the table has one, else each missing
row with the extra row that shares the most cells) and their differing cells
are counted by column; what cannot be paired is a missing or an extra row.
Nothing here keeps or returns a cell's value: only counts and column names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from xmlshred.contract.values import format_canonical
from xmlshred.vocab.schema import Column, Table

_INTEGER_TYPES = frozenset({"int", "smallint", "bigint", "tinyint", "bit", "boolean"})


def canonical(value: object, column: Column) -> object:
    """``value`` (from the mapper or from a database) in its column's canonical form."""
    if value is None:
        return None
    kind = column.data_type
    try:
        if kind in _INTEGER_TYPES:
            return int(value)
        if kind == "decimal":
            number = value if isinstance(value, Decimal) else Decimal(str(value))
            return format_canonical(number, kind, column.data_length)
        if kind == "float":
            return float(value)
        if kind == "datetime":
            if isinstance(value, str):
                value = datetime.fromisoformat(value.strip())
            return format_canonical(value, kind, column.data_length)
        if kind == "date":
            if isinstance(value, datetime):
                value = value.date()
            elif isinstance(value, str):
                value = date.fromisoformat(value.strip()[:10])
            return format_canonical(value, kind, column.data_length)
    except (ValueError, TypeError, InvalidOperation):
        return ("unreadable", type(value).__name__)  # differs from every real value; never the value itself
    return value if isinstance(value, str) else str(value)


def _column_converter(column: Column):
    """``canonical`` for one column, with the forms that already are canonical passed through:
    text of a string column, an int of an integer column, and the canonical text SQLite stores
    for decimals, dates and datetimes."""
    kind = column.data_type
    if kind == "string":
        return lambda value: value if value is None or value.__class__ is str else canonical(value, column)
    if kind in _INTEGER_TYPES:
        return lambda value: value if value is None or value.__class__ is int else canonical(value, column)
    if kind in ("decimal", "date", "datetime"):
        return lambda value: value if value is None or value.__class__ is str else canonical(value, column)
    return lambda value: canonical(value, column)


def row_canonicalizer(table: Table, skip: frozenset[int] = frozenset()):
    """A function turning a row of ``table`` into its canonical tuple (the ``skip`` cells as None);
    the same result as ``canonical_row``, made once per table."""
    converters = [(lambda value: None) if index in skip else _column_converter(column)
                  for index, column in enumerate(table.columns)]

    def convert(row: tuple) -> tuple:
        return tuple([convert_one(value) for convert_one, value in zip(converters, row)])  # noqa: B905

    return convert


def canonical_row(row: tuple, table: Table, skip: frozenset[int] = frozenset()) -> tuple:
    """The row's cells in canonical form; the cells at ``skip`` (not compared) as None."""
    return tuple(None if index in skip else canonical(value, column)
                 for index, (value, column) in enumerate(zip(row, table.columns, strict=True)))


@dataclass
class TableDiff:
    """What verify found for one table, over every record checked."""

    records: int = 0
    """Records checked that have (or should have) rows in the table."""
    rows_expected: int = 0
    rows_missing: int = 0
    rows_extra: int = 0
    cells: Counter = field(default_factory=Counter)
    """Column name -> cells that differ."""
    examples: dict[str, list[int]] = field(default_factory=dict)
    """``missing``, ``extra`` or a column name -> up to ``EXAMPLES`` record keys."""

    EXAMPLES = 3

    def example(self, what: str, key: int) -> None:
        keys = self.examples.setdefault(what, [])
        if len(keys) < self.EXAMPLES and key not in keys:
            keys.append(key)

    @property
    def agrees(self) -> bool:
        return not (self.rows_missing or self.rows_extra or self.cells)


def compare_rows(table: Table, key: int, expected: list[tuple], actual: list[tuple], diff: TableDiff) -> bool:
    """Add one record's comparison for ``table`` (canonical rows on both sides) to ``diff``;
    True when they agree."""
    if not expected and not actual:
        return True
    diff.records += 1
    diff.rows_expected += len(expected)
    missing = Counter(expected)
    missing.subtract(Counter(actual))
    left = [row for row, count in missing.items() for _ in range(max(count, 0))]
    right = [row for row, count in missing.items() for _ in range(max(-count, 0))]
    if not left and not right:
        return True
    for want, got in _pairs(table, left, right):
        if want is None:
            diff.rows_extra += 1
            diff.example("extra", key)
        elif got is None:
            diff.rows_missing += 1
            diff.example("missing", key)
        else:
            for column, a, b in zip(table.columns, want, got, strict=True):
                if a != b:
                    diff.cells[column.name] += 1
                    diff.example(column.name, key)
    return False


def _pairs(table: Table, left: list[tuple], right: list[tuple]):
    """(expected, actual) pairs of leftover rows; None on the side that has no partner."""
    right = list(right)
    if table.primary_key:
        positions = [table.column_names.index(name) for name in table.primary_key]
        by_key: dict[tuple, list[tuple]] = {}
        for row in right:
            by_key.setdefault(tuple(row[p] for p in positions), []).append(row)
        unpaired = []
        for row in left:
            partners = by_key.get(tuple(row[p] for p in positions))
            if partners:
                partner = partners.pop(0)
                right.remove(partner)
                yield row, partner
            else:
                unpaired.append(row)
        left = unpaired
    for row in left:
        if not right:
            yield row, None
            continue
        best = max(right, key=lambda other: sum(a == b for a, b in zip(row, other, strict=True)))
        right.remove(best)
        yield row, best
    for row in right:
        yield None, row
