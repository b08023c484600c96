"""Data quality end to end: every changed value counted (xmlshred_quality, summary, metrics, report),
[quality] "fail", and failures without a key recorded (xmlshred_rejects) and not retried unchanged."""

from __future__ import annotations

import json

from tests.helpers import run_cli, write_config
from tests.quality_support import (
    REJECT_FILES,
    SECRET_NAME,
    kinds_by_column,
    planted,
    quality_rows,
    reject_rows,
    totals_by_column,
    write_contract,
    write_corpus,
)
from xmlshred.reporting.summary import RunSummary

COUNT = 60


def _config(tmp_path, target_url, **quality):
    sections = {
        "source": {"url": str(tmp_path / "docs")},
        "target": {"url": target_url, "connect_retries": 5, "retry_backoff_s": 0.2},
        "contract": {"path": str(write_contract(tmp_path))},
        "actors": {"mappers": 2, "max_in_flight": 200, "batch_size": 7},
        "flush": {"max_records": 25, "max_rows": 20000, "max_interval_ms": 200},
        "log": {"level": "INFO", "metrics": str(tmp_path / "metrics.jsonl"), "report_every_s": 1.0,
                "progress": "never"},
        "run": {"now": "2025-06-01T12:00:00"},
    }
    if quality:
        sections["quality"] = quality
    return write_config(tmp_path / "config.toml", sections)


