"""The target rejects one record's row mid-flush (trigger / CHECK): only that record fails, at insert."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace

import pytest

from tests.helpers import read_summary, run_cli, server_connection
from tests.reliability.support import (
    file_text,
    make_corpus,
    planted_values_absent,
    read_log,
    source_config,
    target_kind,
)

pytestmark = pytest.mark.reliability

REJECTED_KEY = 137
PLANTED = f"PLNT{REJECTED_KEY}Q"
"""In the rejected record's app_base row: PostgreSQL's error detail would quote it ('Failing row contains')."""
TRIGGER_MESSAGE = "TRIGGERSAYS-no-9c"


def _reject_one(target_url: str, schema) -> None:
    if target_url.startswith("sqlite:"):
        connection = sqlite3.connect(target_url[len("sqlite:///"):])
        connection.execute(
            f"CREATE TRIGGER reject_one BEFORE INSERT ON app_base WHEN NEW.app_id = {REJECTED_KEY} "
            f"BEGIN SELECT RAISE(ABORT, '{TRIGGER_MESSAGE}'); END")
        connection.commit()
        connection.close()
        return
    connection = server_connection(target_url)
    table = (f"[{schema.schema_name}].[app_base]" if target_kind(target_url) == "mssql"
             else f'"{schema.schema_name}"."app_base"')
    connection.execute(f"ALTER TABLE {table} ADD CONSTRAINT reject_one CHECK (app_id <> {REJECTED_KEY})")
    connection.close()


def test_a_row_rejected_by_the_target_fails_only_its_record(tmp_path, target_url):
    def plant(doc):
        if doc.key == REJECTED_KEY:
            return replace(doc, xml=re.sub(r'device_id="[^"]*"', f'device_id="{PLANTED}"', doc.xml, count=1))
        return doc

    corpus = make_corpus(tmp_path, 300, seed=81, transform=plant, left_out={REJECTED_KEY})
    docs, schema = corpus.docs, corpus.schema
    assert PLANTED in docs[REJECTED_KEY - 1].xml
    assert not corpus.failed
    config = source_config(tmp_path, target_url, init_db=True, flush__max_records=100, flush__max_interval_ms=5000)
    _reject_one(target_url, schema)

    result = run_cli("migrate", "--config", str(config), timeout=300)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "isolating the bad ones" in result.stderr
    # Everything else committed, the rejected record's flush-mates included.
    corpus.assert_target_matches(target_url, failed={REJECTED_KEY: "insert"})
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.records_ok == len(docs) - 1 and summary.records_failed == 1

    reason = read_log(target_url, schema)[REJECTED_KEY][2]
    assert reason and "app_base" in reason, reason
    assert str(REJECTED_KEY) not in reason, reason
    leaks = planted_values_absent(
        {"reason": reason, "stderr": result.stderr, "log file": file_text(tmp_path / "run.log")},
        [PLANTED, TRIGGER_MESSAGE])
    assert not leaks, leaks
    print(f"\n[constraint {target_kind(target_url)}] records={len(docs)} ok={len(corpus.ok)} failed=1 "
          f"(stage insert) reason={reason!r}")
