"""The mapper worker processes start while the supervisor still checks both ends, and never outlive
a run that does not start.

``start_migration`` launches one worker process per mapper right after the contract loads, so the
workers import and compile the contract while the parent compiles, counts the source and takes the
lease; each MapperActor then takes over its worker. A run refused before its actors start (the lease
held by another run, nothing to do, an unreachable source) must leave no worker behind.
"""

from __future__ import annotations

import multiprocessing
import time

import pytest

from tests.helpers import EXAMPLE_CONTRACT, PINNED_NOW, make_source
from xmlshred import supervisor
from xmlshred.contract import MapOptions
from xmlshred.db.spec import parse_target_url
from xmlshred.settings import load_settings
from xmlshred.sources import SourceSpec
from xmlshred.targets.lease import RunLease
from xmlshred.workers.mapping_worker import WorkerConfig, WorkerProcess

NOW = supervisor.datetime.fromisoformat(PINNED_NOW)
OPTIONS = MapOptions(now=NOW, max_document_bytes=10_000_000)


def _settings(tmp_path, source_url: str, target_url: str, **more):
    values = {"source.url": source_url, "target.url": target_url, "contract.path": str(EXAMPLE_CONTRACT),
              "actors.mappers": 2, "run.now": PINNED_NOW, "log.metrics": str(tmp_path / "metrics.jsonl"),
              "log.progress": "never", **more}
    return load_settings(None, values, {}, cwd=tmp_path)


def _mapper_workers() -> list:
    """This process's live mapper worker processes."""
    return [child for child in multiprocessing.active_children() if child.name.startswith("xmlshred-mapper-")]


def test_a_run_refused_by_a_held_lease_leaves_no_worker_process(tmp_path):
    make_source(tmp_path / "source.db", 5)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url)
    _, compiled = supervisor.load_compiled(settings, NOW)
    holder = RunLease.acquire(parse_target_url(target_url), compiled.schema, "run-holder")
    try:
        with pytest.raises(supervisor.TargetBusy, match="run-holder"):
            supervisor.run_migration(settings)
        assert _mapper_workers() == []
    finally:
        holder.release("finished")


def test_a_run_with_nothing_to_do_leaves_no_worker_process(tmp_path):
    make_source(tmp_path / "source.db", 0)
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'target.db'}")
    result = supervisor.run_migration(settings)
    assert result.exit_code == 0 and result.summary is None
    assert _mapper_workers() == []


def test_a_missing_source_stops_the_run_and_leaves_no_worker_process(tmp_path):
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'absent.db'}", f"sqlite:///{tmp_path / 'target.db'}")
    with pytest.raises(supervisor.ConfigurationError, match="absent.db"):
        supervisor.run_migration(settings)
    assert _mapper_workers() == []
    assert not (tmp_path / "target.db").exists()


def test_a_started_run_hands_each_launched_worker_to_its_mapper(tmp_path):
    make_source(tmp_path / "source.db", 30)
    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'target.db'}")
    result = supervisor.run_migration(settings)
    assert result.summary.records_ok + result.summary.records_failed == 30
    assert result.summary.workers_replaced == 0
    assert _mapper_workers() == []  # the mapper actors stopped them


def test_a_worker_stopped_before_it_is_ready_is_terminated_at_once(tmp_path):
    make_source(tmp_path / "source.db", 1)
    spec = SourceSpec(url=f"sqlite:///{tmp_path / 'source.db'}", table="app_xml", column="app_xml",
                      key_column="app_id")
    worker = WorkerProcess(WorkerConfig(str(EXAMPLE_CONTRACT), OPTIONS, spec), "xmlshred-mapper-t",
                           wait=False)
    started = time.monotonic()
    worker.stop()
    assert not worker.process.is_alive()
    # Waiting for it to import and compile the contract first would take the stop's whole timeout
    # of 5 s on a slow machine; a terminated worker is gone well before.
    assert time.monotonic() - started < 4.0
    assert worker.process.exitcode is not None


def _compiled_example():
    from xmlshred.contract import compile_contract, load_contract

    return compile_contract(load_contract(EXAMPLE_CONTRACT), OPTIONS)


def _answers(worker: WorkerProcess, keys) -> list:
    """Each record's key, warnings and own rows, as the worker sends them back."""
    from xmlshred.sources.types import SourceItem
    from xmlshred.vocab.results import ReadyRecord

    worker.wait_ready()
    results, _busy, _costs = worker.map_batch(1, [SourceItem(key, key, f"key={key}") for key in keys])
    answers = []
    for result in results:
        if isinstance(result, ReadyRecord):
            tables = tuple((table.name, tuple(row for row, owner in zip(table.rows, table.owners, strict=True)
                                              if owner == result.position)) for table in result.rows.tables)
            result = (result.key, result.warnings, tuple(table for table in tables if table[1]))
        answers.append(result)
    return answers


def test_a_worker_is_forked_with_the_compiled_contract_only_while_no_other_thread_runs(tmp_path):
    import threading

    docs = make_source(tmp_path / "source.db", 12, profile="realistic", edge_share=0.3)
    spec = SourceSpec(url=f"sqlite:///{tmp_path / 'source.db'}", table="app_xml", column="app_xml",
                      key_column="app_id")
    config = WorkerConfig(str(EXAMPLE_CONTRACT), OPTIONS, spec, prefix_bytes=16384)
    compiled = _compiled_example()
    keys = list(range(1, len(docs) + 1))
    if threading.active_count() != 1:
        pytest.skip("the test runner runs other threads: no worker could be forked here")
    forked = WorkerProcess(config, "xmlshred-mapper-f", wait=False, compiled=compiled)
    try:
        assert forked.forked
        forked_answers = _answers(forked, keys)
    finally:
        forked.stop()
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        spawned = WorkerProcess(config, "xmlshred-mapper-s", wait=False, compiled=compiled)
    finally:
        release.set()
        other.join()
    try:
        assert not spawned.forked
        spawned_answers = _answers(spawned, keys)
    finally:
        spawned.stop()
    assert forked_answers == spawned_answers
    assert sum(isinstance(answer, tuple) for answer in forked_answers) >= 6


def test_a_forked_worker_sees_the_end_of_its_pipe_when_the_parent_lets_go(tmp_path):
    make_source(tmp_path / "source.db", 1)
    spec = SourceSpec(url=f"sqlite:///{tmp_path / 'source.db'}", table="app_xml", column="app_xml",
                      key_column="app_id")
    config = WorkerConfig(str(EXAMPLE_CONTRACT), OPTIONS, spec)
    import threading

    if threading.active_count() != 1:
        pytest.skip("the test runner runs other threads: no worker could be forked here")
    compiled = _compiled_example()
    first = WorkerProcess(config, "xmlshred-mapper-a", compiled=compiled)
    second = WorkerProcess(config, "xmlshred-mapper-b", compiled=compiled)  # holds a copy of first's parent end
    try:
        assert first.forked and second.forked
        # As when the parent dies: its end of the first pipe closes, without a goodbye. Only the
        # copies the forked workers inherited could keep the pipe open; each closed its copies.
        first._connection.close()
        first.process.join(timeout=10)
        assert first.process.exitcode == 0
        assert second.process.is_alive()
    finally:
        second.stop()
        WorkerProcess._parent_ends.discard(first._connection)
