"""PostgreSQL outages mid-run: killed sessions, a stopped cluster, retries running out."""

from __future__ import annotations

import time

import pytest

from tests.helpers import PauseGate, run_cli
from tests.reliability.support import (
    SMALL_FLUSHES,
    CliRun,
    assert_partial_state_consistent,
    log_count,
    make_corpus,
    source_config,
    wait_until,
)
from xmlshred.db.spec import libpq_url

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

TERMINATION_ROUNDS = 10
RECORDS = 1500
STEP = 60
"""Records (whole batches of 20) each worker may map per step of the pause gate: the run is held
between steps, so every termination and outage lands mid-run (2 * STEP * rounds < RECORDS)."""
OUTAGE_S = 4.0
"""How long the cluster stays down in the survivable outage (the retries cover ~13 s)."""


@pytest.fixture(params=["odbc", "psycopg"])
def client(request) -> str:
    """Each outage on both PostgreSQL paths: odbc: (pyodbc) and postgresql:// (psycopg)."""
    if request.param == "psycopg":
        pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    return request.param


def _setup(tmp_path, dsn: str, count: int, seed: int, client: str = "odbc", **overrides):
    corpus = make_corpus(tmp_path, count, seed=seed, edge_share=0.03)
    target_url = libpq_url(dsn) if client == "psycopg" else f"odbc:{dsn}"
    config = source_config(tmp_path, target_url, init_db=True, **SMALL_FLUSHES, **overrides)
    return target_url, config, corpus


def _into_an_outage(tmp_path, config, target_url: str, schema, pg_cluster, during=None):
    """Run migrate, each worker held after 2 * STEP records; after the first 100 commits stop the
    cluster and let the run go on into the outage. ``during(run)``, when given, runs in the outage
    and the cluster is started again after it; else the cluster stays down until the run has
    ended. Returns the run, its exit code and what ``during`` returned."""
    gate = PauseGate(tmp_path / "pause", 2 * STEP)
    run = CliRun("migrate", "--config", str(config), env=gate.env)
    seen = None
    try:
        wait_until(lambda: not run.running() or log_count(target_url, schema) >= 100, "the first commits")
        assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
        pg_cluster.stop()
        gate.release()  # the run goes on into the outage
        if during is not None:
            seen = during(run)
            pg_cluster.start()
        code = run.wait()
    finally:
        gate.release()
        pg_cluster.start()
        run.ensure_dead()
    return run, code, seen


def _database_of(dsn: str) -> str:
    return next(part.split("=", 1)[1] for part in dsn.split(";") if part.upper().startswith("DATABASE="))


def _terminate_backends(admin_dsn: str, database: str) -> int:
    """pg_terminate_backend on every session of ``database`` but ours; how many were terminated."""
    import pyodbc

    admin = pyodbc.connect(admin_dsn, autocommit=True, timeout=5)
    try:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = ? AND pid <> pg_backend_pid()", database).fetchall()
        return sum(1 for (done,) in rows if done)
    finally:
        admin.close()


def test_terminated_sessions_are_retried_and_the_run_completes_once(tmp_path, pg_dsn, pg_outage_database, client):
    target_url, config, corpus = _setup(tmp_path, pg_outage_database, RECORDS, 41, client)
    database = _database_of(pg_outage_database)
    gate = PauseGate(tmp_path / "pause", 0)
    run = CliRun("migrate", "--config", str(config), env=gate.env)
    terminated = []
    try:
        for step in range(1, TERMINATION_ROUNDS + 1):
            # Let the run make progress between terminations, so each one hits a live pipeline.
            floor = max(log_count(target_url, corpus.schema), 0)
            gate.hold(step * STEP)
            wait_until(lambda: not run.running() or log_count(target_url, corpus.schema) >= floor + 50,
                       "progress since the last termination")
            assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
            terminated.append(_terminate_backends(pg_dsn, database))
        gate.release()
        code = run.wait()
    finally:
        gate.release()
        run.ensure_dead()
    assert code in (0, 3), f"exit {code}: {run.stderr[-3000:]}"
    assert len(terminated) >= 3 and sum(terminated) >= 3, (
        f"too few terminations landed mid-run ({terminated})")
    assert "transient database error" in run.stderr, "no reconnect was logged: did a termination hit?"
    corpus.assert_target_matches(target_url)
    print(f"\n[terminate backends] records={RECORDS} ok={len(corpus.ok)} failed={len(corpus.failed)} "
          f"rounds={len(terminated)} sessions terminated per round={terminated} exit={code}")


def test_cluster_stopped_for_seconds_then_the_run_retries_and_completes(tmp_path, pg_cluster,
                                                                         pg_outage_database, client):
    target_url, config, corpus = _setup(
        tmp_path, pg_outage_database, RECORDS, 42, client,
        target__connect_retries=8, target__retry_backoff_s=0.5, target__retry_backoff_max_s=2.0)

    def outage(run) -> float:
        stopped_at = time.monotonic()
        # The outage lasts until the run has noticed it and at least OUTAGE_S have passed.
        wait_until(lambda: not run.running() or (
            "transient database error" in run.stderr and time.monotonic() >= stopped_at + OUTAGE_S),
            "the run to meet the outage")
        return time.monotonic() - stopped_at

    run, code, outage_s = _into_an_outage(tmp_path, config, target_url, corpus.schema, pg_cluster, outage)
    assert code in (0, 3), f"exit {code}: {run.stderr[-3000:]}"
    retries = run.stderr.count("transient database error")
    assert retries >= 1, run.stderr[-3000:]
    corpus.assert_target_matches(target_url)
    print(f"\n[cluster stopped] records={RECORDS} ok={len(corpus.ok)} failed={len(corpus.failed)} "
          f"outage={outage_s:.1f}s retries logged={retries} exit={code}")


def test_retries_exhausted_stop_with_exit_1_then_a_rerun_completes_once(tmp_path, pg_cluster,
                                                                         pg_outage_database, client):
    target_url, config, corpus = _setup(
        tmp_path, pg_outage_database, RECORDS, 43, client,
        target__connect_retries=1, target__retry_backoff_s=0.05, target__retry_backoff_max_s=0.05)
    run, code, _ = _into_an_outage(tmp_path, config, target_url, corpus.schema, pg_cluster)
    assert code == 1, f"exit {code}: {run.stderr[-3000:]}"
    assert "run stopped:" in run.stderr, run.stderr[-3000:]
    message = run.stderr[run.stderr.rindex("run stopped:"):]
    assert "still unavailable after 1 retries" in message and "rerun to continue" in message, message
    assert "PWD=xmlshred" not in run.stderr, "the password reached the log"
    partial = assert_partial_state_consistent(target_url, corpus.schema)
    assert 0 < partial < RECORDS

    rerun = run_cli("migrate", "--config", str(config), timeout=300)
    assert rerun.returncode in (0, 3), rerun.stderr[-3000:]
    corpus.assert_target_matches(target_url)
    print(f"\n[retries exhausted] records={RECORDS} ok={len(corpus.ok)} failed={len(corpus.failed)} "
          f"settled before outage stop={partial} message={' '.join(message.split())[:200]!r}")
