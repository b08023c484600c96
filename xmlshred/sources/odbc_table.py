"""A table of XML documents on a server database (SQL Server, PostgreSQL) via ODBC, or PostgreSQL
through psycopg (``postgresql://`` URLs, the same statements).

The table has an integer key column and a text column holding the XML
(SQL Server ``nvarchar(max)``/``varchar(max)``, PostgreSQL ``text``). Keys are
paged with ``WHERE key > ? ORDER BY key`` and TOP/LIMIT (never OFFSET);
documents are fetched by IN lists within the dialect's parameter limit.
pyodbc reads long values in pieces (SQLGetData), so a document of any size
arrives whole. Prefixes (``read_prefixes``) are read with the dialect's
substring function (SQL Server ``SUBSTRING``/``DATALENGTH``, PostgreSQL
``substr``/``octet_length``). Quoting, limits and TOP/LIMIT come from the
target dialect record of the connection string's DRIVER.
"""

from __future__ import annotations

from xmlshred.db import sql
from xmlshred.db.dialect_types import Dialect
from xmlshred.db.errors import TargetError, odbc_sqlstate
from xmlshred.db.quietly import close_quietly
from xmlshred.db.secrets import mask_secrets
from xmlshred.db.spec import odbc_driver
from xmlshred.sources.errors import SourceError
from xmlshred.sources.types import SourceDocument, SourceItem, SourcePrefix

_FETCH_CHUNK = 500

UTF8_PER_STORED_BYTE = 3
"""Most UTF-8 bytes one stored byte can become: a character of a single-byte code page
(varchar, LATIN1) or a UTF-16 code unit of nvarchar (two bytes) is at most three UTF-8
bytes; UTF-8 storage is exact. So stored size x 3 bounds a document's UTF-8 size."""


class OdbcTableSource:
    """Documents in ``table.column`` keyed by the integer ``key_column``.

    ``table`` may be ``schema.table``. The constructor checks names and the
    driver; ``open()`` connects. Every method raises SourceError naming the
    table (connection strings masked) when the database refuses.
    """

    def __init__(self, connection_string: str, table: str, column: str, key_column: str, *,
                 schema_name: str | None = None, login_timeout_s: int = 15,
                 dialect_name: str | None = None, dialect: Dialect | None = None,
                 password: str | None = None) -> None:
        self.table = table
        self._connection_string = connection_string
        self._login_timeout_s = login_timeout_s
        self._password = password
        self._connection = None
        try:
            # ``dialect``: a postgresql:// URL (psycopg); else the connection string's DRIVER says
            self.dialect = dialect or odbc_driver(connection_string, dialect_name).dialect
            if schema_name is None and "." in table:
                schema_name, table = table.split(".", 1)
            self._ref = sql.table_ref(self.dialect, schema_name, table)
            self._key_column = sql.check_identifier(key_column, "key_column")
            self._column = sql.check_identifier(column, "column")
        except TargetError as exc:
            raise SourceError(f"source table={self.table}: {exc}; check [source] in config.toml") from exc
        self._fetch_chunk = min(_FETCH_CHUNK, self.dialect.max_params_per_statement)

    def open(self) -> None:
        """Connect (autocommit: reads hold no transaction open); SourceError when it cannot."""
        try:
            self._connection = self._connect()
        except TargetError as exc:
            raise SourceError(str(exc)) from exc
        except Exception as exc:
            detail = mask_secrets(str(exc.args[1] if len(getattr(exc, "args", ())) > 1 else exc))
            raise SourceError(
                f"cannot connect to source {self.dialect.name}:{mask_secrets(self._connection_string)}: {detail}. "
                "Check the server, port, database and credentials ([source] in config.toml)"
            ) from exc
        statement = sql.select_in(self.dialect, self._ref, (self._key_column, self._column), self._key_column, 1)
        self._execute(statement, [-1])  # fails now, with a clear message, if the names are wrong

    def _connect(self):
        if self.dialect.client == "psycopg":
            from xmlshred.db.pg import connect_postgres

            return connect_postgres(self._connection_string, self._login_timeout_s, autocommit=True,
                                    password=None if mask_secrets(self._connection_string) != self._connection_string
                                    else self._password)
        from xmlshred.db.odbc import connect_odbc

        return connect_odbc(self._connection_string, self._login_timeout_s, autocommit=True)

    def _execute(self, statement: str, params) -> list:
        if self._connection is None:
            self.open()
        try:
            return self._connection.cursor().execute(statement, list(params)).fetchall()
        except Exception as exc:
            state = odbc_sqlstate(exc)
            raise SourceError(
                f"reading source table={self.table} failed ({type(exc).__name__}, SQLSTATE {state}); "
                "check [source] table, column and key_column and that the server is reachable"
            ) from exc

    def count(self, key_start: int | None = None, key_end: int | None = None) -> int:
        """Rows with key_start <= key <= key_end (either bound optional)."""
        statement, params = sql.count_rows(self.dialect, self._ref, self._key_column, key_start, key_end)
        return int(self._execute(statement, params)[0][0])

    def page(self, after: int | None, limit: int, key_start: int | None = None,
             key_end: int | None = None) -> list[SourceItem]:
        """Up to ``limit`` keys greater than ``after``, ascending (keyset paging, never OFFSET)."""
        statement, params = sql.keyset_page(self.dialect, self._ref, self._key_column, after, limit,
                                            key_start, key_end)
        return [SourceItem(key=int(key), position=int(key), label=f"key={key}")
                for (key,) in self._execute(statement, params)]

    def _by_keys(self, statement_for, items: list[SourceItem]) -> list:
        """Rows of ``statement_for(n)`` (a statement with an IN list of n keys) for the items' keys, in chunks."""
        rows = []
        for chunk in sql.chunks(list(items), self._fetch_chunk):
            rows += self._execute(statement_for(len(chunk)), [item.key for item in chunk])
        return rows

    def fetch(self, items: list[SourceItem]) -> list[SourceDocument]:
        """The documents of ``items`` in their order; a key no longer in the table gives ``""``."""
        rows = self._by_keys(lambda count: sql.select_in(self.dialect, self._ref, (self._key_column, self._column),
                                                         self._key_column, count), items)
        documents = {int(key): document if document is not None else "" for key, document in rows}
        return [SourceDocument(item, documents.get(item.key, "")) for item in items]

    def read_prefixes(self, items: list[SourceItem], prefix_bytes: int) -> list[SourcePrefix]:
        """The first ``prefix_bytes`` characters of each item's document, in the items' order.

        Whole when the prefix's stored size equals the value's; the size bound is the
        stored size times UTF8_PER_STORED_BYTE. A key no longer in the table gives ``""``.
        """
        rows = self._by_keys(lambda count: sql.select_prefixes_in(self.dialect, self._ref, self._key_column,
                                                                  self._column, prefix_bytes, count), items)
        found = {int(key): (prefix, prefix_size, size) for key, prefix, prefix_size, size in rows}
        prefixes = []
        for item in items:
            prefix, prefix_size, size = found.get(item.key, (None, None, None))
            if prefix is None:
                prefixes.append(SourcePrefix(item, "", whole=True, size_bound=0))
            else:
                prefixes.append(SourcePrefix(item, prefix, whole=prefix_size == size,
                                             size_bound=int(size) * UTF8_PER_STORED_BYTE))
        return prefixes

    def close(self) -> None:
        """Close the connection; never raises."""
        connection, self._connection = self._connection, None
        close_quietly(connection)
