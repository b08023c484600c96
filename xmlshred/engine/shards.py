"""Splitting a keyed source into shards of about equal record counts, from its real key distribution.

One cheap query per source, the same in SQLite, PostgreSQL and SQL Server
(window functions): the keys in range are cut into ``n`` tiles with
``NTILE`` and each tile's highest key is a shard boundary. Sparse or skewed
keys still give shards of about equal size; only keys are read, never a
document.
"""

from __future__ import annotations

from dataclasses import dataclass

from xmlshred.vocab.errors import TerminalError


class ShardPlanError(TerminalError):
    """The source's keys could not be read to plan the shards; the message names the source."""


@dataclass(frozen=True, slots=True)
class Shard:
    """One disjoint key range of a run, processed by one Ray task."""

    index: int
    """Position in the plan, from 0."""
    key_start: int | None
    """Lowest key (inclusive); None = from the first."""
    key_end: int | None
    """Highest key (inclusive); None = to the last."""
    files: tuple[int, int] | None = None
    """A file source's chunk: (first, last) positions in its sorted file list, inclusive."""


def file_chunks(file_count: int, count: int) -> list[Shard]:
    """At most ``count`` disjoint, covering chunks of a file source's ``file_count`` sorted files,
    their sizes differing by at most one. Only positions: the driver never opens a file."""
    count = max(1, min(count, file_count))
    size, extra = divmod(file_count, count)
    shards, first = [], 0
    for index in range(count):
        last = first + size + (1 if index < extra else 0) - 1
        shards.append(Shard(index, None, None, (first, last)))
        first = last + 1
    return shards


def tile_upper_bounds_sql(dialect, ref: str, key: str, tiles: int, key_start: int | None,
                          key_end: int | None) -> tuple[str, tuple]:
    """SQL and parameters giving, ascending, the highest key of each of ``tiles`` equal tiles."""
    from xmlshred.db import sql

    where, params = sql.key_range(dialect, key, None, key_start, key_end)
    quoted = sql.quote(dialect, key, "column")
    statement = (f"SELECT MAX(k) FROM (SELECT {quoted} AS k, NTILE({int(tiles)}) OVER (ORDER BY {quoted}) AS tile "
                 f"FROM {ref}{where}) tiled GROUP BY tile ORDER BY 1")
    return statement, params


def shards_from_bounds(bounds: list[int], key_start: int | None, key_end: int | None) -> list[Shard]:
    """Disjoint, covering key ranges from ascending tile upper bounds (the last bound is the range's end)."""
    shards: list[Shard] = []
    low = key_start
    for index, high in enumerate(bounds[:-1]):
        shards.append(Shard(index, low, high))
        low = high + 1
    shards.append(Shard(len(shards), low, key_end))
    return shards


def plan_shards(source_spec, count: int, key_start: int | None, key_end: int | None) -> list[Shard]:
    """At most ``count`` shards of about equal record counts over the source's keys in range.

    Raises ShardPlanError naming the source when its keys cannot be read.
    """
    count = max(1, count)
    bounds = [int(value) for value in _tile_bounds(source_spec, count, key_start, key_end) if value is not None]
    if not bounds:
        return [Shard(0, key_start, key_end)]
    return shards_from_bounds(bounds, key_start, key_end)


def _tile_bounds(spec, tiles: int, key_start, key_end) -> list:
    from xmlshred.db import sql
    from xmlshred.db.dialects import SQLITE
    from xmlshred.db.urls import sqlite_url_path, url_scheme

    url = spec.url
    if url_scheme(url) == "sqlite":
        import sqlite3

        path = sqlite_url_path(url)
        statement, params = tile_upper_bounds_sql(SQLITE, sql.table_ref(SQLITE, None, spec.table),
                                                  spec.key_column, tiles, key_start, key_end)
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
                return [row[0] for row in connection.execute(statement, params)]
        except sqlite3.Error as exc:
            raise ShardPlanError(f"the keys of source table={spec.table} in {path} cannot be read to plan "
                                 f"shards ({type(exc).__name__}); check [source] table and key_column") from exc
    if url.startswith("odbc:"):
        from xmlshred.db.odbc import connect_odbc
        from xmlshred.db.secrets import mask_secrets
        from xmlshred.db.spec import odbc_driver

        connection_string = url[len("odbc:"):]
        dialect = odbc_driver(connection_string, None).dialect
        schema_name, table = spec.table.split(".", 1) if "." in spec.table else (None, spec.table)
        statement, params = tile_upper_bounds_sql(dialect, sql.table_ref(dialect, schema_name, table),
                                                  spec.key_column, tiles, key_start, key_end)
        try:
            connection = connect_odbc(connection_string, 15, autocommit=True)
            try:
                return [row[0] for row in connection.cursor().execute(statement, list(params)).fetchall()]
            finally:
                connection.close()
        except Exception as exc:
            state = exc.args[0] if getattr(exc, "args", None) else None
            raise ShardPlanError(f"the keys of source table={spec.table} ({dialect.name}:"
                                 f"{mask_secrets(connection_string)}) cannot be read to plan shards "
                                 f"({type(exc).__name__}, SQLSTATE {state}); check [source]") from exc
    raise ShardPlanError(f"source {url} is not a table; --engine ray shards table sources (sqlite:, odbc:)")
