"""Mapper worker processes killed mid-run are replaced and the run still completes exactly once."""

from __future__ import annotations

import signal

import psutil
import pytest

from tests.helpers import read_summary
from tests.reliability.support import (
    contract_schema,
    held_migrate,
    log_count,
    target_kind,
    wait_until,
)

pytestmark = pytest.mark.reliability

KILL_AFTER_COMMITS = (50, 100)
"""One kill per threshold, each of a different original worker."""
ALLOWANCE = 60
"""Records each worker maps before the pause gate holds it, until the kills are done."""


def test_sigkill_of_workers_is_replaced_and_the_run_completes_once(tmp_path, target_url):
    run, gate, _, corpus = held_migrate(tmp_path, target_url, 600, seed=31, edge_share=0.05, allowance=ALLOWANCE)
    docs, ok, failed = corpus.docs, corpus.ok, corpus.failed
    killed, replacements = [], []
    try:
        originals = wait_until(lambda: len(run.workers()) >= 2 and run.workers(), "two mapper workers")
        for victim, threshold in zip(originals, KILL_AFTER_COMMITS, strict=False):
            wait_until(lambda: not run.running() or log_count(target_url, contract_schema()) >= threshold,
                       f"{threshold} commits")
            assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
            seen = {w.pid for w in run.workers()}
            victim.send_signal(signal.SIGKILL)
            psutil.wait_procs([victim], timeout=30)
            killed.append(victim.pid)
            new = wait_until(lambda: [w.pid for w in run.workers() if w.pid not in seen] or not run.running(),
                             "a replacement worker")
            assert isinstance(new, list), "the run ended before the killed worker was replaced"
            replacements += new
        gate.release()
        code = run.wait()
    finally:
        gate.release()
        run.ensure_dead()
    assert code == (3 if failed else 0), run.stderr[-3000:]
    assert run.stderr.count("worker process died") == len(KILL_AFTER_COMMITS), run.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.workers_replaced == len(KILL_AFTER_COMMITS), summary
    assert summary.records_ok == len(ok) and summary.records_failed == len(failed)
    # Exactly once: the killed workers' batches were mapped again, and nothing is there twice.
    corpus.assert_target_matches(target_url)
    print(f"\n[worker kill {target_kind(target_url)}] records={len(docs)} ok={len(ok)} failed={len(failed)} "
          f"killed pids={killed} after {KILL_AFTER_COMMITS} commits, replacements={replacements}")