def _summaries(tmp_path) -> list[RunSummary]:
    lines = (tmp_path / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [RunSummary.from_dict(record) for record in map(json.loads, lines) if record.get("event") == "summary"]


def test_every_changed_value_is_counted_and_keyless_failures_are_recorded(tmp_path, target_url):
    write_corpus(tmp_path / "docs", COUNT)
    config = _config(tmp_path, target_url)
    expected = planted(COUNT)

    first = run_cli("migrate", "--config", str(config))
    assert first.returncode == 3, first.stderr[-3000:]  # the three keyless documents failed

    rows = quality_rows(target_url)
    assert totals_by_column(rows) == {where: len(keys) for where, keys in expected.items()}
    assert kinds_by_column(rows)["app_base.name"] == {"truncated"}
    for _run, _writer, table, column, _kind, _count, keys in rows:
        examples = [int(key) for key in keys.split(",")]
        assert 1 <= len(examples) <= 5 and set(examples) <= expected[f"{table}.{column}"]
    # The summary line and metrics.jsonl carry the same counts.
    summary = _summaries(tmp_path)[-1]
    by_column = {}
    for label, count in summary.quality.items():
        kind, _, where = label.partition(":")
        by_column[where] = by_column.get(where, 0) + count
    assert by_column == {where: len(keys) for where, keys in expected.items()}
    assert summary.quality_by_kind["truncated"] == len(expected["app_base.name"])
    assert "changed values: " in first.stderr and f"truncated={len(expected['app_base.name'])}" in first.stderr
    assert summary.rejects == len(REJECT_FILES) and summary.records_failed == len(REJECT_FILES)

    rejects = reject_rows(target_url)
    assert sorted(ref.rsplit("/", 1)[-1] for ref, *_ in rejects) == sorted(REJECT_FILES)
    assert {stage for _, stage, _, _ in rejects} <= {"parse", "validate"}

    report = run_cli("report", "--config", str(config))
    assert report.returncode == 0, report.stderr
    assert "Data quality, run" in report.stdout
    assert "app_base.name" in report.stdout and "truncated" in report.stdout
    assert "3 failed before a key was known" in report.stdout
    for name in REJECT_FILES:
        assert name in report.stdout
    for text in (first.stdout + first.stderr, report.stdout):
        assert SECRET_NAME not in text and "not-a-date" not in text

    # A rerun: every keyed record is done, the three rejects are known and unchanged: exit 0, no
    # record counted twice.
    second = run_cli("migrate", "--config", str(config))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "3 known-bad documents not read again" in second.stderr
    assert totals_by_column(quality_rows(target_url)) == {where: len(keys) for where, keys in expected.items()}
    assert _summaries(tmp_path)[-1].skipped_rejects == 3

    # A reject that is fixed (its file changed) is read again; its reject row goes.
    (tmp_path / "docs" / "z_nokey.xml").write_text(
        (tmp_path / "docs" / "doc00001.xml").read_text().replace('ID="1"', 'ID="999"'), encoding="utf-8")
    third = run_cli("migrate", "--config", str(config))
    assert third.returncode == 0, third.stderr[-3000:]
    assert "2 known-bad documents not read again" in third.stderr
    assert sorted(ref.rsplit("/", 1)[-1] for ref, *_ in reject_rows(target_url)) == ["z_cut.xml", "z_empty.xml"]

    # --retry-failed reads the known-bad ones again (they fail again: exit 3).
    fourth = run_cli("migrate", "--config", str(config), "--retry-failed")
    assert fourth.returncode == 3, fourth.stderr[-3000:]
    assert "known-bad" not in fourth.stderr


def test_quality_fail_fails_exactly_the_records_with_that_kind(tmp_path, target_url):
    write_corpus(tmp_path / "docs", COUNT, rejects=False)
    config = _config(tmp_path, target_url)

    result = run_cli("migrate", "--config", str(config), "--quality", "truncated=fail")
    assert result.returncode == 3, result.stderr[-3000:]

    from tests.helpers import TargetReader

    reader = TargetReader(target_url)
    table = "processing_log" if target_url.startswith("sqlite:") else '"qual"."processing_log"'
    log = {int(key): (status, stage, reason) for key, status, stage, reason in reader.connection.execute(
        f"SELECT app_id, status, stage, reason FROM {table}").fetchall()}
    reader.connection.close()
    overlong = planted(COUNT)["app_base.name"]
    assert {key for key, (status, _, _) in log.items() if status == "failed"} == overlong
    for key in overlong:
        assert log[key][1] == "map" and log[key][2] == "app_base.name: truncated"
    # The failed records' values are not counted (nothing of them was written); the rest are.
    totals = totals_by_column(quality_rows(target_url))
    assert "app_base.name" not in totals
    committed = set(range(1, COUNT + 1)) - overlong
    assert totals == {where: len(keys) for where, keys in planted(COUNT, committed).items()
                      if where != "app_base.name" and keys}


def test_quality_fail_from_the_environment(tmp_path):
    write_corpus(tmp_path / "docs", 12, rejects=False)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = _config(tmp_path, target_url)
    result = run_cli("migrate", "--config", str(config), env={"XMLSHRED__QUALITY__TRUNCATED": "fail"})
    assert result.returncode == 3
    assert "failures by stage: map=4" in result.stderr  # keys 3, 6, 9, 12
    bad = run_cli("migrate", "--config", str(config), "--quality", "truncate=fail")
    assert bad.returncode == 2 and "did you mean 'quality.truncated'" in bad.stderr


def test_init_db_creates_the_quality_tables(tmp_path, target_url):
    write_corpus(tmp_path / "docs", 1, rejects=False)
    config = _config(tmp_path, target_url)
    result = run_cli("init-db", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert quality_rows(target_url) == [] and reject_rows(target_url) == []


def test_shipped_sample_exits_3_then_0(tmp_path):
    """The shipped sample (one document without an ID): exit 3, then 0 saying one document is known bad."""
    target = f"sqlite:///{tmp_path / 'sample.db'}"
    env = {"XMLSHRED__LOG__METRICS": str(tmp_path / "m.jsonl")}
    codes = []
    for _ in range(2):
        result = run_cli("migrate", "--target", target, env=env)
        codes.append(result.returncode)
    assert codes == [3, 0], result.stderr[-3000:]
    assert "1 known-bad document not read again" in result.stderr
    report = run_cli("report", "--target", target, env=env)
    assert "1 failed before a key was known" in report.stdout and "0000000190.xml" in report.stdout


def test_bisection_counts_only_the_records_that_commit(tmp_path):
    """A record the database rejects is isolated by bisection; its changed values are not counted."""
    import sqlite3
    from datetime import datetime

    from tests.quality_support import document
    from xmlshred.contract import MapOptions, compile_contract, load_contract
    from xmlshred.db.dialects import SQLITE
    from xmlshred.db.spec import parse_target_url
    from xmlshred.db.values import ReadyResults
    from xmlshred.loading import FlushWriter, PendingRecord
    from xmlshred.messages import MappedItem
    from xmlshred.sources.types import SourceItem
    from xmlshred.targets import open_target

    compiled = compile_contract(load_contract(write_contract(tmp_path)), MapOptions(now=datetime(2025, 1, 1)))
    keys = list(range(1, 25))
    ready = ReadyResults(compiled.schema, SQLITE)([compiled.map_document(document(key)) for key in keys])
    records = [PendingRecord(MappedItem(SourceItem(key, key, f"key={key}"), result), None, None)
               for key, result in zip(keys, ready, strict=True)]
    target_url = f"sqlite:///{tmp_path / 't.db'}"
    target = open_target(parse_target_url(target_url), compiled.schema)
    target.create_tables(compiled.schema)
    bad = {12, 21}  # each has changed values (12: name, amount; 21: flag)
    raw = sqlite3.connect(tmp_path / "t.db")
    raw.execute(f"CREATE TRIGGER reject BEFORE INSERT ON app_base WHEN NEW.app_id IN ({','.join(map(str, bad))}) "
                "BEGIN SELECT RAISE(ABORT, 'rejected by a test trigger'); END")
    raw.commit()
    writer = FlushWriter(target, compiled.schema, "run-q", retries=0, backoff_s=0.01, backoff_max_s=0.01)
    half = len(records) // 2
    first = writer.write(records[:half])
    second = writer.write(records[half:])
    assert first.ok + second.ok == len(keys) - len(bad)
    committed = set(keys) - bad
    expected = {where: len(found) for where, found in planted(len(keys), committed).items() if found}
    assert totals_by_column(quality_rows(target_url)) == expected
    # One writer: one row per table.column and kind, accumulated over its two flushes.
    assert len({(table, column, kind) for _, _, table, column, kind, _, _ in quality_rows(target_url)}) \
        == len(quality_rows(target_url))
    outcome_totals: dict[str, int] = {}
    for outcome in (first, second):
        for label, count in outcome.quality.items():
            where = label.partition(":")[2]
            outcome_totals[where] = outcome_totals.get(where, 0) + count
    assert outcome_totals == expected
    raw.close()
    target.close()
