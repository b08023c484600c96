"""Each source (files, SQLite table, ODBC table on the real PostgreSQL) and the read cursor over them.

Every source answers the same questions the reader asks: how many records,
a page of items after a position (keyset, in order, within a key range),
and the documents of some items, exactly as stored.
"""

from __future__ import annotations

import sqlite3

import pytest

from xmlshred.loading.reading import ReadCursor, ReadLimits
from xmlshred.sources import SourceError, SourceMissing, SourceSpec, open_source
from xmlshred.sources.files import FileSource
from xmlshred.sources.sqlite_table import SqliteTableSource
from xmlshred.targets.processing_log import Settled

KEYS = [3, 5, 8, 13, 21, 34, 55]


def _document(key: int) -> str:
    return f"<Application><ID>{key}</ID><Note>caf\u00e9 {key}</Note></Application>"


def _sqlite_source(tmp_path) -> SqliteTableSource:
    path = tmp_path / "source.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS app_xml (app_id INTEGER PRIMARY KEY, app_xml TEXT)")
        connection.executemany("INSERT OR REPLACE INTO app_xml VALUES (?, ?)",
                               [(k, _document(k)) for k in reversed(KEYS)])
    connection.close()
    return SqliteTableSource(path, "app_xml", "app_xml", "app_id")


def _odbc_source(dsn: str):
    import pyodbc

    from xmlshred.sources.odbc_table import OdbcTableSource

    with pyodbc.connect(dsn, autocommit=True) as setup:
        setup.execute("CREATE TABLE app_xml (app_id BIGINT PRIMARY KEY, app_xml TEXT NOT NULL)")
        for key in reversed(KEYS):
            setup.execute("INSERT INTO app_xml VALUES (?, ?)", key, _document(key))
    return OdbcTableSource(dsn, "app_xml", "app_xml", "app_id")


def _psycopg_source(dsn: str):
    """The same table, read through a postgresql:// URL (psycopg), as open_source builds it."""
    pytest.importorskip("psycopg")
    from xmlshred.db.spec import libpq_url

    _odbc_source(dsn)  # creates and fills the table
    source = open_source(SourceSpec(libpq_url(dsn), "app_xml", "app_xml", "app_id"))
    assert source.dialect.client == "psycopg"
    return source


@pytest.fixture(params=["sqlite", "odbc-postgres", "psycopg-postgres"])
def table_source(request, tmp_path):
    if request.param == "sqlite":
        source = _sqlite_source(tmp_path)
    elif request.param == "psycopg-postgres":
        source = _psycopg_source(request.getfixturevalue("pg_database"))
    else:
        source = _odbc_source(request.getfixturevalue("pg_database"))
    source.open()
    yield source
    source.close()


def _text(document) -> str:
    return document.decode("utf-8") if isinstance(document, bytes) else document


def test_table_sources_count_page_by_key_and_fetch_documents_as_stored(table_source):
    assert table_source.count() == len(KEYS)
    assert table_source.count(5, 34) == 5
    assert table_source.count(100, None) == 0
    first = table_source.page(None, 3)
    assert [item.key for item in first] == [3, 5, 8]
    assert [item.position for item in first] == [3, 5, 8]
    assert [item.key for item in table_source.page(first[-1].position, 3)] == [13, 21, 34]
    assert [item.key for item in table_source.page(34, 3)] == [55]
    assert table_source.page(55, 3) == []
    assert [item.key for item in table_source.page(None, 10, 5, 21)] == [5, 8, 13, 21]
    assert [item.key for item in table_source.page(8, 10, 5, 21)] == [13, 21]
    assert all(item.label == f"key={item.key}" for item in first)  # never document content
    items = table_source.page(None, 10)
    documents = table_source.fetch(list(reversed(items)))
    assert [d.item.key for d in documents] == list(reversed(KEYS))  # in the order asked
    assert [_text(d.document) for d in documents] == [_document(k) for k in reversed(KEYS)]


def test_sqlite_source_missing_file_and_wrong_names_fail_naming_them(tmp_path):
    missing = SqliteTableSource(tmp_path / "nowhere.db", "app_xml", "app_xml", "app_id")
    with pytest.raises(SourceMissing, match="nowhere.db"):
        missing.open()
    _sqlite_source(tmp_path)
    wrong = SqliteTableSource(tmp_path / "source.db", "applications", "app_xml", "app_id")
    with pytest.raises(SourceError, match="table=applications"):
        wrong.open()
    with pytest.raises(SourceError, match="column"):
        SqliteTableSource(tmp_path / "source.db", "app_xml", "x; DROP TABLE app_xml", "app_id")


def test_sqlite_source_wrong_column_fails_naming_it(tmp_path):
    _sqlite_source(tmp_path)
    wrong = SqliteTableSource(tmp_path / "source.db", "app_xml", "xml_text", "app_id")
    with pytest.raises(SourceError, match="xml_text"):
        wrong.open()


def test_odbc_source_wrong_table_fails_naming_it(pg_database):
    from xmlshred.sources.odbc_table import OdbcTableSource

    source = OdbcTableSource(pg_database, "no_such_table", "app_xml", "app_id")
    try:
        with pytest.raises(SourceError, match="no_such_table"):
            source.open()
    finally:
        source.close()


