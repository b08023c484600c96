"""Two runs, one target: the run lease, against a real SQLite file and a real PostgreSQL.

The CLI runs as real subprocesses. A run is held mid-way, deterministically,
by the workers' XMLSHRED_FAULT_PAUSE_FILE hook: while the file exists no
record is mapped, so the run holds its lease for exactly as long as the test
keeps the file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import (
    EXAMPLE_CONTRACT,
    ROOT,
    TargetReader,
    assert_target_matches,
    contract_schema,
    expected_tables,
    make_source,
    pipeline_config,
    read_summary,
    run_cli,
    wait_until,
)
from tests.reliability.support import CliRun

PAUSE_ENV = "XMLSHRED_FAULT_PAUSE_FILE"
RECORDS = 200


def _setup(tmp_path, target_url, seed: int):
    docs = make_source(tmp_path / "source.db", RECORDS, seed=seed, edge_share=0.1)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url)
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    assert ok and failed
    gate = tmp_path / "pause"
    gate.touch()
    return config, gate, (schema, expected, ok, failed)


def _runs(target_url: str) -> dict[str, tuple]:
    """xmlshred_runs: run_id -> (host, pid, finished, outcome); empty while it does not exist."""
    schema = contract_schema()
    try:
        reader = TargetReader(target_url)
    except Exception:
        return {}
    try:
        rows = reader.connection.execute(
            f"SELECT run_id, host, pid, finished, outcome FROM {reader.name(schema, 'xmlshred_runs')}").fetchall()
    except Exception:
        return {}
    finally:
        reader.close()
    return {run_id: (host, int(pid), finished, outcome) for run_id, host, pid, finished, outcome in rows}


def _holder(target_url: str, pid: int) -> str | None:
    """The run id of the running run of process ``pid``, once it holds the lease."""
    for run_id, (_, row_pid, finished, outcome) in _runs(target_url).items():
        if row_pid == pid and finished is None and outcome == "running":
            return run_id
    return None


def _assert_once(target_url, schema, expected, ok, failed) -> None:
    """The target equals one uninterrupted run: table by table, each key logged once, in one attempt."""
    assert_target_matches(target_url, schema, expected, ok, failed)
    reader = TargetReader(target_url)
    try:
        log = reader.log(schema)
    finally:
        reader.close()
    assert {row[3] for row in log.values()} == {1}, "a record was written more than once"


def test_two_runs_started_together_the_second_refuses_naming_the_first(tmp_path, target_url):
    config, gate, (schema, expected, ok, failed) = _setup(tmp_path, target_url, seed=51)
    env = {PAUSE_ENV: str(gate)}
    runs = [CliRun("migrate", "--config", str(config), env=env) for _ in range(2)]
    try:
        # The winner is held by the gate; the loser must give up by itself.
        loser = wait_until(lambda: next((run for run in runs if not run.running()), None), "one run to exit")
        winner = next(run for run in runs if run is not loser)
        assert loser.wait() == 2, loser.stderr[-3000:]
        assert winner.running(), winner.stderr[-3000:]
        holder = wait_until(lambda: _holder(target_url, winner.pid), "the winner's xmlshred_runs row")
        lines = [line for line in loser.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, loser.stderr
        host = _runs(target_url)[holder][0]
        for part in (f"run {holder} since ", f"on host {host} pid {winner.pid}", "--wait"):
            assert part in lines[0], lines[0]

        gate.unlink()
        code = winner.wait()
    finally:
        for run in runs:
            run.ensure_dead()
    assert code == 3, winner.stderr[-3000:]
    _assert_once(target_url, schema, expected, ok, failed)
    assert {run_id: row[3] for run_id, row in _runs(target_url).items()} == {holder: "finished"}


def test_with_wait_the_second_run_waits_then_finds_nothing_to_do(tmp_path, target_url):
    config, gate, (schema, expected, ok, failed) = _setup(tmp_path, target_url, seed=52)
    env = {PAUSE_ENV: str(gate)}
    first = CliRun("migrate", "--config", str(config), env=env)
    second = None
    try:
        holder = wait_until(lambda: not first.running() or _holder(target_url, first.pid), "the first run's lease")
        assert first.running(), first.stderr[-3000:]
        second = CliRun("migrate", "--config", str(config), "--wait", "600",
                        env={**env, "XMLSHRED__LOG__METRICS": str(tmp_path / "second.jsonl")})
        wait_until(lambda: not second.running() or "waiting up to 600s" in second.stderr, "the second run to wait")
        assert second.running(), second.stderr[-3000:]
        assert holder in second.stderr
        assert first.running()

        gate.unlink()
        assert first.wait() == 3, first.stderr[-3000:]
        assert second.wait() == 0, second.stderr[-3000:]
    finally:
        first.ensure_dead()
        if second is not None:
            second.ensure_dead()
    summary = read_summary(tmp_path / "second.jsonl")
    assert summary.records_ok == 0 and summary.records_failed == 0
    assert summary.skipped == RECORDS
    _assert_once(target_url, schema, expected, ok, failed)
    outcomes = {run_id: row[3] for run_id, row in _runs(target_url).items()}
    assert outcomes[holder] == "finished" and sorted(outcomes.values()) == ["finished", "finished"]


def test_kill9_of_the_holder_then_the_next_run_takes_over_and_completes_once(tmp_path, target_url):
    config, gate, (schema, expected, ok, failed) = _setup(tmp_path, target_url, seed=53)
    partial = run_cli("migrate", "--config", str(config), "--limit", "60")
    assert partial.returncode in (0, 3), partial.stderr[-3000:]
    killed = CliRun("migrate", "--config", str(config), env={PAUSE_ENV: str(gate)})
    try:
        holder = wait_until(lambda: not killed.running() or _holder(target_url, killed.pid), "the lease")
        assert killed.running(), killed.stderr[-3000:]
        killed.kill_session()
        assert killed.wait(timeout=30) == -signal.SIGKILL
    finally:
        killed.ensure_dead()
    assert _runs(target_url)[holder][3] == "running"  # the row outlives its process; the lock did not

    rerun = run_cli("migrate", "--config", str(config))
    assert rerun.returncode == 3, rerun.stderr[-3000:]
    assert "took over target" in rerun.stderr and holder in rerun.stderr
    _assert_once(target_url, schema, expected, ok, failed)
    outcomes = {run_id: row[3] for run_id, row in _runs(target_url).items()}
    assert outcomes.pop(holder) == "abandoned"
    assert sorted(outcomes.values()) == ["finished", "finished"]


def test_lease_api_refuses_while_held_and_a_killed_holder_is_taken_over(tmp_path, target_url):
    """The library API a scale-out driver uses: acquire, refuse with the holder, take over from the dead."""
    from xmlshred.db.spec import parse_target_url
    from xmlshred.targets.lease import LeasedRun, LeaseHeld, RunLease

    schema = contract_schema()
    spec = parse_target_url(target_url)
    first = RunLease.acquire(spec, schema, "run-a")
    try:
        assert first.leased == LeasedRun("run-a")
        with pytest.raises(LeaseHeld) as refused:
            RunLease.acquire(spec, schema, "run-b", wait_s=0.3)
        assert refused.value.holder.run_id == "run-a" and refused.value.holder.outcome == "running"
        assert "after waiting 0.3s" in str(refused.value)
    finally:
        first.release("finished")

    # A holder in another process that dies without a word: the database / OS drops its lock.
    script = textwrap.dedent(f"""
        import time
        from xmlshred.db.spec import parse_target_url
        from xmlshred.targets.lease import RunLease
        from tests.helpers import contract_schema
        RunLease.acquire(parse_target_url({target_url!r}), contract_schema(), "run-doomed")
        print("held", flush=True)
        time.sleep(600)
    """)
    # Run from the checkout, so `tests.helpers` imports (python -c puts the current folder first).
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(LeaseHeld):
            RunLease.acquire(spec, schema, "run-c")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    # Waiting rather than refusing: a server notices the dead session a moment after the kill.
    taker = RunLease.acquire(spec, schema, "run-c", wait_s=60)
    taker.release("finished")
    outcomes = {run_id: row[3] for run_id, row in _runs(target_url).items()}
    assert outcomes == {"run-a": "finished", "run-doomed": "abandoned", "run-c": "finished"}


@pytest.mark.postgres
def test_a_lost_server_lease_taken_by_another_run_stops_the_first(pg_database):
    """The lease's session dies (terminated), another run takes the target before the first re-takes it:
    the first is told (on_lost), so its supervisor stops it; the other keeps the target."""
    import threading

    import pyodbc

    from xmlshred.db.spec import parse_target_url
    from xmlshred.db.sql import ADVISORY_LOCK_CLASS
    from xmlshred.targets.lease import LeaseLost, RunLease

    schema = contract_schema()
    spec = parse_target_url(f"odbc:{pg_database}")
    lost: list[LeaseLost] = []
    told = threading.Event()
    first = RunLease.acquire(spec, schema, "run-first", heartbeat_s=5.0,
                             on_lost=lambda error: (lost.append(error), told.set()))
    second = None
    try:
        with pyodbc.connect(pg_database, autocommit=True) as admin:
            (holder_pid,) = admin.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ?",
                ADVISORY_LOCK_CLASS).fetchone()
            assert admin.execute("SELECT pg_terminate_backend(?)", holder_pid).fetchone()[0]
        second = RunLease.acquire(spec, schema, "run-second", wait_s=60)
        assert told.wait(timeout=60), "the first run was never told it lost the lease"
        assert "run-second" in str(lost[0]) and "run-first" in str(lost[0])
    finally:
        first.release("error")
        if second is not None:
            second.release("finished")
    outcomes = {run_id: row[3] for run_id, row in _runs(f"odbc:{pg_database}").items()}
    # The second run saw the first's row still open with the lock free: abandoned, and that stays.
    assert outcomes == {"run-first": "abandoned", "run-second": "finished"}
