"""Where documents come from: a SQLite table, an ODBC table, or XML files.

``open_source(spec)`` picks the implementation from the URL; every source
offers ``open``, ``count``, ``page``, ``fetch`` and ``close`` (see
docs/INTERNALS.md). pyodbc is imported only for ``odbc:`` URLs.
"""

from __future__ import annotations

from dataclasses import dataclass

from xmlshred.sources.errors import SourceError, SourceMissing
from xmlshred.sources.file_urls import FileUrlError, file_url_path, is_file_url
from xmlshred.sources.types import SourceDocument, SourceItem


SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Which source to read, with names already defaulted from the contract."""

    url: str
    """``sqlite:///path.db``, ``odbc:<connection string>``, ``files:///abs/folder`` (RFC 8089) or a plain path."""
    table: str
    """Table holding the documents (table sources)."""
    column: str
    """Column holding the XML text (table sources)."""
    key_column: str
    """Integer key column (table sources)."""

    @property
    def keyed(self) -> bool:
        """True when the source knows each record's key before its XML is read."""
        return self.url.startswith(("sqlite:", "odbc:")) or self.url.lower().endswith(SQLITE_SUFFIXES)


def open_source(spec: SourceSpec):
    """Build (not yet open) the source for ``spec``; raises SourceError for an unknown URL."""
    url = spec.url
    if url.startswith("sqlite:///"):
        from xmlshred.sources.sqlite_table import SqliteTableSource

        return SqliteTableSource(url[len("sqlite:///"):], spec.table, spec.column, spec.key_column)
    if url.startswith("odbc:"):
        from xmlshred.sources.odbc_table import OdbcTableSource

        return OdbcTableSource(url[len("odbc:"):], spec.table, spec.column, spec.key_column)
    if is_file_url(url):
        try:
            url = file_url_path(url)
        except FileUrlError as exc:
            raise SourceMissing(f"source url {exc}") from exc
    if "://" in url:
        raise SourceError(
            f"source url scheme of {url.split('://')[0]!r} is not supported; "
            "use sqlite:///path.db, odbc:<connection string>, a folder path or files:///absolute/folder"
        )
    if url.lower().endswith(SQLITE_SUFFIXES):
        # A plain path to a database file means its table, as `generate --out` does.
        from xmlshred.sources.sqlite_table import SqliteTableSource

        return SqliteTableSource(url, spec.table, spec.column, spec.key_column)
    from xmlshred.sources.files import FileSource

    return FileSource(url)


__all__ = ["SourceSpec", "open_source", "SourceError", "SourceMissing", "SourceItem", "SourceDocument"]
