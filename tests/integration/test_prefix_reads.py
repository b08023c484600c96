"""Prefix reads: workers read only the start of each document, and map it exactly as the whole document.

A realistic generated corpus plus constructed documents (the horizon past the
prefix, a decoy end tag, a multi-byte character cut by the prefix, a document
over max_document_bytes, empty ones) is mapped through prefix reads and
through whole reads, from real sources (SQLite by blob I/O and by query,
files, PostgreSQL) and in real worker processes; the results must be
identical record by record.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pykka
import pytest

from tests.helpers import EXAMPLE_CONTRACT, TargetReader, pipeline_config, read_summary, run_cli, wait_until
from xmlshred.contract import MapOptions, compile_contract, load_contract
from xmlshred.db.dialects import SQLITE
from xmlshred.db.values import ReadyResults
from xmlshred.generator.corpus import generate_documents
from xmlshred.generator.writers import write_sqlite
from xmlshred.sources import SourceError, SourceSpec, open_source
from xmlshred.sources.files import FileSource
from xmlshred.sources.sqlite_table import SqliteTableSource
from xmlshred.sources.types import SourceItem
from xmlshred.vocab.results import MappedRecord, ReadyRecord, RecordFailure
from xmlshred.workers.documents import DocumentMapper
from xmlshred.workers.mapping_worker import WorkerConfig, WorkerProcess

PREFIX = 8192
"""Small: about half the realistic documents end their horizon beyond it and fall back."""
LIMIT = 4_000_000
"""max_document_bytes of these tests; one constructed document is larger."""
NOW = datetime(2025, 6, 1, 12)
OPTIONS = MapOptions(now=NOW, max_document_bytes=LIMIT)
"""The workers' MapOptions (WorkerConfig.options)."""
HORIZON_END = "</application>"


def _compiled(max_bytes: int = LIMIT, strict: bool = False):
    return compile_contract(load_contract(EXAMPLE_CONTRACT),
                            MapOptions(now=NOW, max_document_bytes=max_bytes, strict_wellformed=strict))


