"""`migrate --engine ray`: shards over a real Ray cluster, exactly once, one report.

The cluster tests need the ray extra and a running cluster whose address is in
XMLSHRED_RAY_ADDRESS (`.ci/ray-cluster start`: a head and a second node, one
CPU each). Runs are held mid-way with the mapper workers' pause hook
(XMLSHRED_FAULT_PAUSE_FILE), never by racing their speed.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests.helpers import (
    EXAMPLE_CONTRACT,
    ROOT,
    TargetReader,
    assert_target_matches,
    cli_env,
    contract_schema,
    expected_tables,
    make_source,
    pipeline_config,
    read_summary,
    run_cli,
    wait_until,
)
from tests.reliability.support import CliRun

RAY_ADDRESS = os.environ.get("XMLSHRED_RAY_ADDRESS", "")
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="ray is not installed: pip install -e '.[ray]'")
needs_cluster = pytest.mark.skipif(not RAY_ADDRESS, reason="no Ray cluster: start one with "
                                   "`.ci/ray-cluster start` and export XMLSHRED_RAY_ADDRESS")
RUN_BOUND_S = 170.0
"""Guards against a hang; no speed claim."""


def _ray_config(tmp_path, source_db, target_url, **overrides):
    return pipeline_config(tmp_path, f"sqlite:///{source_db}", target_url, engine__kind="ray",
                           engine__address=RAY_ADDRESS, engine__shards=2, engine__shard_retries=3,
                           actors__mappers=1, actors__max_in_flight=100, flush__max_records=50, **overrides)


def _assert_same_target(schema, local_url: str, ray_url: str) -> None:
    """Every table and the processing_log statuses of the two targets are equal."""
    local_reader, ray_reader = TargetReader(local_url), TargetReader(ray_url)
    try:
        for table in schema.tables:
            assert ray_reader.rows(schema, table) == local_reader.rows(schema, table), table.name
        assert {k: v[:2] for k, v in ray_reader.log(schema).items()} == \
            {k: v[:2] for k, v in local_reader.log(schema).items()}
    finally:
        local_reader.close(), ray_reader.close()


def _shard_processes() -> list[psutil.Process]:
    """Ray worker processes running a shard (Ray titles them after the task)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if "ray::run_shard" in " ".join(process.info["cmdline"] or ()):
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def paused(tmp_path):
    """A pause file the shards' mapper workers wait on; its env for the run."""
    pause = tmp_path / "pause"
    pause.write_text("hold")
    yield pause, {"XMLSHRED_FAULT_PAUSE_FILE": str(pause)}
    pause.unlink(missing_ok=True)


@pytest.mark.postgres
@pytest.mark.ray
@needs_ray
@needs_cluster
def test_a_ray_run_gives_exactly_the_rows_of_a_local_run(tmp_path, pg_database, second_pg_database):
    docs = make_source(tmp_path / "source.db", 600, seed=14, edge_share=0.05)
    local_dir, ray_dir = tmp_path / "local", tmp_path / "ray"
    local_dir.mkdir(), ray_dir.mkdir()
    local_url = f"odbc:{pg_database}"
    ray_url = f"odbc:{second_pg_database}"
    local = run_cli("migrate", "--config", str(pipeline_config(local_dir, f"sqlite:///{tmp_path / 'source.db'}",
                                                                local_url)))
    assert local.returncode == 3, local.stderr[-3000:]
    ray_run = run_cli("migrate", "--config", str(_ray_config(ray_dir, tmp_path / "source.db", ray_url)),
                      "--shards", "3", timeout=RUN_BOUND_S)
    assert ray_run.returncode == 3, ray_run.stderr[-3000:]
    schema = contract_schema()
    _assert_same_target(schema, local_url, ray_url)
    expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)[1:]
    assert_target_matches(ray_url, schema, expected, ok, failed)
    summary = read_summary(ray_dir / "metrics.jsonl")
    assert summary.outcome == "finished" and len(summary.shards) == 3
    assert sum(s["records_ok"] for s in summary.shards) == summary.records_ok == len(ok)
    assert "summary run=" in ray_run.stderr


