"""Turning row values into what each database is sent.

Mapped rows hold Python values (``Decimal``, ``datetime`` …). The mapper
workers turn a whole batch of them into database-ready plain values once
(``ReadyResults``), so neither the pipe back to the parent nor the single
inserter handles those objects again:

* SQLite has no decimal or datetime type, so it stores them as text in the
  canonical form of docs/contract.md's conformance section: a datetime is
  ``YYYY-MM-DD HH:MM:SS`` (``.ffffff`` only when the fraction is not zero), a
  date ``YYYY-MM-DD``, a decimal a string with exactly ``data_length`` places.
* SQL Server is sent text too, which the server converts into the column's
  type (``tsql_text_rows``): the same decimals, and dates and datetimes in the
  ISO 8601 forms that it reads alike under every language and ``DATEFORMAT``,
  into the DATE and DATETIME2 columns ``init-db`` makes and into the DATETIME
  and SMALLDATETIME columns of schemas made before it: ``YYYYMMDD`` and
  ``YYYY-MM-DDTHH:MM:SS`` with the fraction's significant digits only. (Into a
  DATETIME column, ``YYYY-MM-DD HH:MM:SS`` is read as year-day-month under
  ``DATEFORMAT dmy``, a British or German login's, and more than three
  fraction digits are refused.)
* PostgreSQL gets the same values from the workers, and the inserter sends
  each column of a flush as one array literal (``INSERT … SELECT * FROM
  unnest(CAST(? AS NUMERIC[]), …)``, ``column_array``): each value an array
  element, the same canonical text double-quoted and escaped for strings,
  decimals and datetimes, ``NULL`` for None. The usual columns are joined in
  C, so making a literal costs the single inserter little.

Single-row statements outside flushes (xmlshred_runs) use the dialect's
``adapters``: canonical text for SQLite, Python values for the servers.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from xmlshred.vocab.results import BatchRows, MappedRecord, ReadyRecord, TableRows
from xmlshred.vocab.schema import Column, Table, TargetSchema

if TYPE_CHECKING:
    from xmlshred.db.dialect_types import Dialect

Adapter = Callable[[Any], Any]
RowConverter = Callable[[Sequence[tuple]], list[tuple]]
"""Turns rows of one table (Python values, Table column order) into what the database is sent."""


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
    if column.data_type == "date":
        def date_text(value):
            if type(value) is dt.date:
                return value.isoformat()
            return canonical_text(value, column)
        return date_text
    if column.data_type in ("bit", "boolean"):
        def bit_value(value):
            return int(value) if type(value) is bool else value
        return bit_value
    if column.data_type == "decimal":
        return lambda value: canonical_text(value, column)
    return None


def server_adapters(columns: tuple[Column, ...]) -> tuple[Adapter | None, ...]:
    """Per-column adapters for PostgreSQL and SQL Server (None: pass through)."""
    return tuple(_server_value(column) for column in columns)


def text_adapters(columns: tuple[Column, ...]) -> tuple[Adapter | None, ...]:
    """Per-column adapters for SQLite: canonical text for decimals and datetimes."""
    return tuple(_text_value(column) for column in columns)


# ---------------------------------------------------------------- whole rows, per database


def _all_of_width(rows: Sequence[tuple], width: int) -> bool:
    """Has every row ``width`` values? (checked in C, without a Python step per row)"""
    return all(map(width.__eq__, map(len, rows)))


def text_rows(columns: tuple[Column, ...]) -> RowConverter:
    """SQLite and PostgreSQL: canonical text for decimals, dates and datetimes; bools as 0/1."""
    return _rows_converter(columns, _text_column)


def tsql_text_rows(columns: tuple[Column, ...]) -> RowConverter:
    """SQL Server: ``text_rows``, with dates as ``YYYYMMDD`` and datetimes as
    ``YYYY-MM-DDTHH:MM:SS[.f…]`` (see the module docstring)."""
    return _rows_converter(columns, _tsql_text_column)


def _rows_converter(columns: tuple[Column, ...], column_converter) -> RowConverter:
    converters = [(index, column_converter(column, adapter))
                  for index, (column, adapter) in enumerate(zip(columns, text_adapters(columns), strict=True))
                  if adapter is not None]
    width = len(columns)

    def convert(rows: Sequence[tuple]) -> list[tuple]:
        # A row of the wrong width stays as it is: the target refuses it, naming the table.
        if not converters or not rows or not _all_of_width(rows, width):
            return [tuple(row) for row in rows]
        # Column by column: one comprehension per column that needs converting, instead of a
        # call per value; the transpositions run in C (zip).
        values = list(zip(*rows, strict=True))
        for index, column in converters:
            values[index] = column(values[index])
        return list(zip(*values, strict=True))

    return convert


def _text_column(column: Column, adapter: Adapter) -> Callable[[Sequence], list]:
    """A whole column's values as ``adapter`` (``_text_value``) gives them one by one, None kept.

    The common values take one comprehension without a function call: None, naive
    datetimes, dates, decimals in columns with places, bools in bit columns. Any other
    value goes through ``adapter``."""
    if column.data_type == "datetime":
        def datetimes(values):
            return [None if value is None else value.isoformat(" ")
                    if type(value) is dt.datetime and value.tzinfo is None else adapter(value)
                    for value in values]
        return datetimes
    if column.data_type == "date":
        def dates(values):
            return [None if value is None else value.isoformat() if type(value) is dt.date
                    else adapter(value) for value in values]
        return dates
    if column.data_type == "decimal" and column.data_length is not None:
        exponent = Decimal(1).scaleb(-column.data_length)

        def decimals(values):
            return [None if value is None else format(value.quantize(exponent, ROUND_HALF_UP), "f")
                    if type(value) is Decimal else adapter(value) for value in values]
        return decimals
    if column.data_type in ("bit", "boolean"):
        def bits(values):
            return [1 if value is True else 0 if value is False else value for value in values]
        return bits

    def others(values):
        return [None if value is None else adapter(value) for value in values]
    return others


def tsql_datetime(text: str) -> str:
    """A canonical datetime (``YYYY-MM-DD HH:MM:SS[.ffffff]``) as SQL Server reads it under every
    language setting: ``T`` between date and time, the fraction without its trailing zeros (a
    DATETIME column takes at most three digits, and ``.120000`` is ``.12``)."""
    text = text.replace(" ", "T", 1)
    return text.rstrip("0").rstrip(".") if "." in text else text


def tsql_date(text: str) -> str:
    """A canonical date (``YYYY-MM-DD``) as ``YYYYMMDD``, read alike under every language setting."""
    return text.replace("-", "")


def tsql_json_value(value: Any) -> Any:
    """For ``json.dumps(default=…)``: a value the workers did not make ready (tools and tests that
    write Python values) in the text form ``tsql_text_rows`` gives it; TypeError for anything else."""
    if isinstance(value, dt.datetime):
        return tsql_datetime(canonical_datetime(value))
    if isinstance(value, dt.date):
        return tsql_date(value.isoformat())
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not a value a row carries")


def _tsql_text_column(column: Column, adapter: Adapter) -> Callable[[Sequence], list]:
    """``_text_column`` for SQL Server: the same values, dates and datetimes in ``tsql_*`` form."""
    canonical = _text_column(column, adapter)
    tsql_form = {"datetime": tsql_datetime, "date": tsql_date}.get(column.data_type)
    if tsql_form is None:
        return canonical

    def in_tsql_form(values):
        return [tsql_form(text) if type(text) is str else text for text in canonical(values)]
    return in_tsql_form


def quoted_element(text: str) -> str:
    """``text`` as a double-quoted PostgreSQL array element (backslash and quote escaped)."""
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _element(value: Any) -> str:
    """One value (``text_rows`` form) as a PostgreSQL array element."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return quoted_element(value)
    if kind is float:
        return repr(value)  # shortest text that reads back as the same double
    if kind is bool:
        return "1" if value else "0"
    return quoted_element(str(value))


