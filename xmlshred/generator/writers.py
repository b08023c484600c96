"""Write generated documents where a run can read them: a SQLite table or a folder of files."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from xmlshred.db.urls import UrlError, locate
from xmlshred.generator.corpus import GeneratedDocument, generate_documents
from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.names import UnsafeIdentifierError, check_identifier

_BATCH = 2000
FILE_KEY_DIGITS = 10
"""Zero-padding of file names, so that sorting the names sorts the keys."""
SOURCE_TABLES = {"cc": "app_xml", "rl": "app_xml_rl"}
"""Per product line, the table a SQLite corpus goes to: its example contract's ``source_table``."""


class GeneratorError(TerminalError):
    """A corpus cannot be written: bad destination, bad identifier, existing keys."""


def _check_identifier(kind: str, name: str) -> str:
    try:
        return check_identifier(name, kind, fix="pass a plain table/column name")
    except UnsafeIdentifierError as exc:
        raise GeneratorError(str(exc)) from None


def _stored_value(doc: GeneratedDocument) -> str | bytes:
    # A document that declares another encoding keeps its real bytes: storing
    # it as TEXT would make its declaration a lie once read back.
    if doc.encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return doc.xml
    return doc.xml.encode(doc.encoding)


def write_sqlite(
    path: str | Path,
    docs: Iterable[GeneratedDocument],
    table: str = "app_xml",
    key_column: str = "app_id",
    xml_column: str = "app_xml",
) -> int:
    """Insert the documents into ``table`` of the SQLite database at ``path``; return how many.

    Creates the database and the table ``(key_column INTEGER PRIMARY KEY,
    xml_column TEXT)`` when missing. Documents are inserted in batches, one
    transaction each, so an interrupted run leaves whole batches. Raises
    GeneratorError for a bad identifier or a key that is already in the
    table (the batch that held it is rolled back), sqlite3.Error for
    anything else the database refuses.
    """
    table = _check_identifier("table", table)
    key_column = _check_identifier("key_column", key_column)
    xml_column = _check_identifier("xml_column", xml_column)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(path), isolation_level=None)
    written = 0
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            f'CREATE TABLE IF NOT EXISTS "{table}" ("{key_column}" INTEGER PRIMARY KEY, "{xml_column}" TEXT)'
        )
        insert = f'INSERT INTO "{table}" ("{key_column}", "{xml_column}") VALUES (?, ?)'
        batch: list[tuple[int, str | bytes]] = []
        for doc in docs:
            batch.append((doc.key, _stored_value(doc)))
            if len(batch) >= _BATCH:
                _insert_batch(connection, insert, batch, table)
                written += len(batch)
                batch = []
        if batch:
            _insert_batch(connection, insert, batch, table)
            written += len(batch)
    finally:
        connection.close()
    return written


def _insert_batch(connection: sqlite3.Connection, insert: str, batch: list, table: str) -> None:
    connection.execute("BEGIN")
    try:
        connection.executemany(insert, batch)
    except sqlite3.IntegrityError as exc:
        connection.execute("ROLLBACK")
        raise GeneratorError(
            f"table={table}: a key between {batch[0][0]} and {batch[-1][0]} already exists;"
            " write to a new database or choose another start key"
        ) from exc
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def file_name(key: int) -> str:
    """The file name of document ``key`` in a folder written by ``write_files``."""
    return f"{key:0{FILE_KEY_DIGITS}d}.xml"


def write_files(folder: str | Path, docs: Iterable[GeneratedDocument]) -> int:
    """Write each document to ``<folder>/<zero-padded key>.xml`` in its own encoding; return how many.

    Creates the folder; overwrites files of the same keys. Raises OSError
    when the folder cannot be written.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    for doc in docs:
        (target / file_name(doc.key)).write_bytes(doc.to_bytes())
        written += 1
    return written


def parse_destination(out: str) -> tuple[str, Path]:
    """Where ``generate`` writes: ``("sqlite", path)`` or ``("files", folder)``.

    ``sqlite:///path.db`` or a plain ``*.db`` path is a SQLite file; ``files:///folder``
    or any other plain path a folder.

    The URL is read by ``db.urls.locate``, as sources read it: three slashes after
    ``sqlite:`` give a relative path, four an absolute one; ``files:`` URLs are
    RFC 8089 (always absolute).
    """
    try:
        kind, where = locate(out)
    except UrlError as exc:
        raise GeneratorError(f"destination {exc}") from None
    if kind == "odbc":
        raise GeneratorError(f"destination {out!r}: use sqlite:///file.db, files:///folder or a folder path")
    return kind, Path(where)


def run_generate(
    count: int,
    out: str,
    seed: int = 0,
    profile: str = "realistic",
    edge_share: float = 0.05,
    table: str | None = None,
    key_column: str = "app_id",
    xml_column: str = "app_xml",
    start_key: int = 1,
    product: str = "cc",
) -> dict:
    """Generate ``count`` documents of ``product`` into ``out``; return figures about what was written.

    ``table`` defaults to the product's source table (``SOURCE_TABLES``),
    the ``source_table`` of its example contract. The result:
    ``{"destination", "kind", "product", "count", "bytes", "avg_bytes",
    "max_bytes", "seconds", "docs_per_second", "edge_cases": {tag: n},
    "first_key", "last_key"}`` (plus ``"table"`` for a SQLite destination).
    Raises GeneratorError for a bad destination or identifier, ValueError
    for bad generator arguments.
    """
    if product not in SOURCE_TABLES:
        raise ValueError(f"unknown product {product!r}; choose one of {', '.join(SOURCE_TABLES)}")
    table = table or SOURCE_TABLES[product]
    kind, path = parse_destination(out)
    edge_counts: Counter[str] = Counter()
    sizes = {"bytes": 0, "max": 0}

    def counted(docs: Iterable[GeneratedDocument]) -> Iterable[GeneratedDocument]:
        for doc in docs:
            size = len(doc.to_bytes())
            sizes["bytes"] += size
            sizes["max"] = max(sizes["max"], size)
            if doc.edge_case:
                edge_counts[doc.edge_case] += 1
            yield doc

    started = time.perf_counter()
    docs = counted(generate_documents(count, seed=seed, profile=profile, edge_share=edge_share, start_key=start_key,
                                      product=product))
    if kind == "sqlite":
        written = write_sqlite(path, docs, table=table, key_column=key_column, xml_column=xml_column)
    else:
        written = write_files(path, docs)
    seconds = time.perf_counter() - started
    return {
        "destination": str(path),
        "kind": kind,
        "product": product,
        **({"table": table} if kind == "sqlite" else {}),
        "count": written,
        "bytes": sizes["bytes"],
        "avg_bytes": sizes["bytes"] // written if written else 0,
        "max_bytes": sizes["max"],
        "seconds": round(seconds, 3),
        "docs_per_second": round(written / seconds, 1) if seconds > 0 else 0.0,
        "edge_cases": dict(sorted(edge_counts.items())),
        "first_key": start_key if written else None,
        "last_key": start_key + written - 1 if written else None,
    }