def test_file_source_pages_sorted_files_by_position_and_reads_bytes(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    names = ["b.xml", "a.xml", "c.xml", "d.xml"]
    for name in names:
        (folder / name).write_bytes(f"<Application><Name>{name}</Name></Application>".encode())
    (folder / "notes.txt").write_text("not a document")
    source = FileSource(str(folder))
    source.open()
    assert source.count() == 4
    first = source.page(None, 3)
    assert [item.label for item in first] == ["a.xml", "b.xml", "c.xml"]
    assert [item.key for item in first] == [None, None, None]  # the key is inside the document
    assert [item.label for item in source.page(first[-1].position, 3)] == ["d.xml"]
    assert source.page(3, 3) == []
    documents = source.fetch(first)
    assert documents[1].document == b"<Application><Name>b.xml</Name></Application>"
    glob_source = FileSource(str(folder / "[ab].xml"))
    assert glob_source.count() == 2


def test_file_source_missing_folder_or_empty_glob_says_which(tmp_path):
    with pytest.raises(SourceMissing, match="nowhere"):
        FileSource(str(tmp_path / "nowhere")).open()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceMissing, match=r"holds no \*\.xml files"):
        FileSource(str(tmp_path / "empty")).open()
    with pytest.raises(SourceMissing, match="matches no files"):
        FileSource(str(tmp_path / "empty" / "*.xml")).open()


def test_open_source_picks_the_source_by_url_and_rejects_unknown_schemes(tmp_path):
    spec = SourceSpec(f"sqlite:///{tmp_path / 'x.db'}", "t", "c", "k")
    assert isinstance(open_source(spec), SqliteTableSource) and spec.keyed
    folder = SourceSpec(str(tmp_path), "t", "c", "k")
    assert isinstance(open_source(folder), FileSource) and not folder.keyed
    with pytest.raises(SourceError, match="'ftp'"):
        open_source(SourceSpec("ftp://host/x", "t", "c", "k"))


# The read cursor over a real source -------------------------------------------------


def _cursor(tmp_path, done=None, run_id="this-run", **limits) -> ReadCursor:
    """A cursor over the fixture source; ``done``: {key: status (an earlier run's) or Settled}."""
    source = _sqlite_source(tmp_path)
    source.open()
    done = {key: Settled(entry, None, "earlier-run") if isinstance(entry, str) else entry
            for key, entry in (done or {}).items()}
    asked: list[list[int]] = []

    def done_records(keys):
        asked.append(list(keys))
        return {k: done[k] for k in keys if k in done}

    settings = {"max_in_flight": 100, "batch_size": 10, "mapper_queue_batches": 1, "page_size": 2} | limits
    cursor = ReadCursor(source, done_records, ReadLimits(**settings), run_id)
    cursor.asked = asked
    return cursor


def _drain(cursor: ReadCursor, step: int) -> list[int]:
    keys = []
    while items := cursor.next_items(step):
        keys += [item.key for item in items]
    return keys


def test_read_cursor_pages_across_page_boundaries_and_looks_up_each_key_once(tmp_path):
    cursor = _cursor(tmp_path, page_size=2)
    assert not cursor.exhausted
    assert _drain(cursor, 3) == KEYS
    assert cursor.exhausted and cursor.taken == len(KEYS) and cursor.skipped_done == 0
    assert sorted(k for page in cursor.asked for k in page) == KEYS


def test_read_cursor_skips_done_keys_and_failed_ones_unless_retrying(tmp_path):
    done = {5: "success", 13: "failed", 34: "success"}
    cursor = _cursor(tmp_path, done=done)
    assert _drain(cursor, 2) == [3, 8, 21, 55]
    assert cursor.skipped_done == 3
    retry = _cursor(tmp_path, done=done, retry_failed=True)
    assert _drain(retry, 2) == [3, 8, 13, 21, 55]
    assert retry.skipped_done == 2


def test_read_cursor_counts_what_an_earlier_attempt_of_its_own_run_settled_as_that_runs(tmp_path):
    """Entries under the cursor's own run id (a retried Ray shard's killed attempt) are not read
    again and count as resumed, by status and failure stage; other runs' entries as skipped."""
    done = {5: Settled("success", None, "this-run"), 13: Settled("failed", "parse", "this-run"),
            21: Settled("failed", None, "this-run"), 34: "success", 55: "failed"}
    cursor = _cursor(tmp_path, done=done)
    assert _drain(cursor, 2) == [3, 8]
    assert (cursor.skipped_done, cursor.resumed_ok, cursor.resumed_failed) == (2, 1, {"parse": 1, "unknown": 1})
    retry = _cursor(tmp_path, done=done, retry_failed=True)
    assert _drain(retry, 2) == [3, 8, 13, 21, 55]  # failures are tried again, whoever logged them
    assert (retry.skipped_done, retry.resumed_ok, retry.resumed_failed) == (1, 1, {})
    no_run = _cursor(tmp_path, done=done, run_id=None)
    assert _drain(no_run, 2) == [3, 8] and no_run.skipped_done == 5 and no_run.resumed_ok == 0


def test_read_cursor_limit_and_key_range(tmp_path):
    limited = _cursor(tmp_path, limit=4, page_size=3)
    assert _drain(limited, 3) == [3, 5, 8, 13]
    assert limited.exhausted and limited.next_items(5) == []
    ranged = _cursor(tmp_path, key_start=5, key_end=34, done={8: "success"})
    assert _drain(ranged, 10) == [5, 13, 21, 34]
    both = _cursor(tmp_path, key_start=6, limit=2)
    assert _drain(both, 1) == [8, 13]