_NO_VALUE = type(None)


def column_array(values: Sequence) -> str:
    """PostgreSQL: one column of a chunk's rows (``text_rows`` form) as one array literal.

    Exactly ``{e1,e2,…}`` of each value's ``_element``: strings (the canonical text of
    decimals, dates and datetimes too) double-quoted, so that ``NULL`` the word and spaces
    survive, ints bare, None ``NULL``. A column of strings without a backslash or a double
    quote, or of ints, with or without None (the usual columns), is joined in C without a
    Python step per value; any other column (a float, a bool, a string needing escapes) goes
    value by value.
    """
    kinds = set(map(type, values))
    kinds.discard(_NO_VALUE)
    nulls = values.count(None)
    # str() of None is "None": where a column holds None and no real "None", the element "None"
    # (quoted, for strings: values here hold no quote) can only be a None, and becomes NULL.
    if kinds == {str}:
        if not (nulls and values.count("None")):
            literal = '{"' + '","'.join(map(str, values)) + '"}'
            if "\\" not in literal and literal.count('"') == 2 * len(values):
                return literal.replace('"None"', "NULL") if nulls else literal
    elif kinds == {int}:
        text = ",".join(map(str, values))
        return "{" + (text.replace("None", "NULL") if nulls else text) + "}"
    elif not kinds:
        return "{" + ",".join(["NULL"] * nulls) + "}"
    return "{" + ",".join(map(_element, values)) + "}"


# ---------------------------------------------------------------- a batch, in the worker


