"""Turning row values into what each database stores.

SQLite has no decimal or datetime type, so it stores them as text in the
canonical form of CONTRACT.md's conformance section: a datetime is
``YYYY-MM-DD HH:MM:SS`` (``.ffffff`` only when the fraction is not zero), a
date ``YYYY-MM-DD``, a decimal a string with exactly ``data_length`` places.
The server databases receive Python values as parameters unchanged, except
that aware datetimes become naive UTC (the contract's datetimes are UTC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from xmlshred.vocab.schema import Column

Adapter = Callable[[Any], Any]


def canonical_datetime(value: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` plus ``.ffffff`` only when the fraction is not zero."""
    value = naive_utc(value)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{value.microsecond:06d}" if value.microsecond else text


def canonical_decimal(value: Decimal, places: int | None) -> str:
    """The decimal with exactly ``places`` places (rounded half-up), as text."""
    if places is None:
        return format(value, "f")
    return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


def canonical_text(value: Any, column: Column | None = None) -> Any:
    """A value in the conformance form: what SQLite stores and tests compare.

    Strings, ints, floats and None pass through; decimals, datetimes and
    dates become canonical text; bools become 0/1.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        if column is not None and column.data_type == "date":
            return value.date().isoformat()
        return canonical_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return canonical_decimal(value, column.data_length if column is not None else None)
    return value


def naive_utc(value: dt.datetime) -> dt.datetime:
    """An aware datetime converted to UTC without tzinfo; a naive one unchanged."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _server_value(column: Column) -> Adapter:
    if column.data_type == "date":
        return lambda value: value.date() if isinstance(value, dt.datetime) else value
    if column.data_type == "datetime":
        return lambda value: naive_utc(value) if isinstance(value, dt.datetime) else value
    if column.data_type in ("bit", "boolean"):
        return lambda value: int(value) if isinstance(value, bool) else value
    return None


def _text_value(column: Column) -> Adapter | None:
    # Specialised per column, because this runs for every value of every flush.
    if column.data_type == "datetime":
        def datetime_text(value):
            if type(value) is dt.datetime and value.tzinfo is None:
                # isoformat writes .ffffff only when the fraction is not zero: the canonical form.
                return value.isoformat(" ")
            return canonical_text(value, column)
        return datetime_text
    if column.data_type == "decimal" and column.data_length is not None:
        exponent = Decimal(1).scaleb(-column.data_length)

        def decimal_text(value):
            if type(value) is Decimal:
                return format(value.quantize(exponent, rounding=ROUND_HALF_UP), "f")
            return canonical_text(value, column)
        return decimal_text
    if column.data_type in ("decimal", "date", "bit", "boolean"):
        return lambda value: canonical_text(value, column)
    return None


def server_adapters(columns: tuple[Column, ...]) -> tuple[Adapter | None, ...]:
    """Per-column adapters for PostgreSQL and SQL Server (None: pass through)."""
    return tuple(_server_value(column) for column in columns)


def text_adapters(columns: tuple[Column, ...]) -> tuple[Adapter | None, ...]:
    """Per-column adapters for SQLite: canonical text for decimals and datetimes."""
    return tuple(_text_value(column) for column in columns)


def adapt_rows(adapters: tuple[Adapter | None, ...], rows) -> list[tuple]:
    """Apply per-column adapters to every row; None values stay None."""
    active = [(index, adapter) for index, adapter in enumerate(adapters) if adapter is not None]
    if not active:
        return [tuple(row) for row in rows]
    adapted = []
    for row in rows:
        values = list(row)
        for index, adapter in active:
            if values[index] is not None:
                values[index] = adapter(values[index])
        adapted.append(tuple(values))
    return adapted
