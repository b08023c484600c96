"""Kill -9 mid-run, then rerun: xmlshred_quality counts each changed value exactly once."""

from __future__ import annotations

import signal
from datetime import datetime

import pytest

from tests.helpers import PauseGate, run_cli, write_config
from tests.quality_support import planted, quality_rows, reject_rows, totals_by_column, write_contract, write_corpus
from tests.reliability.support import CliRun, assert_session_gone, log_count, wait_until

pytestmark = pytest.mark.reliability

COUNT = 400
BATCH = 10


def test_kill9_mid_run_then_rerun_counts_every_changed_value_once(tmp_path, target_url):
    from xmlshred.contract import MapOptions, compile_contract, load_contract

    contract = write_contract(tmp_path)
    schema = compile_contract(load_contract(contract), MapOptions(now=datetime(2025, 6, 1))).schema
    write_corpus(tmp_path / "docs", COUNT)
    config = write_config(tmp_path / "config.toml", {
        "source": {"url": str(tmp_path / "docs")},
        "target": {"url": target_url, "connect_retries": 5, "retry_backoff_s": 0.2},
        "contract": {"path": str(contract)},
        "actors": {"mappers": 2, "max_in_flight": 100, "batch_size": BATCH},
        "flush": {"max_records": 20, "max_rows": 20000, "max_interval_ms": 100},
        "log": {"level": "INFO", "metrics": str(tmp_path / "metrics.jsonl"), "report_every_s": 1.0,
                "progress": "never"},
        "run": {"now": "2025-06-01T12:00:00"},
    })
    assert run_cli("init-db", "--config", str(config)).returncode == 0
    gate = PauseGate(tmp_path / "pause", 6 * BATCH)  # each worker maps 60 records, then waits
    run = CliRun("migrate", "--config", str(config), env=gate.env)
    try:
        wait_until(lambda: not run.running() or log_count(target_url, schema) >= 40, "the first commits")
        assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
        run.kill_session()
        assert run.wait(timeout=30) == -signal.SIGKILL
        assert_session_gone(run)
    finally:
        gate.release()
        run.ensure_dead()
    settled = log_count(target_url, schema)
    assert 40 <= settled < COUNT
    partial = totals_by_column(quality_rows(target_url))
    assert partial and sum(partial.values()) < sum(len(keys) for keys in planted(COUNT).values())

    result = run_cli("migrate", "--config", str(config), timeout=300)
    assert result.returncode == 3, result.stderr[-3000:]  # the three keyless documents
    assert totals_by_column(quality_rows(target_url)) == {where: len(keys) for where, keys in planted(COUNT).items()}
    assert len(reject_rows(target_url)) == 3
    again = run_cli("migrate", "--config", str(config), timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert totals_by_column(quality_rows(target_url)) == {where: len(keys) for where, keys in planted(COUNT).items()}
