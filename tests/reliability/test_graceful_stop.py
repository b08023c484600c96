"""SIGINT drains and exits 130; a second SIGINT aborts at once; either way a rerun completes exactly once."""

from __future__ import annotations

import signal
import time

import pytest

from tests.helpers import read_summary, run_cli
from tests.reliability.support import (
    Corpus,
    assert_partial_state_consistent,
    assert_session_gone,
    held_migrate,
    log_count,
    target_kind,
    wait_until,
)

pytestmark = pytest.mark.reliability

STOP_BOUND_S = 120.0
"""Guards against a hang; it is no speed claim."""
ABORT_BOUND_S = 20.0
"""'At once' for the second signal, with room for a loaded CI machine."""
RECORDS = 600
ALLOWANCE = 60
"""Records each mapper worker maps before the pause gate holds it: commits to show, never the end."""


def _rerun_completes_exactly_once(config, target_url, corpus: Corpus) -> int:
    rerun = run_cli("migrate", "--config", str(config), timeout=300)
    assert rerun.returncode in (0, 3), rerun.stderr[-3000:]
    corpus.assert_target_matches(target_url)
    return rerun.returncode


def test_sigint_drains_and_exits_130_then_a_rerun_completes_once(tmp_path, target_url):
    run, gate, config, corpus = held_migrate(tmp_path, target_url, RECORDS, seed=71, edge_share=0.03,
                                             allowance=ALLOWANCE)
    try:
        wait_until(lambda: not run.running() or log_count(target_url, corpus.schema) >= 50, "the first commits")
        assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
        run.signal_group(signal.SIGINT)  # as a terminal's Ctrl-C: the workers get it too and ignore it
        wait_until(lambda: "SIGINT received" in run.stderr or not run.running(), "the SIGINT to be handled")
        gate.release()
        signalled = time.monotonic()
        code = run.wait(timeout=STOP_BOUND_S)
        stop_s = time.monotonic() - signalled
        assert_session_gone(run)
    finally:
        gate.release()
        run.ensure_dead()
    assert code == 130, run.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.outcome == "interrupted"
    drained = assert_partial_state_consistent(target_url, corpus.schema)
    assert drained == summary.records_ok + summary.records_failed and drained < RECORDS
    rerun_code = _rerun_completes_exactly_once(config, target_url, corpus)
    print(f"\n[SIGINT {target_kind(target_url)}] records={RECORDS} settled before stop={drained} "
          f"stop took {stop_s:.2f}s, rerun exit={rerun_code}")


def test_second_sigint_aborts_at_once_and_nothing_uncommitted_is_marked_done(tmp_path, target_url):
    run, gate, config, corpus = held_migrate(tmp_path, target_url, RECORDS, seed=72, edge_share=0.03,
                                             allowance=ALLOWANCE)
    try:
        wait_until(lambda: not run.running() or log_count(target_url, corpus.schema) >= 50, "the first commits")
        assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
        run.signal_group(signal.SIGINT)
        # "Right after": as soon as the first one has been handled (two signals that arrive
        # before Python's handler runs would count as one).
        wait_until(lambda: "SIGINT received" in run.stderr or not run.running(), "the first SIGINT to be handled")
        assert run.running(), run.stderr[-3000:]  # still held: the drain waits for the gate
        run.signal_group(signal.SIGINT)
        signalled = time.monotonic()
        code = run.wait(timeout=ABORT_BOUND_S)
        abort_s = time.monotonic() - signalled
        assert_session_gone(run)
    finally:
        gate.release()
        run.ensure_dead()
    assert code == 130, run.stderr[-3000:]
    assert "second signal" in run.stderr, run.stderr[-3000:]
    settled = assert_partial_state_consistent(target_url, corpus.schema)
    assert settled < RECORDS
    rerun_code = _rerun_completes_exactly_once(config, target_url, corpus)
    print(f"\n[double SIGINT {target_kind(target_url)}] records={RECORDS} settled at abort={settled} "
          f"abort took {abort_s:.2f}s, rerun exit={rerun_code}")
