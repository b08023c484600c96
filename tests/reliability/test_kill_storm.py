"""Kill -9 at random moments, rerun until done: the target equals an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from tests.helpers import PauseGate, make_source, run_cli
from tests.reliability.support import (
    SMALL_FLUSHES,
    CliRun,
    assert_partial_state_consistent,
    assert_session_gone,
    contract_schema,
    log_count,
    make_corpus,
    source_config,
    target_kind,
    wait_until,
)

pytestmark = pytest.mark.reliability

STORM = {"sqlite": (6, 1200, 20250601), "postgres": (4, 1000, 20250602), "mssql": (4, 600, 20250603)}
"""Per target: kills K, corpus size, RNG seed of the kill moments."""
MAX_RERUNS = 3
BATCH = 20
"""``[actors] batch_size`` of tests.helpers.pipeline_config."""


def _kill_moment(rng: random.Random, remaining: int, kills_left: int):
    """(how, amount, allowance): ('time', seconds after start: mostly start-up and first flushes)
    or ('commits', more processing_log rows than at the start). ``allowance``: records each of
    the two workers maps before the pause gate holds it, so every kill still finds work left
    however fast the machine is (2 * allowance < remaining)."""
    # Whole batches: a worker returns a batch only when it has mapped all of it.
    allowance = BATCH * rng.randint(1, max(1, remaining // (2 * kills_left + 2) // BATCH))
    if rng.random() < 0.4:
        return "time", rng.uniform(0.05, 0.8), allowance
    return "commits", rng.randint(1, allowance), allowance


def test_kill9_storm_then_reruns_equal_the_uninterrupted_output(tmp_path, target_url):
    kind = target_kind(target_url)
    kills, count, seed = STORM[kind]
    corpus = make_corpus(tmp_path, count, seed=21, edge_share=0.05)
    schema, ok, failed = corpus.schema, corpus.ok, corpus.failed
    config = source_config(tmp_path, target_url, init_db=True, **SMALL_FLUSHES)
    rng = random.Random(seed)
    moments = []
    gate = PauseGate(tmp_path / "pause")
    for trial in range(kills):
        before = log_count(target_url, schema)
        how, amount, allowance = _kill_moment(rng, count - before, kills - trial)
        gate.hold(allowance)
        run = CliRun("migrate", "--config", str(config), env=gate.env)
        try:
            if how == "time":
                wait_until(lambda: not run.running() or time.monotonic() >= run.started + amount,
                           f"{amount:.2f}s into the run")
            else:
                try:
                    wait_until(lambda: not run.running() or log_count(target_url, schema) >= before + amount,
                               f"{amount} more commits")
                except BaseException:
                    print(f"trial {trial}: allowance {allowance}, before {before}; the run said:\n{run.stderr[-3000:]}")
                    raise
            assert run.running(), (  # held by the gate: it cannot have finished
                f"trial {trial}: the run ended before its kill moment ({how} {amount})\n{run.stderr[-2000:]}")
            workers_seen = len(run.workers())
            run.kill_session()
            assert run.wait(timeout=30) == -signal.SIGKILL
            assert_session_gone(run)
        finally:
            run.ensure_dead()
        settled = assert_partial_state_consistent(target_url, schema)
        moments.append((how, round(amount, 2), workers_seen, settled))
        assert settled < count, f"trial {trial}: everything was settled before the kill"

    gate.release()
    for reruns in range(1, MAX_RERUNS + 1):  # noqa: B007 (read after the loop: the reruns it took)
        result = run_cli("migrate", "--config", str(config), timeout=300)
        if result.returncode in (0, 3):
            break
    else:
        pytest.fail(f"no run completed in {MAX_RERUNS} reruns: {result.stderr[-3000:]}")
    corpus.assert_target_matches(target_url)
    print(f"\n[kill storm {kind}] kills={kills} records={count} ok={len(ok)} failed={len(failed)} "
          f"reruns to completion={reruns} (exit {result.returncode}); "
          f"moments (how, amount, workers alive, settled after the kill)={moments}")


def test_kill9_of_the_parent_alone_leaves_no_orphan_workers(tmp_path):
    """Only the CLI process is killed (not its group): its workers must notice and exit by themselves."""
    make_source(tmp_path / "source.db", 600, seed=22)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = source_config(tmp_path, target_url, init_db=True, **SMALL_FLUSHES)
    gate = PauseGate(tmp_path / "pause", 60)
    run = CliRun("migrate", "--config", str(config), env=gate.env)
    try:
        workers = wait_until(lambda: len(run.workers()) >= 2 and run.workers(), "two mapper workers")
        wait_until(lambda: not run.running() or log_count(target_url, contract_schema()) >= 100,
                   "the first commits")
        assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
        worker_pids = [w.pid for w in workers]
        os.kill(run.pid, signal.SIGKILL)
        assert run.wait(timeout=30) == -signal.SIGKILL
        gate.release()
        # The workers (and multiprocessing's resource tracker) are now orphans reparented away
        # from the CLI; each must see its pipe close and exit on its own.
        assert_session_gone(run, timeout=30)
    finally:
        gate.release()
        run.ensure_dead()
    print(f"\n[orphans] worker pids {worker_pids} all exited after the parent's kill -9")
