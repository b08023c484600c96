"""Where documents come from: a SQLite table, an ODBC table, or XML files.

``open_source(spec)`` picks the implementation from the URL; every source
offers ``open``, ``count``, ``page``, ``fetch``, ``read_prefixes`` and
``close`` (see docs/INTERNALS.md). A spec is picklable: each mapper worker
opens its own source from it. pyodbc is imported only for ``odbc:`` URLs.
"""

from __future__ import annotations

from dataclasses import dataclass

from xmlshred.db.spec import OdbcSettings
from xmlshred.db.urls import SQLITE_SUFFIXES, FileUrlError, UrlError, is_postgres_url, locate
from xmlshred.sources.errors import SourceError, SourceMissing
from xmlshred.sources.types import SourceDocument, SourceItem, SourcePrefix


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Which source to read, with names already defaulted from the contract."""

    url: str
    """``sqlite:///path.db``, ``odbc:<connection string>``, ``postgresql://user@host/dbname`` (psycopg),
    ``files:///abs/folder`` (RFC 8089) or a plain path."""
    table: str
    """Table holding the documents (table sources)."""
    column: str
    """Column holding the XML text (table sources)."""
    key_column: str
    """Integer key column (table sources)."""
    odbc: OdbcSettings | None = None
    """``[source]`` ODBC pieces (``settings.source.odbc()``) completing an ``odbc:`` URL, as for targets."""
    files: tuple[int, int] | None = None
    """File sources: only the files at these positions (first, last; inclusive) of the sorted
    list; a shard of a sharded run reads its own chunk. None = every file."""

    @property
    def keyed(self) -> bool:
        """True when the source knows each record's key before its XML is read."""
        return (self.url.startswith(("sqlite:", "odbc:")) or is_postgres_url(self.url)
                or self.url.lower().endswith(SQLITE_SUFFIXES))


def open_source(spec: SourceSpec):
    """Build (not yet open) the source for ``spec``; SourceError / SourceMissing for a URL it cannot use."""
    try:
        kind, where = locate(spec.url)
    except FileUrlError as exc:
        raise SourceMissing(f"source url {exc}") from exc
    except UrlError as exc:
        raise SourceError(f"source url {exc}") from exc
    if kind == "sqlite":
        from xmlshred.sources.sqlite_table import SqliteTableSource

        return SqliteTableSource(where, spec.table, spec.column, spec.key_column)
    if kind == "odbc":
        from xmlshred.db.errors import TargetError
        from xmlshred.db.spec import odbc_location
        from xmlshred.sources.odbc_table import OdbcTableSource

        try:
            location = odbc_location(where, spec.odbc, role="source")
        except TargetError as exc:
            raise SourceError(f"[source] {exc}") from exc
        return OdbcTableSource(location.connection_string, spec.table, spec.column, spec.key_column,
                               login_timeout_s=location.login_timeout_s, dialect_name=location.dialect.name)
    if kind == "postgresql":
        # A PostgreSQL table read through psycopg (postgresql:// URLs); the same reads as odbc:.
        from xmlshred.db.dialects import POSTGRESQL_COPY
        from xmlshred.sources.odbc_table import OdbcTableSource

        timeout = spec.odbc.timeout if spec.odbc is not None and spec.odbc.timeout is not None else 15
        password = spec.odbc.password if spec.odbc is not None else None
        return OdbcTableSource(where, spec.table, spec.column, spec.key_column, login_timeout_s=timeout,
                               dialect=POSTGRESQL_COPY, password=password)
    from xmlshred.sources.files import FileSource

    return FileSource(where, spec.files)


__all__ = ["SourceSpec", "open_source", "SourceError", "SourceMissing", "SourceItem", "SourceDocument", "SourcePrefix"]
