"""A SQLite table of XML documents, paged by key."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from xmlshred.sources.errors import SourceError, SourceMissing
from xmlshred.sources.types import SourceDocument, SourceItem
from xmlshred.vocab.names import UnsafeIdentifierError, check_identifier

_FETCH_CHUNK = 500


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
    declared = _DECLARED_ENCODING.match(value[:200])
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

    The connection is opened by ``open()`` in the thread that will use it
    (SQLite connections belong to their thread). Every method raises
    SourceError, naming the table, when the database refuses.
    """

    def __init__(self, path: str | Path, table: str, column: str, key_column: str) -> None:
        self.path = Path(path)
        self.table = table
        self._table = _checked("table", table)
        self._column = _checked("column", column)
        self._key = _checked("key_column", key_column)
        self.column, self.key_column = column, key_column
        self._connection: sqlite3.Connection | None = None

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

    def _execute(self, sql: str, params: tuple) -> list[tuple]:
        if self._connection is None:
            self.open()
        try:
            return self._connection.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise SourceError(f"reading source table={self.table} failed: {exc}") from exc

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
        documents: dict[int, bytes | str] = {}
        for start in range(0, len(items), _FETCH_CHUNK):
            chunk = items[start:start + _FETCH_CHUNK]
            marks = ",".join("?" * len(chunk))
            # Raw bytes: no UTF-8 decode here and no re-encode when the batch is pickled.
            for key, document, kind in self._execute(
                f"SELECT {self._key}, CAST({self._column} AS BLOB), typeof({self._column}) "
                f"FROM {self._table} WHERE {self._key} IN ({marks})",
                tuple(item.key for item in chunk),
            ):
                documents[int(key)] = text_as_document(document, kind)
        return [SourceDocument(item, documents.get(item.key, "")) for item in items]

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
