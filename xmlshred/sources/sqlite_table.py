"""A SQLite table of XML documents, paged by key.

Whole documents are read with ``CAST(column AS BLOB)`` (the stored bytes, no
decode). Prefixes (``read_prefixes``) are read through SQLite's incremental
blob I/O when the key column is the table's rowid: only the first pages of a
long value are touched. Otherwise a ``substr`` query reads them.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from xmlshred.sources.errors import SourceError, SourceMissing
from xmlshred.sources.types import SourceDocument, SourceItem, SourcePrefix
from xmlshred.vocab.names import UnsafeIdentifierError, check_identifier

_FETCH_CHUNK = 500


_DECLARATION_SPAN = 200
"""Bytes of a document's start that ``text_as_document`` reads for the declared encoding."""

_DECLARED_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def text_as_document(value: bytes | None, kind: str) -> bytes | str:
    """A stored value as the parser should see it.

    BLOBs are the document's own bytes. TEXT is UTF-8 inside SQLite: its bytes
    parse the same as the text unless the XML declaration names another
    encoding (the text was decoded already), so only then is it handed on as str.
    """
    if value is None:
        return ""
    if kind != "text":
        return value
    declared = _DECLARED_ENCODING.match(value[:_DECLARATION_SPAN])
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return value.decode("utf-8", errors="surrogateescape")
    return value


def _checked(kind: str, name: str) -> str:
    try:
        check_identifier(name, f"source {kind}", fix="set [source] table/column/key_column in config.toml")
    except UnsafeIdentifierError as exc:
        raise SourceError(str(exc)) from None
    return f'"{name}"'


