"""Kill -9 at random moments of a ``migrate --reprocess stale``, rerun until done: the target
equals an uninterrupted reprocess (a fresh load with the new contract), and after every kill
each record is wholly old or wholly new (``verify`` with each contract finds nothing wrong)."""

from __future__ import annotations

import random
import signal
import time
from datetime import datetime

import pytest

from tests.helpers import (
    EXAMPLE_CONTRACT,
    PINNED_NOW,
    PauseGate,
    assert_target_matches,
    expected_tables,
    make_source,
    pipeline_config,
    run_cli,
)
from tests.reliability.support import (
    CliRun,
    assert_partial_state_consistent,
    assert_session_gone,
    log_count,
    target_kind,
    wait_until,
)
from tests.reprocess_support import changed_contract
from xmlshred.contract import MapOptions, compile_contract, fingerprint_file, load_contract, record_lineage

pytestmark = pytest.mark.reliability

STORM = {"sqlite": (4, 600, 20251207), "postgres": (3, 500, 20251208), "mssql": (3, 400, 20251209)}
"""Per target: kills K, corpus size, RNG seed of the kill moments."""
MAX_RERUNS = 3
BATCH = 20


def _wrong_records(contract_path, source_url: str, target_url: str) -> list[int]:
    """Records whose rows disagree with ``contract_path`` although written under its fingerprint."""
    from xmlshred.db.spec import parse_target_url
    from xmlshred.sources import SourceSpec
    from xmlshred.verify import VerifyRequest, run_verify

    contract = load_contract(contract_path)
    compiled = compile_contract(contract, MapOptions(now=datetime.fromisoformat(PINNED_NOW)))
    request = VerifyRequest(
        source=SourceSpec(source_url, contract.source_table, contract.source_column, "app_id"),
        target=parse_target_url(target_url), contract=contract, compiled=compiled,
        fingerprint=fingerprint_file(contract_path), lineage=record_lineage(contract, compiled.schema),
        clock_pinned=True)
    result = run_verify(request)
    return result.wrong + result.not_loaded


def test_kill9_storm_during_reprocess_then_reruns_equal_a_fresh_load(tmp_path, target_url):
    kind = target_kind(target_url)
    kills, count, seed = STORM[kind]
    docs = make_source(tmp_path / "source.db", count, seed=31, edge_share=0.05)
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    config = pipeline_config(tmp_path, source_url, target_url, flush__max_records=50, actors__max_in_flight=200)
    first = run_cli("migrate", "--config", str(config), timeout=300)
    assert first.returncode in (0, 3), first.stderr[-3000:]
    changed = changed_contract(tmp_path)
    new_hash = fingerprint_file(changed)
    schema, expected, ok, failed = expected_tables(changed, docs)
    reprocess = ("migrate", "--config", str(config), "--contract", str(changed), "--reprocess", "stale")
    rng = random.Random(seed)
    gate = PauseGate(tmp_path / "pause")
    moments = []
    for trial in range(kills):
        before = log_count(target_url, schema, new_hash)
        remaining = count - before
        allowance = BATCH * rng.randint(1, max(1, remaining // (2 * (kills - trial) + 2) // BATCH))
        gate.hold(allowance)
        run = CliRun(*reprocess, env=gate.env)
        try:
            if rng.random() < 0.4:
                how, amount = "time", rng.uniform(0.05, 0.8)
                wait_until(lambda: not run.running() or time.monotonic() >= run.started + amount,
                           f"{amount:.2f}s into the run")
            else:
                how, amount = "commits", rng.randint(1, allowance)
                wait_until(lambda: not run.running() or log_count(target_url, schema, new_hash) >= before + amount,
                           f"{amount} more reloaded records")
            assert run.running(), f"trial {trial}: the run ended before its kill ({how} {amount})\n{run.stderr[-2000:]}"
            run.kill_session()
            assert run.wait(timeout=30) == -signal.SIGKILL
            assert_session_gone(run)
        finally:
            run.ensure_dead()
        assert_partial_state_consistent(target_url, schema)
        # Wholly old or wholly new: no record disagrees with the contract its fingerprint names.
        assert _wrong_records(changed, source_url, target_url) == []
        assert _wrong_records(EXAMPLE_CONTRACT, source_url, target_url) == []
        reloaded = log_count(target_url, schema, new_hash)
        moments.append((how, round(amount, 2), reloaded))
        assert reloaded < count, f"trial {trial}: everything was reloaded before the kill"

    gate.release()
    for reruns in range(1, MAX_RERUNS + 1):  # noqa: B007 (read after the loop)
        result = run_cli(*reprocess, timeout=300)
        if result.returncode in (0, 3):
            break
    else:
        pytest.fail(f"no reprocess completed in {MAX_RERUNS} reruns: {result.stderr[-3000:]}")
    assert_target_matches(target_url, schema, expected, ok, failed)
    assert log_count(target_url, schema, new_hash) == count
    print(f"\n[reprocess kill storm {kind}] kills={kills} records={count} reruns={reruns} "
          f"moments (how, amount, reloaded after the kill)={moments}")