def _start_held_run(tmp_path, pg_database, env, count=800, **overrides):
    docs = make_source(tmp_path / "source.db", count, seed=41, edge_share=0.03)
    target_url = f"odbc:{pg_database}"
    config = _ray_config(tmp_path, tmp_path / "source.db", target_url, **overrides)
    run = CliRun("migrate", "--config", str(config), env=env)
    wait_until(lambda: not run.running() or len(_shard_processes()) >= 2, "both shards running",
               timeout=RUN_BOUND_S)
    assert run.running(), run.stderr[-3000:]
    return run, config, target_url, expected_tables(EXAMPLE_CONTRACT, docs)


@pytest.mark.postgres
@pytest.mark.reliability
@pytest.mark.ray
@needs_ray
@needs_cluster
def test_sigkill_of_a_shard_worker_mid_run_still_ends_exact(tmp_path, pg_database, paused):
    pause, env = paused
    pause.write_text("60")  # each shard's worker maps 60 records, then waits while the file is there
    run, _, target_url, (schema, expected, ok, failed) = _start_held_run(tmp_path, pg_database, env)
    keys = sorted({*ok, *failed})
    boundary = keys[len(keys) // 2 - 1]  # two shards of equal counts: first..boundary, the rest
    reader = TargetReader(target_url)
    try:
        # Both shards have committed some records before the pause holds them: whichever is
        # killed, its retry finds what its killed attempt committed.
        wait_until(lambda: {key <= boundary for key in reader.log(schema)} == {True, False},
                   "both shards' first commits", timeout=RUN_BOUND_S)
        victim = _shard_processes()[0]
        killed_pid = victim.pid
        victim.send_signal(signal.SIGKILL)
        pause.unlink()
        code = run.wait(timeout=RUN_BOUND_S)
    finally:
        run.ensure_dead()
        reader.connection.close()
    assert code == 3, run.stderr[-3000:]
    assert_target_matches(target_url, schema, expected, ok, failed)
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.outcome == "finished"
    assert killed_pid not in {shard["pid"] for shard in summary.shards}, "the killed shard was not rerun"
    # What the killed attempt committed is the run's, not skipped: the totals of an uninterrupted run.
    assert (summary.records_ok, summary.records_failed, summary.skipped) == (len(ok), len(failed), 0)
    assert summary.resumed > 0 and "of them by its killed attempt" in run.stderr


def _second_node_raylet() -> psutil.Process:
    raylets = [p for p in psutil.process_iter(["cmdline", "create_time"])
               if p.info["cmdline"] and p.info["cmdline"][0].endswith("/raylet")]
    assert len(raylets) >= 2, "the cluster needs a second node (.ci/ray-cluster start)"
    return max(raylets, key=lambda p: p.info["create_time"])


@pytest.mark.postgres
@pytest.mark.reliability
@pytest.mark.ray
@needs_ray
@needs_cluster
def test_stopping_the_second_node_mid_run_still_ends_exact(tmp_path, pg_database, paused):
    pause, env = paused
    run, _, target_url, (schema, expected, ok, failed) = _start_held_run(tmp_path, pg_database, env)
    try:
        raylet = _second_node_raylet()
        raylet.send_signal(signal.SIGKILL)  # the node dies: its raylet and the shard worker under it
        pause.unlink()
        code = run.wait(timeout=RUN_BOUND_S)
    finally:
        run.ensure_dead()
        subprocess.run(["ray", "start", "--address", RAY_ADDRESS, "--num-cpus", "1", "--disable-usage-stats"],
                       capture_output=True, timeout=120, check=False)  # the second node back, for the next test
    assert code == 3, run.stderr[-3000:]
    assert_target_matches(target_url, schema, expected, ok, failed)
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert (summary.records_ok, summary.records_failed, summary.skipped) == (len(ok), len(failed), 0)


@pytest.mark.postgres
@pytest.mark.reliability
@pytest.mark.ray
@needs_ray
@needs_cluster
def test_sigint_to_the_driver_drains_every_shard_exits_130_and_a_rerun_completes(tmp_path, pg_database, paused):
    pause, env = paused
    run, config, target_url, (schema, expected, ok, failed) = _start_held_run(tmp_path, pg_database, env,
                                                                            count=1500)
    try:
        run.process.send_signal(signal.SIGINT)
        wait_until(lambda: "draining every shard" in run.stderr, "the driver to start draining")
        pause.unlink()
        code = run.wait(timeout=RUN_BOUND_S)
    finally:
        run.ensure_dead()
    assert code == 130, run.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.outcome == "interrupted"
    assert summary.records_ok + summary.records_failed < 1500
    rerun = run_cli("migrate", "--config", str(config), timeout=RUN_BOUND_S)
    assert rerun.returncode == 3, rerun.stderr[-3000:]
    assert_target_matches(target_url, schema, expected, ok, failed)


def test_a_sqlite_target_is_refused_before_anything_starts(tmp_path):
    make_source(tmp_path / "source.db", 5)
    target = tmp_path / "target.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{target}")
    result = run_cli("migrate", "--config", str(config), "--engine", "ray")
    assert result.returncode == 2, result.stderr
    assert "--engine ray needs a server target" in result.stderr and "SQLite" in result.stderr
    assert not target.exists() and not (tmp_path / "metrics.jsonl").exists()


