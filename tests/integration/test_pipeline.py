"""The migrate pipeline end to end, with real processes, real signals, real databases."""

from __future__ import annotations

import json
import signal
import sqlite3

import pytest

from tests.helpers import (
    EXAMPLE_CONTRACT,
    WAIT_S,
    PauseGate,
    TargetReader,
    assert_target_matches,
    expected_tables,
    log_count,
    make_source,
    pipeline_config,
    read_summary,
    run_cli,
    wait_until,
)
from tests.reliability.support import CliRun

ALLOWANCE = 60
"""Records (three batches of 20) each worker maps before the pause gate holds the run."""



def _migrate(config, *extra, env=None, timeout=300):
    result = run_cli("migrate", "--config", str(config), *extra, env=env, timeout=timeout)
    return result


def _init(config):
    result = run_cli("init-db", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return result


def test_full_run_equals_engine_output_then_rerun_does_nothing(tmp_path, target_url):
    docs = make_source(tmp_path / "source.db", 300, edge_share=0.1, seed=3)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url)
    _init(config)
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    assert failed, "the corpus should contain failing edge cases"

    first = _migrate(config)
    assert first.returncode == 3, first.stderr[-3000:]
    assert_target_matches(target_url, schema, expected, ok, failed)
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.records_ok == len(ok)
    assert summary.records_failed == len(failed)

    second = _migrate(config)
    assert second.returncode == 0, second.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.records_ok == 0 and summary.records_failed == 0
    assert_target_matches(target_url, schema, expected, ok, failed)


def test_kill9_midway_then_rerun_leaves_exactly_the_uninterrupted_rows(tmp_path, target_url):
    docs = make_source(tmp_path / "source.db", 600, seed=5)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url,
                             flush__max_records=50, actors__max_in_flight=200)
    _init(config)
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)

    gate = PauseGate(tmp_path / "pause", ALLOWANCE)
    run = CliRun("migrate", "--config", str(config), env=gate.env)
    try:
        wait_until(lambda: log_count(target_url) >= 50 or not run.running(), "the first commits")
        assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
        run.kill_session()
        assert run.wait(timeout=30) == -signal.SIGKILL
    finally:
        gate.release()
        run.ensure_dead()
    partial = log_count(target_url)
    assert 0 < partial < len(docs)

    rerun = _migrate(config)
    assert rerun.returncode in (0, 3), rerun.stderr[-3000:]
    assert_target_matches(target_url, schema, expected, ok, failed)


def test_poison_record_fails_alone_and_others_succeed(tmp_path):
    marker = "POISON-MARKER-7f3a"

    def poison(doc):
        if doc.key == 42:
            from dataclasses import replace

            return replace(doc, xml=doc.xml.replace("<Provenir>", f"<Provenir><!-- {marker} -->", 1))
        return doc

    docs = make_source(tmp_path / "source.db", 120, seed=9, transform=poison)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url)
    _init(config)
    result = _migrate(config, env={"XMLSHRED_FAULT_KILL_MARKER": marker})
    assert result.returncode == 3, result.stderr[-3000:]
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    ok.discard(42)
    reader = TargetReader(target_url)
    log = reader.log(schema)
    reader.close()
    assert log[42][0] == "failed" and log[42][1] == "map" and "poison" in log[42][2]
    assert {k for k, v in log.items() if v[0] == "success"} == ok
    assert "worker process died" in result.stderr


def test_dry_run_writes_nothing_and_reports_failures(tmp_path):
    make_source(tmp_path / "source.db", 100, edge_share=0.2, seed=11)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url)
    _init(config)
    result = _migrate(config, "--dry-run")
    assert result.returncode == 3, result.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.records_failed > 0 and summary.records_ok > 0
    connection = sqlite3.connect(tmp_path / "target.db")
    assert connection.execute("SELECT COUNT(*) FROM processing_log").fetchone()[0] == 0
    assert connection.execute("SELECT COUNT(*) FROM app_base").fetchone()[0] == 0
    connection.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_drains_exits_130_and_rerun_completes(tmp_path, signum):
    docs = make_source(tmp_path / "source.db", 600, seed=13)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url,
                             flush__max_records=50, actors__max_in_flight=200)
    _init(config)
    gate = PauseGate(tmp_path / "pause", ALLOWANCE)
    run = CliRun("migrate", "--config", str(config), env=gate.env)
    try:
        wait_until(lambda: log_count(target_url) >= 50 or not run.running(), "the first commits")
        assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
        run.process.send_signal(signum)
        name = signal.Signals(signum).name
        wait_until(lambda: f"{name} received" in run.stderr or not run.running(), f"the {name} to be handled")
        gate.release()
        # A generous bound guards against a hang; it is no speed claim.
        code = run.wait(timeout=WAIT_S)
    finally:
        gate.release()
        run.ensure_dead()
    assert code == 130, run.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.outcome == "interrupted"
    drained = log_count(target_url)
    assert drained == summary.records_ok + summary.records_failed
    rerun = _migrate(config)
    assert rerun.returncode in (0, 3), rerun.stderr[-3000:]
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    assert_target_matches(target_url, schema, expected, ok, failed)