class _TablePlan:
    """How one table's rows of a batch are made ready."""

    def __init__(self, table: Table | None, key_column: str, convert: RowConverter | None) -> None:
        self.convert = convert
        self.one_per_key = table is not None and table.on_conflict != "error" and bool(table.primary_key)
        self.update = table is not None and table.on_conflict == "update"
        names = table.column_names if table is not None else ()
        # A row's primary key (a tuple, or the one value of a one-column key): only compared
        # within one batch, never stored.
        self.key_of = operator.itemgetter(*[names.index(name) for name in table.primary_key]) \
            if self.one_per_key else None
        # Rows of different records cannot collide when the primary key holds the record key
        # (a flush has one record per key); else the flush keeps one row per key across records.
        self.record_position = (names.index(key_column)
                                if self.one_per_key and key_column in table.primary_key else None)

    def unique(self, rows: Sequence[tuple]) -> Sequence[tuple]:
        """One row per primary key within one record (skip keeps the first, update the last).

        For ``one_per_key`` tables; rows with distinct keys (the usual case) come back as they are."""
        if len(rows) < 2:
            return rows
        keys = list(map(self.key_of, rows))
        if len(set(keys)) == len(keys):
            return rows
        chosen: dict = {}
        for key, row in zip(keys, rows, strict=True):
            if self.update:
                chosen.pop(key, None)
                chosen[key] = row
            elif key not in chosen:
                chosen[key] = row
        return list(chosen.values())

    def shares_keys(self, rows: Sequence[tuple], record_key: int) -> bool:
        """May these rows (of a ``one_per_key`` table) collide with another record's?"""
        position = self.record_position
        return position is None or any(row[position] != record_key for row in rows)


class ReadyResults:
    """Turns one batch's mapping results into database-ready ones (called once per batch, in the worker).

    ``ready(results)`` returns the same list with every MappedRecord replaced
    by a ReadyRecord; all of them share one BatchRows: per table, the rows
    converted with the dialect's ``row_values`` (one row per primary key
    within each record for skip/update tables) and the record each row
    belongs to. RecordFailures pass through unchanged. Never raises for
    results the contract engine produces; a table the schema does not know
    passes unconverted, for the target to refuse by name.
    """

    def __init__(self, schema: TargetSchema, dialect: Dialect) -> None:
        self._order = [table.name for table in schema.tables]
        self._plans = {table.name: _TablePlan(table, schema.key_column, dialect.row_values(table.columns))
                       for table in schema.tables}

    def _plan(self, name: str) -> _TablePlan:
        plan = self._plans.get(name)
        if plan is None:
            plan = self._plans[name] = _TablePlan(None, "", None)
            self._order.append(name)
        return plan

    def __call__(self, results: Sequence) -> list:
        plans = self._plans
        gathered: dict[str, tuple[list, list[int]]] = {}  # by table: its rows, and their records
        shared: set[str] = set()
        positions: list[int | None] = []
        owning = 0
        for result in results:
            if not isinstance(result, MappedRecord) or not result.tables:
                positions.append(None)
                continue
            positions.append(owning)
            for name, table_rows in result.tables:
                plan = plans.get(name) or self._plan(name)
                if plan.one_per_key:
                    table_rows = plan.unique(table_rows)
                    if name not in shared and plan.shares_keys(table_rows, result.key):
                        shared.add(name)
                entry = gathered.get(name)
                if entry is None:
                    gathered[name] = (list(table_rows), [owning] * len(table_rows))
                else:
                    entry[0].extend(table_rows)
                    entry[1].extend([owning] * len(table_rows))
            owning += 1
        tables = []
        for name in self._order:
            entry = gathered.get(name)
            if entry is not None:
                table_rows, owners = entry
                convert = plans[name].convert
                ready = convert(table_rows) if convert is not None else table_rows
                tables.append(TableRows(name, tuple(ready), tuple(owners), name in shared))
        batch = BatchRows(tuple(tables), owning)
        ready_results = []
        for result, position in zip(results, positions, strict=True):
            if isinstance(result, MappedRecord):
                result = ReadyRecord(result.key, result.row_count, batch,
                                     -1 if position is None else position, result.warnings)
            ready_results.append(result)
        return ready_results


def ready_tables(schema: TargetSchema, dialect: Dialect, tables):
    """(table name, rows of Python values) pairs with the rows in ``dialect.row_values`` form, lazily.

    For tools and tests that write rows they mapped themselves; the pipeline's
    rows are made ready by the mapper workers (``ReadyResults``). A table the
    schema does not know passes unconverted, for the target to refuse by name.
    """
    converters: dict[str, RowConverter] = {}
    for name, rows in tables:
        try:
            table = schema.table(name)
        except KeyError:
            yield name, rows
            continue
        convert = converters.get(name)
        if convert is None:
            convert = converters[name] = dialect.row_values(table.columns)
        yield name, convert(rows)
