"""Data quality, pure parts: labels, the [quality] fail rule, the statements of the two tables, the
reader's skipping of unchanged rejects."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import sqlglot
from sqlglot import exp

from xmlshred.db.dialects import MSSQL, POSTGRESQL, SQLITE
from xmlshred.loading.reading import ReadCursor, ReadLimits
from xmlshred.sources.types import SourceItem
from xmlshred.targets.quality import QualityRow, RejectRow, delete_steps, quality_table, rejects_table, upsert_steps
from xmlshred.vocab.quality import fail_reason, split_label, totals_by_kind
from xmlshred.vocab.results import MappedRecord, RecordFailure
from xmlshred.workers.mapping_worker import fail_on_quality


def test_labels_split_into_kind_table_and_column():
    assert split_label("truncated:app_contact_base.first_name") == ("truncated", "app_contact_base", "first_name")
    assert split_label("bad_date:t.c") == ("bad_date", "t", "c")
    assert split_label("oddity") == ("", "oddity", "")
    assert totals_by_kind({"truncated:a.b": 2, "truncated:a.c": 3, "defaulted:a.b": 1}) == \
        {"defaulted": 1, "truncated": 5}


def test_fail_reason_names_table_column_and_kind_only():
    warnings = (("truncated:app_contact_base.first_name", 1), ("defaulted:app_base.x", 2))
    assert fail_reason(warnings, {"truncated"}) == "app_contact_base.first_name: truncated"
    assert fail_reason(warnings, {"bad_date"}) is None
    assert fail_reason(warnings, {"truncated", "defaulted"}) == \
        "app_contact_base.first_name: truncated; app_base.x: defaulted"


def test_fail_on_quality_turns_only_records_with_a_fatal_kind_into_map_failures():
    cut = MappedRecord(1, (("t", ((1, "abcde"),)),), (("truncated:t.name", 1),))
    other = MappedRecord(2, (("t", ((2, "x"),)),), (("unmapped_code:t.flag", 1),))
    clean = MappedRecord(3, (("t", ((3, "y"),)),))
    failed = RecordFailure(4, "parse", "not well-formed")
    results = fail_on_quality([cut, other, clean, failed], frozenset({"truncated"}))
    assert results[0] == RecordFailure(1, "map", "t.name: truncated")
    assert results[1:] == [other, clean, failed]


def _rows():
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    return ([QualityRow("run-1", "w1", "app_base", "name", "truncated", 7, "1,2,3")],
            [RejectRow("run-1", "/feeds/a.xml", "parse", "empty document (0 bytes)", now, 0, 123)])


def test_the_servers_get_update_then_insert_where_not_exists_never_merge():
    quality, rejects = _rows()
    for table, rows in ((quality_table(), quality), (rejects_table(), rejects)):
        steps = list(upsert_steps(MSSQL, "sandbox", table, rows))
        assert len(steps) == 2
        (update, update_params), (insert, insert_params) = steps
        assert "MERGE" not in update + insert
        assert isinstance(sqlglot.parse_one(update, read="tsql"), exp.Update)
        tree = sqlglot.parse_one(insert, read="tsql")
        assert isinstance(tree, exp.Insert) and tree.find(exp.Exists) is not None
        assert update.count("?") == len(update_params) and insert.count("?") == len(insert_params)
        pg_update, pg_insert = (statement for statement, _ in upsert_steps(POSTGRESQL, "s", table, rows))
        assert isinstance(sqlglot.parse_one(pg_insert, read="postgres"), exp.Insert)
        assert "CAST(? AS" in pg_insert
    delete, params = next(delete_steps(MSSQL, "sandbox", ["/feeds/a.xml", "/feeds/a.xml"]))
    assert isinstance(sqlglot.parse_one(delete, read="tsql"), exp.Delete) and len(params) == 1


def test_sqlite_values_are_canonical_text_and_uncast():
    _, rejects = _rows()
    (_, update_params), (insert, insert_params) = upsert_steps(SQLITE, None, rejects_table(), rejects)
    assert "CAST" not in insert
    assert "2026-01-02 03:04:05" in insert_params and "2026-01-02 03:04:05" in update_params


class _Files:
    def __init__(self, paths):
        self.items = [SourceItem(None, index, os.path.basename(path), path) for index, path in enumerate(paths)]

    def page(self, after, limit, key_start=None, key_end=None):
        start = 0 if after is None else after + 1
        return self.items[start:start + limit]


def _cursor(paths, known, retry_failed=False):
    limits = ReadLimits(max_in_flight=10, batch_size=10, mapper_queue_batches=1, page_size=10,
                        retry_failed=retry_failed)
    return ReadCursor(_Files(paths), lambda keys: {}, limits, "run", known)


@pytest.fixture
def files(tmp_path):
    paths = []
    for name in ("a.xml", "b.xml", "c.xml"):
        path = tmp_path / name
        path.write_bytes(b"<x/>" if name != "b.xml" else b"")
        paths.append(str(path))
    return paths


def test_an_unchanged_reject_is_skipped_and_a_changed_one_read_again(files):
    status = os.stat(files[1])
    known = {files[1]: (status.st_size, status.st_mtime_ns), files[2]: (4, 1)}  # c.xml changed since
    cursor = _cursor(files, known)
    assert [item.path for item in cursor.next_items(10)] == [files[0], files[2]]
    assert cursor.skipped_rejects == 1
    again = _cursor(files, known, retry_failed=True)
    assert len(again.next_items(10)) == 3 and again.skipped_rejects == 0


def test_the_summary_sums_the_flushes_counts_and_its_line_gives_totals_per_kind():
    from xmlshred.messages import FlushReport
    from xmlshred.reporting.stats import RunStats, summary_line

    stats = RunStats("run-1", 2, start=0.0)
    stats.add_flush(FlushReport(10, 1, 100, 0.1, (("parse", "empty document (0 bytes)"),), 0,
                                (("truncated:a.name", 2), ("bad_date:a.born", 1)), 1), 1.0)
    stats.add_flush(FlushReport(5, 0, 50, 0.1, (), 0, (("truncated:a.name", 1), ("truncated:b.city", 4))), 2.0)
    summary = stats.summary("finished", 3.0)
    assert summary.quality == {"bad_date:a.born": 1, "truncated:a.name": 3, "truncated:b.city": 4}
    assert summary.quality_by_kind == {"bad_date": 1, "truncated": 7}
    assert summary.rejects == 1
    assert "| changed values: bad_date=1, truncated=7" in summary_line(summary)


def test_report_sections_say_when_the_table_is_missing_or_has_nothing_for_the_run():
    from xmlshred.reporting.quality_report import quality_section, rejects_section

    for section, table in ((quality_section, "xmlshred_quality"), (rejects_section, "xmlshred_rejects")):
        missing = section(None, "r1").splitlines()
        assert missing[0].startswith(("Data quality, run r1", "Failed before a key was known, run r1"))
        assert missing[1] == f"(the target has no {table} table yet: migrate or init-db creates it)"
        assert section([], None).splitlines()[1] == "none"
    other_run = ("r0", "ref", "parse", "bad", "2026-01-01", "id", 1, 2)
    assert rejects_section([other_run], "r1").splitlines()[1] == "none"
    assert rejects_section([other_run], None).splitlines()[0].endswith(": 1")
