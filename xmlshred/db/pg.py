"""PostgreSQL through psycopg 3, for ``postgresql://`` (and ``postgres://``) URLs.

psycopg is imported here, on first use, and only when such a URL is used: it is the
``postgres`` extra (``pip install 'xmlshred[postgres]'``, binary wheels: nothing to
install outside pip). ``odbc:`` connection strings to PostgreSQL keep going through
pyodbc and psqlODBC.

The rest of the target layer talks to connections the way pyodbc's look: ``?``
placeholders, ``cursor.execute(...)`` returning the cursor, ``commit``/``rollback``.
``PgConnection`` gives a psycopg connection that surface (the statement builders stay
one set for every database) and adds ``copy_rows``: ``COPY … FROM STDIN`` of a
flush's rows, which costs the server about a third of an ``INSERT … SELECT unnest(…)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import ModuleType

from xmlshred.db.errors import ConnectTargetError


def import_psycopg() -> ModuleType:
    """The psycopg module; ConnectTargetError (with what to install) when it cannot load."""
    try:
        import psycopg
    except ImportError as exc:
        raise ConnectTargetError(
            "psycopg cannot be imported, so postgresql:// URLs are unavailable; install the postgres "
            "extra: pip install 'xmlshred[postgres]' (or pip install 'psycopg[binary]'), or use an "
            "odbc: connection string with psqlODBC"
        ) from exc
    return psycopg


_QMARK_CACHE: dict[str, str] = {}


def qmark_to_format(statement: str) -> str:
    """``statement`` with each ``?`` placeholder as ``%s`` and each ``%`` as ``%%`` (psycopg's
    style), outside quoted literals and identifiers. Our statements are built by ``db.sql``
    from checked names and fixed words; no value is ever in them."""
    converted = _QMARK_CACHE.get(statement)
    if converted is not None:
        return converted
    out: list[str] = []
    quote: str | None = None
    for char in statement:
        if quote is not None:
            out.append("%%" if char == "%" else char)
            if char == quote:
                quote = None
            continue
        if char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    converted = "".join(out)
    if len(_QMARK_CACHE) < 4096:
        _QMARK_CACHE[statement] = converted
    return converted


class PgCursor:
    """A psycopg cursor with pyodbc's calling style (``?`` placeholders, chained execute)."""

    def __init__(self, raw, connection: PgConnection) -> None:
        self._raw = raw
        self.connection = connection
        """The PgConnection it belongs to (staging tables are remembered there)."""

    def execute(self, statement: str, params: Sequence | None = None) -> PgCursor:
        if params:
            self._raw.execute(qmark_to_format(statement), list(params))
        else:
            self._raw.execute(statement)
        return self

    def executemany(self, statement: str, rows: Iterable[Sequence]) -> None:
        self._raw.executemany(qmark_to_format(statement), rows)

    def copy_rows(self, statement: str, rows: Iterable[Sequence]) -> None:
        """``COPY … FROM STDIN`` (``statement``) of ``rows``, each a tuple in the COPY's column order;
        values as ``db.values.text_rows`` makes them (canonical text, int, float, None)."""
        with self._raw.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(row)

    def fetchall(self) -> list[tuple]:
        return self._raw.fetchall()

    def __iter__(self):
        """The remaining rows, as iterating a pyodbc cursor gives them."""
        return iter(self._raw)

    def fetchone(self) -> tuple | None:
        return self._raw.fetchone()

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount

    @property
    def description(self):
        return self._raw.description

    def close(self) -> None:
        self._raw.close()


class PgConnection:
    """A psycopg connection as the target layer uses a pyodbc one."""

    def __init__(self, raw) -> None:
        self.raw = raw
        """The psycopg.Connection."""
        self.staged: set[str] = set()
        """CREATE TEMP TABLE statements of staging tables that exist in this session (committed);
        forgotten at rollback, which undoes a creation made in the rolled-back transaction."""
        self.conflicted: set[str] = set()
        """COPY statements that met a key already in their table this session: those tables' rows go
        through their staging table from then on (``targets.target._copy_first``)."""

    def cursor(self) -> PgCursor:
        return PgCursor(self.raw.cursor(), self)

    def execute(self, statement: str, params: Sequence | None = None) -> PgCursor:
        return self.cursor().execute(statement, params)

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        self.staged.clear()
        self.raw.rollback()

    def close(self) -> None:
        self.staged.clear()
        self.raw.close()


def connect_postgres(url: str, login_timeout_s: int, *, autocommit: bool = False,
                     password: str | None = None, application_name: str = "xmlshred") -> PgConnection:
    """A psycopg connection to the libpq URI ``url``; psycopg.Error when the server refuses.

    ``password`` (from ``[target] password``/its environment variable) is used when the URL
    has none; libpq's own ways (``PGPASSWORD``, ``~/.pgpass``) work as usual.
    """
    psycopg = import_psycopg()
    extra: dict = {"autocommit": autocommit, "application_name": application_name}
    if login_timeout_s and login_timeout_s > 0:
        extra["connect_timeout"] = max(2, int(login_timeout_s))
    if password is not None:
        extra["password"] = password
    return PgConnection(psycopg.connect(url, **extra))


def connect_postgres_target(spec) -> PgConnection:
    """The target's connection (a ``TargetSpec`` whose dialect's client is psycopg): explicit transactions."""
    assert spec.connection_string is not None
    return connect_postgres(spec.connection_string, spec.login_timeout_s, password=spec.password)