def _pad_to_cut(before: str, at: int) -> str:
    """Comment text to put after ``before`` so that byte ``at`` falls inside a two-byte character."""
    used = len(before.encode("utf-8")) + len("<!--")
    filler = " " if (at - used) % 2 == 0 else ""
    return "<!--" + filler + "\u00e9" * ((at - used) // 2 + 8) + "-->"


def _constructed() -> dict[int, str]:
    """Documents built around PREFIX and LIMIT, keyed like the documents they came from."""
    small = {doc.key: doc.xml for doc in generate_documents(8, seed=77, profile="small", edge_share=0.0,
                                                            start_key=9001)}
    docs = {}
    # The horizon's end tag beyond the prefix: the prefix lacks it, the whole document is read.
    docs[9001] = small[9001].replace("<Provenir>", "<Provenir><!--" + "x" * PREFIX + "-->", 1)
    # A decoy end tag inside the prefix: the prefix fails to map, the whole one decides.
    docs[9002] = small[9002].replace("<Provenir>", "<Provenir><!-- </application> -->"
                                     + "<!--" + "y" * PREFIX + "-->", 1)
    # The prefix cuts a two-byte character after the horizon: the parser never reaches it.
    end = small[9003].index(HORIZON_END) + len(HORIZON_END)
    docs[9003] = small[9003][:end] + _pad_to_cut(small[9003][:end], PREFIX) + small[9003][end:]
    # The prefix cuts a two-byte character before the horizon: the whole document is read.
    start = small[9004].index("<Provenir>") + len("<Provenir>")
    docs[9004] = small[9004][:start] + _pad_to_cut(small[9004][:start], PREFIX) + small[9004][start:]
    # Larger than max_document_bytes, the horizon early: fails at validate either way.
    docs[9005] = small[9005][:end] + "<!--" + "z" * LIMIT + "-->" + small[9005][end:]
    # A malformed tail after the horizon: unnoticed either way (strict_wellformed is off).
    docs[9006] = small[9006].replace("</Provenir>", "<unclosed></Provenir>")
    docs[9007] = ""
    docs[9008] = "   \n  "
    return docs


@pytest.fixture(scope="module")
def corpus() -> dict[int, bytes | str]:
    """key -> stored value: 200 realistic documents (edge cases included) and the constructed ones."""
    values: dict[int, bytes | str] = {}
    for doc in generate_documents(200, seed=12, profile="realistic", edge_share=0.1):
        utf8 = doc.encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        values[doc.key] = doc.xml if utf8 else doc.xml.encode(doc.encoding)
    values.update(_constructed())
    return values


def _write_table(path: Path, values: dict[int, bytes | str], ddl: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(ddl)
        connection.executemany("INSERT INTO app_xml (app_id, app_xml) VALUES (?, ?)", sorted(values.items()))
    connection.close()


ROWID_TABLE = "CREATE TABLE app_xml (app_id INTEGER PRIMARY KEY, app_xml TEXT)"
KEYED_TABLE = "CREATE TABLE app_xml (row_no INTEGER PRIMARY KEY, app_id INTEGER UNIQUE NOT NULL, app_xml TEXT)"


def _items(keys) -> list[SourceItem]:
    return [SourceItem(key, key, f"key={key}") for key in keys]


def _map_all(mapper: DocumentMapper, items: list[SourceItem], batch: int = 20):
    results, costs = [], None
    for start in range(0, len(items), batch):
        part, cost = mapper.map_items(items[start:start + batch])
        results += part
        costs = cost if costs is None else costs.plus(cost)
    return results, costs


def _assert_same(prefix_results, whole_results, labels) -> None:
    for label, from_prefix, from_whole in zip(labels, prefix_results, whole_results, strict=True):
        assert from_prefix == from_whole, f"{label}: the prefix read maps differently"


def _own_rows(record):
    """A worker's ReadyRecord (or a failure) as comparable values: its key and its own rows per table."""
    if not isinstance(record, ReadyRecord):
        return record
    tables = ((table.name, tuple(row for row, owner in zip(table.rows, table.owners, strict=True)
                                 if owner == record.position)) for table in record.rows.tables)
    return record.key, record.warnings, tuple((name, rows) for name, rows in tables if rows)


def _table_spec(path: Path) -> SourceSpec:
    return SourceSpec(f"sqlite:///{path}", "app_xml", "app_xml", "app_id")


def _compare_in_process(spec: SourceSpec, items: list[SourceItem], prefix: int = PREFIX):
    compiled = _compiled()
    with_prefix = DocumentMapper(compiled, spec, prefix, lambda document, again: None)
    whole = DocumentMapper(compiled, spec, 0, lambda document, again: None)
    try:
        prefix_results, prefix_costs = _map_all(with_prefix, items)
        whole_results, whole_costs = _map_all(whole, items)
    finally:
        with_prefix.close()
        whole.close()
    _assert_same(prefix_results, whole_results, [item.label for item in items])
    return prefix_results, prefix_costs, whole_costs


def test_worker_processes_map_the_corpus_from_prefixes_exactly_as_from_whole_documents(tmp_path, corpus):
    path = tmp_path / "source.db"
    _write_table(path, corpus, ROWID_TABLE)
    spec = _table_spec(path)
    items = _items(sorted(corpus) + [424242])  # the last key is not in the table
    answers = {}
    for prefix in (PREFIX, 0):
        worker = WorkerProcess(WorkerConfig(str(EXAMPLE_CONTRACT), OPTIONS, spec, prefix), "test-worker")
        try:
            results, costs = [], None
            for batch_id, start in enumerate(range(0, len(items), 20), start=1):
                part, _busy, cost = worker.map_batch(batch_id, items[start:start + 20])
                results += part
                costs = cost if costs is None else costs.plus(cost)
        finally:
            worker.stop()
        answers[prefix] = results, costs
    (prefix_results, prefix_costs), (whole_results, whole_costs) = answers[PREFIX], answers[0]
    _assert_same(prefix_results, whole_results, [item.label for item in items])

    # The same as the contract engine makes of each whole document, in this process
    # (workers send rows database-ready: compare each record's own rows in that form).
    compiled = _compiled()
    ready = ReadyResults(compiled.schema, SQLITE)
    expected = [ready([compiled.map_document(corpus[key], expected_key=key)])[0] if corpus[key].strip()
                else None for key in sorted(corpus)]
    for key, result, direct in zip(sorted(corpus), whole_results, expected, strict=False):
        assert direct is None or _own_rows(result) == _own_rows(direct), f"key={key}"
    by_key = dict(zip(sorted(corpus) + [424242], prefix_results, strict=True))
    assert sum(isinstance(r, ReadyRecord) for r in prefix_results) > 150
    assert by_key[9005].stage == "validate" and "larger than the limit" in by_key[9005].reason
    assert by_key[9007].stage == by_key[9008].stage == by_key[424242].stage == "parse"
    for key in (9001, 9002, 9003, 9004, 9006):
        assert isinstance(by_key[key], ReadyRecord), f"key={key}: {by_key[key]}"

    # Prefixes served many documents; many fell back; far fewer bytes were read.
    assert whole_costs.whole_reads == len(items)
    assert 20 < prefix_costs.whole_reads < len(items) - 20
    assert prefix_costs.bytes_read < 0.7 * whole_costs.bytes_read
    assert prefix_costs.read_cpu_s >= 0 and prefix_costs.map_cpu_s > 0


@pytest.mark.parametrize("kind", ["sqlite-rowid", "sqlite-query", "files"])
def test_every_local_source_maps_prefixes_exactly_as_whole_documents(tmp_path, corpus, kind):
    if kind == "files":
        folder = tmp_path / "docs"
        folder.mkdir()
        for key, value in corpus.items():
            (folder / f"{key:05d}.xml").write_bytes(value.encode("utf-8") if isinstance(value, str) else value)
        source = FileSource(str(folder))
        items = source.page(None, 10_000)
        spec = SourceSpec(str(folder), "", "", "app_id")
    else:
        path = tmp_path / "source.db"
        _write_table(path, corpus, ROWID_TABLE if kind == "sqlite-rowid" else KEYED_TABLE)
        spec = _table_spec(path)
        items = _items(sorted(corpus))
    _, prefix_costs, whole_costs = _compare_in_process(spec, items)
    assert 20 < prefix_costs.whole_reads < len(items) - 20
    assert prefix_costs.bytes_read < 0.7 * whole_costs.bytes_read


@pytest.mark.parametrize("path", ["odbc", "psycopg"])
def test_postgres_source_maps_prefixes_exactly_as_whole_documents(pg_database, corpus, path):
    import pyodbc

    with pyodbc.connect(pg_database, autocommit=True) as setup:
        setup.execute("CREATE TABLE app_xml (app_id BIGINT PRIMARY KEY, app_xml TEXT)")
        cursor = setup.cursor()
        cursor.executemany("INSERT INTO app_xml VALUES (?, ?)",
                           [(key, value if isinstance(value, str) else value.decode("windows-1252"))
                            for key, value in sorted(corpus.items())])
        setup.execute("INSERT INTO app_xml VALUES (9999, NULL)")
    if path == "psycopg":  # the same table through a postgresql:// URL
        pytest.importorskip("psycopg")
        from xmlshred.db.spec import libpq_url

        spec = SourceSpec(libpq_url(pg_database), "app_xml", "app_xml", "app_id")
    else:
        spec = SourceSpec(f"odbc:{pg_database}", "app_xml", "app_xml", "app_id")
    items = _items(sorted(corpus) + [9999, 424242])
    results, prefix_costs, _ = _compare_in_process(spec, items)
    assert prefix_costs.whole_reads < len(items) - 20
    assert sum(isinstance(r, MappedRecord) for r in results) > 150


def test_no_prefix_reads_without_prefix_bytes_or_with_strict_wellformed(tmp_path, corpus):
    path = tmp_path / "source.db"
    some = {key: corpus[key] for key in sorted(corpus)[:30]}
    _write_table(path, some, ROWID_TABLE)
    items = _items(sorted(some))
    total = sum(len(v) for v in some.values())
    for compiled, prefix in ((_compiled(), 0), (_compiled(strict=True), PREFIX)):
        mapper = DocumentMapper(compiled, _table_spec(path), prefix, lambda document, again: None)
        try:
            results, costs = mapper.map_items(items)
        finally:
            mapper.close()
        assert costs.whole_reads == len(items)
        assert costs.bytes_read >= total - 10 * len(items)  # whole documents (text counted in bytes)
        assert all(isinstance(r, (MappedRecord, RecordFailure)) for r in results)


# ---------------------------------------------------------------- sources


LATIN = '<?xml version="1.0" encoding="ISO-8859-1"?><a>' + "\u00e9" * 300 + "</a>"


def _source_values() -> dict[int, object]:
    return {
        1: "<a>" + "\u00e9" * 5000 + "</a>",   # TEXT: 2 bytes a character, a prefix cuts one
        2: b"<a>blob</a>",                      # BLOB, shorter than the prefix
        3: None,                                # NULL
        4: 12345,                               # an INTEGER value
        5: LATIN,                               # TEXT declaring another encoding: handed on as str
        6: "",
    }


@pytest.mark.parametrize("ddl, blob_reads", [
    (ROWID_TABLE, True),
    (KEYED_TABLE, False),
    ("CREATE TABLE app_xml (app_id INTEGER PRIMARY KEY, app_xml TEXT) WITHOUT ROWID", False),
    ("CREATE TABLE app_xml (app_id INTEGER PRIMARY KEY DESC, app_xml TEXT)", False),
    ("CREATE TABLE app_xml (app_id INT PRIMARY KEY, app_xml TEXT)", False),
], ids=["rowid", "unique-key", "without-rowid", "desc-key", "int-key"])
def test_sqlite_prefixes_by_blob_io_and_by_query_are_the_same(tmp_path, ddl, blob_reads):
    path = tmp_path / "source.db"
    _write_table(path, _source_values(), ddl)
    source = SqliteTableSource(path, "app_xml", "app_xml", "app_id")
    source.open()
    try:
        assert source.blob_reads is blob_reads
        items = _items([6, 5, 4, 3, 2, 1, 77])
        prefixes = source.read_prefixes(items, 1001)
        whole = source.fetch(items)
    finally:
        source.close()
    got = {p.item.key: (p.document, p.whole, p.size_bound) for p in prefixes}
    stored_1 = ("<a>" + "\u00e9" * 5000 + "</a>").encode()
    assert got[1] == (stored_1[:1001], False, len(stored_1))  # the cut character stays cut
    assert got[2] == (b"<a>blob</a>", True, 11)
    assert got[3] == ("", True, 0) and got[77] == ("", True, 0) and got[6] == (b"", True, 0)
    assert got[4] == (b"12345", True, 5)
    assert isinstance(got[5][0], str) and got[5][1] is True  # the declared-encoding rule, as fetch
    assert [p.item.key for p in prefixes] == [6, 5, 4, 3, 2, 1, 77]
    for prefix, document in zip(prefixes, whole, strict=True):
        if prefix.whole:
            assert prefix.document == document.document


def test_sqlite_prefix_reads_at_least_the_declaration(tmp_path):
    path = tmp_path / "source.db"
    _write_table(path, {1: LATIN + " " * 500}, ROWID_TABLE)
    source = SqliteTableSource(path, "app_xml", "app_xml", "app_id")
    try:
        (prefix,) = source.read_prefixes(_items([1]), 10)  # opens the source itself
    finally:
        source.close()
    assert isinstance(prefix.document, str) and len(prefix.document) >= 60 and not prefix.whole


def test_file_prefixes_and_reads_follow_the_item_path_not_the_position(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "b.xml").write_bytes(b"<a>" + b"x" * 100 + b"</a>")
    (folder / "c.xml").write_bytes(b"<a>c</a>")
    lister = FileSource(str(folder))
    items = lister.page(None, 10)
    assert [Path(item.path) for item in items] == [folder / "b.xml", folder / "c.xml"]
    (folder / "a.xml").write_bytes(b"<a>new file, sorts first</a>")  # positions shift; paths do not
    reader = FileSource(str(folder))  # never opened: a worker does not list the folder
    prefixes = reader.read_prefixes(items, 50)
    assert [(p.document, p.whole, p.size_bound) for p in prefixes] == [
        (b"<a>" + b"x" * 47, False, 107), (b"<a>c</a>", True, 8)]
    assert [d.document for d in reader.fetch(items)] == [b"<a>" + b"x" * 100 + b"</a>", b"<a>c</a>"]
    (folder / "c.xml").unlink()
    with pytest.raises(SourceError, match="cannot read source file c.xml"):
        reader.read_prefixes(items, 50)


def test_postgres_prefixes_use_substr_and_octet_length(pg_database):
    import pyodbc

    with pyodbc.connect(pg_database, autocommit=True) as setup:
        setup.execute("CREATE TABLE app_xml (app_id BIGINT PRIMARY KEY, app_xml TEXT)")
        setup.execute("INSERT INTO app_xml VALUES (1, ?), (2, ?), (3, NULL), (4, '')",
                      "<a>" + "\u00e9" * 100 + "</a>", "<a>short</a>")
    source = open_source(SourceSpec(f"odbc:{pg_database}", "app_xml", "app_xml", "app_id"))
    try:
        prefixes = source.read_prefixes(_items([4, 3, 2, 1, 99]), 50)
    finally:
        source.close()
    got = {p.item.key: (p.document, p.whole) for p in prefixes}
    assert got[1] == ("<a>" + "\u00e9" * 47, False)  # characters, not bytes
    assert got[2] == ("<a>short</a>", True)
    assert got[3] == got[4] == got[99] == ("", True)
    sizes = {p.item.key: p.size_bound for p in prefixes}
    assert sizes[1] >= len(("<a>" + "\u00e9" * 100 + "</a>").encode()) and sizes[2] >= 12


# ---------------------------------------------------------------- failures and the whole run


def test_a_worker_that_cannot_read_the_source_stops_its_mapper_naming_the_file(tmp_path):
    from xmlshred.actors.lifecycle import RunSignals
    from xmlshred.actors.mapper import MapperActor
    from xmlshred.messages import SourceBatch

    folder = tmp_path / "docs"
    folder.mkdir()
    spec = SourceSpec(str(folder), "", "", "app_id")
    config = WorkerConfig(str(EXAMPLE_CONTRACT), OPTIONS, spec, PREFIX)
    signals = RunSignals()
    sink = _Sink.start()
    mapper = MapperActor.start(0, config, sink, sink, signals)
    gone = SourceItem(None, 0, "gone.xml", str(folder / "gone.xml"))
    mapper.tell(SourceBatch(1, (gone,), sink))
    wait_until(lambda: signals.failures, "the mapper to fail", 60)
    failure = signals.failures[0]
    assert failure.actor == "mapper-0" and isinstance(failure.error, SourceError)
    assert "cannot read source file gone.xml" in str(failure.error)


def test_a_worker_reports_a_missing_source_database(tmp_path):
    spec = _table_spec(tmp_path / "nowhere.db")
    worker = WorkerProcess(WorkerConfig(str(EXAMPLE_CONTRACT), OPTIONS, spec, PREFIX), "test-worker")
    try:
        with pytest.raises(SourceError, match="nowhere.db does not exist"):
            worker.map_batch(1, _items([1]))
        with pytest.raises(SourceError, match="nowhere.db"):  # the worker lives on and says it again
            worker.map_batch(2, _items([2]))
    finally:
        worker.stop()


class _Sink(pykka.ThreadingActor):
    """A real actor that ignores every message."""

    def on_receive(self, message):
        return None


def test_migrate_with_prefix_reads_writes_the_same_rows_as_with_whole_reads(tmp_path):
    docs = list(generate_documents(60, seed=5, profile="realistic", edge_share=0.1))
    write_sqlite(tmp_path / "source.db", docs)
    snapshots = []
    for prefix in (16384, 0):
        run = tmp_path / f"prefix-{prefix}"
        run.mkdir()
        target_url = f"sqlite:///{run / 'target.db'}"
        config = pipeline_config(run, f"sqlite:///{tmp_path / 'source.db'}", target_url,
                                 source__prefix_bytes=prefix)
        assert run_cli("init-db", "--config", str(config)).returncode == 0
        result = run_cli("migrate", "--config", str(config))
        assert result.returncode in (0, 3), result.stderr[-3000:]
        schema = _compiled().schema
        reader = TargetReader(target_url)
        try:
            tables = {table.name: reader.rows(schema, table) for table in schema.tables}
            log = {key: row[:3] for key, row in reader.log(schema).items()}
        finally:
            reader.close()
        snapshots.append((tables, log))
        summary = read_summary(run / "metrics.jsonl")
        assert summary.bytes_read_per_record > 0 and summary.map_cpu_ms_per_record > 0
        assert "per record: read" in result.stderr
        if prefix:
            assert summary.bytes_read_per_record < 100_000 < sum(len(d.xml) for d in docs) / len(docs)
    assert snapshots[0] == snapshots[1]
    assert sum(1 for row in snapshots[0][1].values() if row[0] == "success") > 40