class SqliteTableSource:
    """Documents in ``table.column`` keyed by the integer ``key_column``.

    The connection (read-only) is opened by ``open()``, or by the first read,
    in the thread that will use it (SQLite connections belong to their
    thread). Every method raises SourceError, naming the table, when the
    database refuses.
    """

    def __init__(self, path: str | Path, table: str, column: str, key_column: str) -> None:
        self.path = Path(path)
        self.table = table
        self._table = _checked("table", table)
        self._column = _checked("column", column)
        self._key = _checked("key_column", key_column)
        self.column, self.key_column = column, key_column
        self._connection: sqlite3.Connection | None = None
        self.blob_reads = False
        """True (decided by ``open``) when the key column is the rowid: prefixes come from blob I/O."""

    def open(self) -> None:
        if not self.path.is_file():
            raise SourceMissing(f"source database {self.path} does not exist; check [source] url (or --source)")
        self._connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            self._connection.execute(f"SELECT {self._key}, {self._column} FROM {self._table} LIMIT 0")
        except sqlite3.Error as exc:
            raise SourceError(
                f"source table={self.table} in {self.path} cannot be read ({exc.__class__.__name__}); "
                "check [source] table, column and key_column"
            ) from exc
        # SQLite reads a double-quoted name it does not know as a string literal, so the
        # probe above passes for a misspelt column: compare with the table's real columns.
        names = {row[0].lower() for row in self._connection.execute(
            "SELECT name FROM pragma_table_info(?)", (self.table,))}
        for setting, name in (("key_column", self.key_column), ("column", self.column)):
            if name.lower() not in names:
                raise SourceError(f"source table={self.table} in {self.path} has no column {name!r}; "
                                  f"check [source] {setting}")
        self.blob_reads = self._key_is_rowid()

    def _key_is_rowid(self) -> bool:
        """Is ``key_column`` the rowid (INTEGER PRIMARY KEY of a rowid table), so blobopen finds rows by key?

        The one primary key column declared exactly INTEGER, with no index behind the
        primary key: a WITHOUT ROWID table, ``INT PRIMARY KEY`` and ``INTEGER PRIMARY KEY
        DESC`` all have one (their key is not the rowid).
        """
        columns = self._connection.execute("SELECT name, type, pk FROM pragma_table_info(?)",
                                           (self.table,)).fetchall()
        keys = [(name, kind) for name, kind, pk in columns if pk]
        pk_indexes = self._connection.execute("SELECT 1 FROM pragma_index_list(?) WHERE origin = 'pk'",
                                              (self.table,)).fetchall()
        return (len(keys) == 1 and keys[0][0].lower() == self.key_column.lower()
                and keys[0][1].upper() == "INTEGER" and not pk_indexes)

    def _connected(self) -> sqlite3.Connection:
        if self._connection is None:
            self.open()
        return self._connection

    def _execute(self, sql: str, params: tuple) -> list[tuple]:
        connection = self._connected()
        try:
            return connection.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise SourceError(f"reading source table={self.table} failed: {exc}") from exc

    def _by_keys(self, select: str, items: list[SourceItem], params: tuple = ()) -> list[tuple]:
        """Rows of ``SELECT {select} FROM table WHERE key IN (…)`` for the items' keys, in chunks."""
        rows = []
        for start in range(0, len(items), _FETCH_CHUNK):
            chunk = items[start:start + _FETCH_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows += self._execute(f"SELECT {select} FROM {self._table} WHERE {self._key} IN ({marks})",
                                  params + tuple(item.key for item in chunk))
        return rows

    @staticmethod
    def _range(key_start: int | None, key_end: int | None) -> tuple[str, tuple]:
        clauses, params = [], []
        if key_start is not None:
            clauses.append(">= ?")
            params.append(key_start)
        if key_end is not None:
            clauses.append("<= ?")
            params.append(key_end)
        return clauses, tuple(params)

    def count(self, key_start: int | None = None, key_end: int | None = None) -> int:
        clauses, params = self._range(key_start, key_end)
        where = " AND ".join(f"{self._key} {c}" for c in clauses)
        sql = f"SELECT COUNT(*) FROM {self._table}" + (f" WHERE {where}" if where else "")
        return int(self._execute(sql, params)[0][0])

    def page(self, after: int | None, limit: int, key_start: int | None = None,
             key_end: int | None = None) -> list[SourceItem]:
        """Keys after ``after`` in ascending order (keyset paging, never OFFSET)."""
        clauses, params = self._range(key_start, key_end)
        conditions = [f"{self._key} {c}" for c in clauses]
        if after is not None:
            conditions.append(f"{self._key} > ?")
            params = params + (after,)
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        rows = self._execute(
            f"SELECT {self._key} FROM {self._table}{where} ORDER BY {self._key} LIMIT ?",
            params + (limit,),
        )
        return [SourceItem(key=int(key), position=int(key), label=f"key={key}") for (key,) in rows]

    def fetch(self, items: list[SourceItem]) -> list[SourceDocument]:
        """The documents of ``items`` in their order; a key no longer in the table gives ``""``."""
        documents: dict[int, bytes | str] = {}
        # Raw bytes: no UTF-8 decode here and no re-encode when the batch is pickled.
        for key, document, kind in self._by_keys(
                f"{self._key}, CAST({self._column} AS BLOB), typeof({self._column})", items):
            documents[int(key)] = text_as_document(document, kind)
        return [SourceDocument(item, documents.get(item.key, "")) for item in items]

    def read_prefixes(self, items: list[SourceItem], prefix_bytes: int) -> list[SourcePrefix]:
        """The first ``prefix_bytes`` stored bytes of each item's document, with its exact size.

        At least the first ``_DECLARATION_SPAN`` bytes are read, so the declared
        encoding decides str or bytes exactly as ``fetch`` does. In the items' order;
        a key no longer in the table gives ``""``.
        """
        length = max(prefix_bytes, _DECLARATION_SPAN)
        values = self._blob_prefixes(items, length) if self.blob_reads else self._query_prefixes(items, length)
        prefixes = []
        for item in items:
            value, size, kind = values.get(item.key, (None, 0, "null"))
            prefixes.append(SourcePrefix(item, text_as_document(value, kind),
                                         whole=value is None or len(value) >= size, size_bound=size or 0))
        return prefixes

    def _query_prefixes(self, items: list[SourceItem], length: int) -> dict[int, tuple]:
        """key -> (first bytes, stored size, typeof) by one ``substr`` query per chunk."""
        stored = f"CAST({self._column} AS BLOB)"
        rows = self._by_keys(f"{self._key}, substr({stored}, 1, ?), length({stored}), typeof({self._column})",
                             items, (length,))
        # substr() of an empty value is NULL: keep it an empty value, as fetch reads it.
        return {int(key): (b"" if value is None and size is not None else value, size, kind)
                for key, value, size, kind in rows}

    def _blob_prefixes(self, items: list[SourceItem], length: int) -> dict[int, tuple]:
        """key -> (first bytes, stored size, typeof) by blob I/O, in one read transaction.

        typeof() reads only the record header, not the value. Values that are not
        TEXT or BLOB (blob I/O refuses them; short anyway) are read by the query.
        """
        connection = self._connected()
        values: dict[int, tuple] = {}
        others = []
        try:
            connection.execute("BEGIN")  # one snapshot: rows cannot go between typeof and the reads
            try:
                for key, kind in self._by_keys(f"{self._key}, typeof({self._column})", items):
                    if kind not in ("text", "blob"):
                        others.append(SourceItem(int(key), int(key), f"key={key}"))
                        continue
                    with connection.blobopen(self.table, self.column, int(key), readonly=True) as blob:
                        values[int(key)] = (blob.read(length), len(blob), kind)
                values.update(self._query_prefixes(others, length) if others else {})
            finally:
                connection.execute("COMMIT")
        except sqlite3.Error as exc:
            raise SourceError(f"reading source table={self.table} failed: {exc}") from exc
        return values

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
