"""Flush logic against a real SQLite target: bisection isolates bad records, busy databases are retried."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime

import pytest
from loguru import logger

from tests.helpers import (
    EXAMPLE_CONTRACT,
    PINNED_NOW,
    TargetReader,
    assert_target_matches,
    expected_tables,
    mapped_items,
)
from xmlshred.contract import MapOptions, compile_contract, load_contract
from xmlshred.db.errors import TransientTargetError
from xmlshred.db.spec import parse_target_url
from xmlshred.loading import FlushAborted, FlushWriter, PendingRecord, RetriesExhausted, retry_transient
from xmlshred.messages import FailedItem
from xmlshred.sources.types import SourceItem
from xmlshred.targets import open_target
from xmlshred.vocab.results import RecordFailure


@pytest.fixture
def mapped():
    from xmlshred.generator.corpus import generate_documents

    compiled = compile_contract(load_contract(EXAMPLE_CONTRACT), MapOptions(now=datetime(2025, 1, 1)))
    items = mapped_items(compiled, generate_documents(12, seed=6, profile="small", edge_share=0.0))
    return compiled.schema, [PendingRecord(item, None, None) for item in items]


def _target(tmp_path, schema, busy_timeout_s=None):
    spec = parse_target_url(f"sqlite:///{tmp_path / 't.db'}")
    if busy_timeout_s is not None:
        spec = dataclasses.replace(spec, busy_timeout_s=busy_timeout_s)
    target = open_target(spec, schema)
    target.create_tables(schema)
    return target


def test_bisection_isolates_the_rejected_records_and_commits_the_rest(tmp_path, mapped):
    schema, records = mapped
    target = _target(tmp_path, schema)
    bad = {records[3].mapped.record.key, records[8].mapped.record.key}
    raw = sqlite3.connect(tmp_path / "t.db")
    raw.execute(f"CREATE TRIGGER reject BEFORE INSERT ON app_base WHEN NEW.app_id IN ({','.join(map(str, bad))}) "
                "BEGIN SELECT RAISE(ABORT, 'rejected by a test trigger'); END")
    raw.commit()
    failure = FailedItem(SourceItem(999, 999, "key=999"), RecordFailure(999, "parse", "not well-formed XML"))
    writer = FlushWriter(target, schema, "run-b", retries=0, backoff_s=0.01, backoff_max_s=0.01)
    outcome = writer.write(records + [PendingRecord(None, failure, None)])
    assert outcome.ok == len(records) - 2
    assert sorted(stage for stage, _ in outcome.failures) == ["insert", "insert", "parse"]
    log = dict(raw.execute("SELECT app_id, status || '/' || COALESCE(stage, '') FROM processing_log"))
    assert log[999] == "failed/parse"
    assert {key for key, status in log.items() if status == "failed/insert"} == bad
    assert len(log) == len(records) + 1
    keys = {k for (k,) in raw.execute("SELECT app_id FROM app_base")}
    assert keys == {r.mapped.record.key for r in records} - bad
    raw.close()
    target.close()


def test_a_locked_database_is_retried_until_it_is_free(tmp_path, mapped):
    schema, records = mapped
    target = _target(tmp_path, schema, busy_timeout_s=0.05)
    blocker = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    waits = []

    def sleep(delay):
        waits.append(delay)
        if len(waits) == 2:
            blocker.execute("ROLLBACK")  # the other writer goes away during the second back-off

    writer = FlushWriter(target, schema, "run-r", retries=5, backoff_s=0.01, backoff_max_s=1, sleep=sleep)
    outcome = writer.write(records)
    assert outcome.ok == len(records)
    assert waits == [0.01, 0.02]
    blocker.close()
    target.close()


def test_retries_run_out_and_the_flush_is_aborted_with_nothing_marked_done(tmp_path, mapped):
    schema, records = mapped
    target = _target(tmp_path, schema, busy_timeout_s=0.05)
    blocker = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    writer = FlushWriter(target, schema, "run-x", retries=2, backoff_s=0.01, backoff_max_s=1,
                         sleep=lambda delay: None)
    with pytest.raises(FlushAborted, match="after 2 retries"):
        writer.write(records)
    blocker.execute("ROLLBACK")
    assert blocker.execute("SELECT COUNT(*) FROM processing_log").fetchone()[0] == 0
    blocker.close()
    target.close()


def test_retry_transient_passes_other_errors_through_at_once():
    calls = []

    def fails():
        calls.append(1)
        raise ValueError("not a database error")

    with pytest.raises(ValueError):
        retry_transient(fails, lambda: None, retries=3, backoff_s=0.01, backoff_max_s=0.01,
                        log=logger, what="a test", sleep=lambda d: None)
    assert len(calls) == 1
    with pytest.raises(RetriesExhausted):
        retry_transient(lambda: (_ for _ in ()).throw(TransientTargetError("gone")), lambda: None,
                        retries=1, backoff_s=0.01, backoff_max_s=0.01, log=logger, what="a test",
                        sleep=lambda d: None)


def test_a_commit_whose_acknowledgement_was_lost_is_not_written_twice(tmp_path, mapped):
    """The server committed, then the connection died before it said so: the retry must not duplicate."""
    schema, records = mapped
    target = _target(tmp_path, schema)
    real_write = target.write_flush
    calls = []

    def commit_then_lose_the_answer(*args, **kwargs):
        calls.append(1)
        real_write(*args, **kwargs)
        if len(calls) == 1:
            raise TransientTargetError("connection lost after COMMIT (fault injected by the test)")

    target.write_flush = commit_then_lose_the_answer
    writer = FlushWriter(target, schema, "run-ack", retries=3, backoff_s=0.01, backoff_max_s=0.01,
                         sleep=lambda delay: None)
    outcome = writer.write(records)
    assert outcome.ok == len(records)
    assert len(calls) == 1, "the flush was written a second time"
    raw = sqlite3.connect(tmp_path / "t.db")
    assert raw.execute("SELECT COUNT(*) FROM app_base").fetchone()[0] == len(records)
    assert {a for (a,) in raw.execute("SELECT attempts FROM processing_log")} == {1}
    raw.close()
    target.close()


def test_bisection_isolates_a_bad_record_of_a_shared_batch_on_every_target(target_url):
    """The records of one batch share its BatchRows: a rejected record's rows are left out
    when the rest of its batch is committed, on SQLite and on PostgreSQL (column arrays)."""
    from xmlshred.generator.corpus import generate_documents

    compiled = compile_contract(load_contract(EXAMPLE_CONTRACT), MapOptions(now=datetime.fromisoformat(PINNED_NOW)))
    schema = compiled.schema
    target = open_target(parse_target_url(target_url), schema)
    target.create_tables(schema)
    docs = list(generate_documents(16, seed=8, profile="small", edge_share=0.0))
    records = [PendingRecord(item, None, None) for item in mapped_items(compiled, docs[:10], target.dialect)]
    records += [PendingRecord(item, None, None) for item in mapped_items(compiled, docs[10:], target.dialect)]
    bad = docs[4].key
    reader = TargetReader(target_url)
    if target_url.startswith("sqlite"):
        reader.connection.execute(f"CREATE TRIGGER reject BEFORE INSERT ON app_base WHEN NEW.app_id = {bad} "
                                  "BEGIN SELECT RAISE(ABORT, 'rejected by a test trigger'); END")
        reader.connection.commit()
    else:
        reader.connection.execute(f"ALTER TABLE {reader.name(schema, 'app_base')} "
                                  f"ADD CONSTRAINT reject_one CHECK (app_id <> {bad})")
    writer = FlushWriter(target, schema, "run-s", retries=0, backoff_s=0.01, backoff_max_s=0.01)
    outcome = writer.write(records)
    target.close()
    assert outcome.ok == len(docs) - 1 and [stage for stage, _ in outcome.failures] == ["insert"]
    _, expected, ok, _ = expected_tables(EXAMPLE_CONTRACT, [doc for doc in docs if doc.key != bad])
    try:
        assert_target_matches(target_url, schema, expected, ok, {bad: "insert"})
        stamps = reader.connection.execute(
            f"SELECT DISTINCT updated_at FROM {reader.name(schema, 'processing_log')}").fetchall()
        assert len(stamps) == 1, "one timestamp per flush"
    finally:
        reader.close()
