"""SQL Server Express's 10 GB cap: how big the target's data would grow, estimated from a sample.

A dry run into a SQL Server target asks the server its edition (``SERVERPROPERTY('Edition')``,
``@@VERSION`` as a fallback); on Express it estimates the data the run would add and warns when
that, with what the database holds already, passes the cap.

How the estimate is made (and what it leaves out): the first ``SAMPLE_RECORDS`` records of the
source are mapped as the run would map them; each row's stored size is added up from its values
as SQL Server stores them (UTF-16 strings at 2 bytes a character plus a 2-byte offset, fixed
sizes for numbers, dates and datetimes, a row header, null bitmap and slot entry); the mean per
record is multiplied by the source's record count (processing_log's row per record included). Left
out: page fill below 100%, indexes other than the primary key, LOB pages of NVARCHAR(MAX) values
over 8,000 bytes, and compression. It is an estimate of the order of magnitude, not a promise.
"""

from __future__ import annotations

from collections.abc import Iterable

from xmlshred.vocab.schema import Column, Table

EXPRESS_CAP_BYTES = 10 * 1024 ** 3
"""SQL Server Express: at most 10 GB of data per database (log files not counted)."""
SAMPLE_RECORDS = 200
"""Records a dry run maps for the estimate."""

EDITION_QUERY = "SELECT CAST(SERVERPROPERTY('Edition') AS NVARCHAR(128)), @@VERSION"
"""The edition (cast: FreeTDS cannot describe a sql_variant) and the version text."""
DATA_SIZE_QUERY = "SELECT SUM(CAST(size AS BIGINT)) * 8192 FROM sys.database_files WHERE type = 0"
"""Bytes the database's data files take now (8 KB pages)."""

_FIXED = {"int": 4, "smallint": 2, "tinyint": 1, "bigint": 8, "float": 8, "datetime": 8, "date": 3,
          "bit": 1, "boolean": 1}
_ROW_OVERHEAD = 4 + 2 + 2 + 2
"""Row header, column count, variable-column count, slot array entry."""


def is_express(edition: str | None, version: str | None) -> bool:
    """Is this SQL Server an Express edition (the edition says so, or the version text does)?"""
    return "express" in (edition or "").lower() or "express edition" in (version or "").lower()


def _decimal_bytes(column: Column) -> int:
    scale = column.data_length if column.data_length is not None else 2
    precision = min(38, max(18, scale + 12))  # as db.sql.column_type declares it
    return 5 if precision <= 9 else 9 if precision <= 19 else 13 if precision <= 28 else 17


def stored_row_bytes(table: Table, row: tuple) -> int:
    """About how many bytes SQL Server stores for ``row`` of ``table`` (see the module docstring)."""
    size = _ROW_OVERHEAD + (len(table.columns) + 7) // 8
    for column, value in zip(table.columns, row, strict=False):
        if value is None:
            continue
        if column.data_type == "string":
            size += 2 * len(str(value)) + 2
        elif column.data_type == "decimal":
            size += _decimal_bytes(column)
        else:
            size += _FIXED.get(column.data_type, 8)
    return size


LOG_ROW_BYTES = _ROW_OVERHEAD + 1 + 8 + 2 * 7 + 2 + 4 + 2 * 20 + 2 + 8
"""A processing_log row of a success (key, status, attempts, run_id, updated_at)."""


def estimate_bytes(tables_by_name: dict[str, Table], records: Iterable, total_records: int) -> tuple[int, int]:
    """(estimated bytes for ``total_records`` records, records sampled) from mapped sample records
    (``MappedRecord``: tables of rows; anything else, e.g. a failure, counts a processing_log row only)."""
    sampled = 0
    size = 0
    for record in records:
        sampled += 1
        size += LOG_ROW_BYTES
        for name, rows in getattr(record, "tables", ()):
            table = tables_by_name.get(name)
            if table is not None:
                size += sum(stored_row_bytes(table, row) for row in rows)
    if sampled == 0:
        return 0, 0
    return size * total_records // sampled, sampled


def gigabytes(size: int) -> str:
    return f"{size / 1024 ** 3:,.2f} GB"