def test_limit_and_key_range(tmp_path):
    make_source(tmp_path / "source.db", 200, seed=17)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url)
    _init(config)
    result = _migrate(config, "--key-start", "50", "--key-end", "149", "--limit", "30")
    assert result.returncode == 0, result.stderr[-3000:]
    connection = sqlite3.connect(tmp_path / "target.db")
    keys = [k for (k,) in connection.execute("SELECT app_id FROM processing_log ORDER BY app_id")]
    connection.close()
    assert keys == list(range(50, 80))


def test_bad_config_exits_2_listing_every_problem(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[flush]\nmax_record = 5\n[actors]\nmappers = "many"\n', encoding="utf-8")
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 2
    assert "max_records" in result.stderr and "mappers" in result.stderr


def test_unreachable_target_stops_with_exit_1(tmp_path):
    make_source(tmp_path / "source.db", 5, seed=1)
    config = pipeline_config(
        tmp_path, f"sqlite:///{tmp_path / 'source.db'}",
        "odbc:DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=1;DATABASE=x;UID=u;PWD=s3cret-pw")
    result = run_cli("migrate", "--config", str(config), timeout=120)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "s3cret-pw" not in result.stderr


def test_metrics_are_json_lines(tmp_path):
    make_source(tmp_path / "source.db", 30, seed=2)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url)
    _init(config)
    assert _migrate(config).returncode == 0
    for line in (tmp_path / "metrics.jsonl").read_text().splitlines():
        json.loads(line)


def test_retry_failed_reprocesses_only_failed_records(tmp_path):
    make_source(tmp_path / "source.db", 80, edge_share=0.3, seed=19)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url)
    assert _migrate(config).returncode == 3
    plain_rerun = _migrate(config)
    assert plain_rerun.returncode == 0, plain_rerun.stderr[-3000:]
    retried = _migrate(config, "--retry-failed")
    assert retried.returncode == 3, retried.stderr[-3000:]
    connection = sqlite3.connect(tmp_path / "target.db")
    attempts = dict(connection.execute("SELECT status, GROUP_CONCAT(DISTINCT attempts) FROM processing_log "
                                       "GROUP BY status"))
    connection.close()
    assert attempts == {"success": "1", "failed": "2"}
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.records_ok == 0 and summary.records_failed > 0


@pytest.mark.postgres
def test_postgresql_source_table_into_sqlite(tmp_path, pg_database):
    """The XML read through pyodbc from a PostgreSQL text column, paged by key."""
    import pyodbc

    from xmlshred.generator.corpus import generate_documents

    docs = [d for d in generate_documents(120, seed=23, profile="small", edge_share=0.1)
            if d.encoding.lower() in ("utf-8", "utf8")]
    connection = pyodbc.connect(pg_database, autocommit=True)
    connection.execute("CREATE TABLE app_xml (app_id INTEGER PRIMARY KEY, app_xml TEXT)")
    connection.cursor().executemany("INSERT INTO app_xml VALUES (?, ?)", [(d.key, d.xml) for d in docs])
    connection.close()
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = pipeline_config(tmp_path, f"odbc:{pg_database}", target_url)
    result = _migrate(config)
    assert result.returncode in (0, 3), result.stderr[-3000:]
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    assert_target_matches(target_url, schema, expected, ok, failed)


def test_a_retried_shard_counts_what_its_earlier_attempt_settled_as_its_own(tmp_path):
    """A Ray shard retried after its worker died runs again under the same run id and finds what
    the killed attempt committed: those records are this run's (ok, failed, failures by stage),
    never read again and not skipped, so the run's totals are those of one uninterrupted run; a
    later run skips them all."""
    from tests.helpers import PINNED_NOW
    from xmlshred import supervisor
    from xmlshred.settings import load_settings
    from xmlshred.targets.lease import LeasedRun

    docs = make_source(tmp_path / "source.db", 120, edge_share=0.1, seed=5)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)

    def run(leased=None, **more):
        values = {"source.url": f"sqlite:///{tmp_path / 'source.db'}", "target.url": target_url,
                  "contract.path": str(EXAMPLE_CONTRACT), "actors.mappers": 2, "run.now": PINNED_NOW,
                  "log.metrics": str(tmp_path / "metrics.jsonl"), "log.progress": "never", **more}
        return supervisor.run_migration(load_settings(None, values, {}, cwd=tmp_path), leased=leased).summary

    attempt = LeasedRun("run-of-the-shard")
    killed = run(attempt, **{"run.key_end": 60})  # what the first attempt committed before it died
    settled_before = killed.records_ok + killed.records_failed
    assert 0 < settled_before < len(docs) and killed.failures_by_stage
    retried = run(attempt)
    assert (retried.records_ok, retried.records_failed, retried.skipped) == (len(ok), len(failed), 0)
    assert retried.resumed == settled_before
    assert sum(retried.failures_by_stage.values()) == len(failed)
    assert retried.sent == len(docs) - settled_before  # the earlier attempt's records were not read again
    assert_target_matches(target_url, schema, expected, ok, failed)
    later = run()  # another run: everything is an earlier run's now
    assert (later.records_ok, later.records_failed, later.skipped, later.resumed) == (0, 0, len(docs), 0)