def test_without_the_extra_a_clear_message_names_it(tmp_path):
    make_source(tmp_path / "source.db", 5)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}",
                             "odbc:DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;DATABASE=nowhere;UID=x")
    code = ("import sys; sys.modules['ray'] = None; from xmlshred.cli import main; "
            f"sys.exit(main(['migrate', '--config', {str(config)!r}, '--engine', 'ray']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=cli_env(), capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert "not installed" in result.stderr and "pip install -e '.[ray]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_shard_bounds_cover_the_range_disjointly_even_for_sparse_keys(tmp_path):
    import sqlite3

    from xmlshred.engine.shards import plan_shards
    from xmlshred.sources import SourceSpec

    keys = list(range(1, 301)) + list(range(10_000, 10_300)) + [10**12 + k for k in range(300)]
    path = tmp_path / "keys.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE app_xml (app_id INTEGER PRIMARY KEY, xml TEXT)")
        connection.executemany("INSERT INTO app_xml VALUES (?, '')", [(k,) for k in keys])
    shards = plan_shards(SourceSpec(f"sqlite:///{path}", "app_xml", "xml", "app_id"), 6, None, None)
    sizes = []
    for shard in shards:
        low = -1 if shard.key_start is None else shard.key_start
        high = 10**13 if shard.key_end is None else shard.key_end
        sizes.append(sum(1 for k in keys if low <= k <= high))
    assert sum(sizes) == len(keys) and len(shards) == 6
    assert sizes == [150] * 6
    assert all(a.key_end < b.key_start for a, b in itertools.pairwise(shards))
    assert json.dumps([s.key_end for s in shards[:-1]])  # plain ints, sendable to Ray


def test_file_chunks_cover_every_file_once_in_near_equal_parts():
    from xmlshred.engine.shards import file_chunks

    for files, count in ((10, 3), (3, 8), (1, 1), (200, 16)):
        chunks = file_chunks(files, count)
        positions = [p for chunk in chunks for p in range(chunk.files[0], chunk.files[1] + 1)]
        assert positions == list(range(files)), (files, count)
        sizes = {chunk.files[1] - chunk.files[0] + 1 for chunk in chunks}
        assert max(sizes) - min(sizes) <= 1 and len(chunks) == min(files, count)


@pytest.mark.postgres
@pytest.mark.ray
@needs_ray
@needs_cluster
def test_a_file_source_is_split_into_chunks_of_files_and_equals_a_local_run(tmp_path, pg_database,
                                                                             second_pg_database):
    from xmlshred.generator.writers import run_generate

    folder = tmp_path / "feed"
    run_generate(120, str(folder), seed=21, profile="small", edge_share=0.05)
    local_dir, ray_dir = tmp_path / "local", tmp_path / "ray"
    local_dir.mkdir(), ray_dir.mkdir()
    local_url = f"odbc:{pg_database}"
    ray_url = f"odbc:{second_pg_database}"
    local = run_cli("migrate", "--config", str(pipeline_config(local_dir, str(folder), local_url)))
    assert local.returncode in (0, 3), local.stderr[-3000:]
    config = pipeline_config(ray_dir, str(folder), ray_url, engine__kind="ray", engine__address=RAY_ADDRESS,
                             engine__shards=3, actors__mappers=1, flush__max_records=50)
    ray_run = run_cli("migrate", "--config", str(config), timeout=RUN_BOUND_S)
    assert ray_run.returncode == local.returncode, ray_run.stderr[-3000:]
    schema = contract_schema()
    _assert_same_target(schema, local_url, ray_url)
    summary = read_summary(ray_dir / "metrics.jsonl")
    assert [s["files"] for s in summary.shards] == [[0, 39], [40, 79], [80, 119]]
