"""The ledger never lies: a `success` row in processing_log is never changed to `failed`.

Against every real target (a SQLite file, a PostgreSQL database): the upsert
itself refuses the downgrade, and a flush that conflicts with keys another run
already committed counts them as already done, not failed.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.helpers import EXAMPLE_CONTRACT, TargetReader, mapped_items
from xmlshred.contract import MapOptions, compile_contract, load_contract
from xmlshred.db.spec import parse_target_url
from xmlshred.loading import FlushWriter, PendingRecord
from xmlshred.targets import LogRow, open_target

NOW = datetime(2025, 6, 1, 12, 0, 0)


@pytest.fixture
def compiled():
    return compile_contract(load_contract(EXAMPLE_CONTRACT), MapOptions(now=NOW))


@pytest.fixture
def target(target_url, compiled):
    opened = open_target(parse_target_url(target_url), compiled.schema)
    opened.create_tables(compiled.schema)
    yield opened
    opened.close()


def _records(compiled, dialect, count: int, start_key: int = 1) -> list[PendingRecord]:
    from xmlshred.generator.corpus import generate_documents

    docs = generate_documents(count, seed=31, profile="small", edge_share=0.0, start_key=start_key)
    return [PendingRecord(item, None, None) for item in mapped_items(compiled, docs, dialect)]


def _log(target_url: str, schema) -> dict[int, tuple]:
    reader = TargetReader(target_url)
    try:
        return reader.log(schema)  # key -> (status, stage, reason, attempts, run_id)
    finally:
        reader.close()


def _writer(target, schema, run_id: str) -> FlushWriter:
    return FlushWriter(target, schema, run_id, retries=0, backoff_s=0.01, backoff_max_s=0.01)


def test_the_upsert_itself_never_turns_success_into_failed(target_url, target, compiled):
    schema = compiled.schema
    target.write_flush(schema, [], [LogRow(7, "success", None, None, "run-a", NOW)])
    # A writer that checked nothing sends `failed` for the same key: the database keeps `success`.
    target.write_flush(schema, [], [LogRow(7, "failed", "insert", "conflict", "run-b", NOW)])
    assert _log(target_url, schema)[7] == ("success", None, None, 1, "run-a")

    # The other way round is allowed: a failed record retried successfully becomes success.
    target.write_flush(schema, [], [LogRow(8, "failed", "map", "no ID", "run-a", NOW)])
    target.write_flush(schema, [], [LogRow(8, "success", None, None, "run-c", NOW)])
    assert _log(target_url, schema)[8] == ("success", None, None, 2, "run-c")


def test_a_conflict_on_a_key_already_success_counts_as_already_done(target_url, target, compiled):
    schema = compiled.schema
    first = _records(compiled, target.dialect, 6)
    committed = _writer(target, schema, "run-a").write(first)
    assert committed.ok == 6 and not committed.failures
    before = _log(target_url, schema)

    # A second run that lost a race: its flush holds the same six keys (their app_base rows
    # conflict on the primary key) plus two new ones.
    again = _records(compiled, target.dialect, 6) + _records(compiled, target.dialect, 2, start_key=101)
    outcome = _writer(target, schema, "run-b").write(again)
    assert outcome.failures == [], outcome.failures
    assert outcome.skipped == 6 and outcome.ok == 2

    log = _log(target_url, schema)
    for key, row in before.items():
        assert log[key] == row, f"key={key} changed from {row} to {log[key]}"
    assert {key: row[0] for key, row in log.items()} == {
        **{key: "success" for key in before}, 101: "success", 102: "success"}
    assert {log[101][4], log[102][4]} == {"run-b"}
    reader = TargetReader(target_url)
    try:
        keys = [int(k) for (k,) in reader.connection.execute(
            f"SELECT app_id FROM {reader.name(schema, 'app_base')}").fetchall()]
    finally:
        reader.close()
    assert sorted(keys) == sorted([*before, 101, 102])
