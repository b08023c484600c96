"""Actors in-process, with real actors on both sides: credits, age flushes, unknown messages."""

from __future__ import annotations

import threading
from datetime import datetime
from types import SimpleNamespace

import pykka
import pytest

from tests.helpers import EXAMPLE_CONTRACT, make_source, mapped_items, wait_until
from xmlshred.actors.inserter import InsertActor
from xmlshred.actors.lifecycle import RunSignals
from xmlshred.actors.reader import ReaderActor, ReadLimits
from xmlshred.contract import MapOptions, compile_contract, load_contract
from xmlshred.db.spec import parse_target_url
from xmlshred.loading.retry import RetryPolicy
from xmlshred.messages import (
    BatchMapped,
    FlushNow,
    MappedBatch,
    Ping,
    RecordsSettled,
    SourceBatch,
    StartReading,
    UnknownMessage,
)
from xmlshred.sources import SourceSpec, open_source
from xmlshred.targets import open_target

WAIT_S = 60


class Recorder(pykka.ThreadingActor):
    """A real actor that hands every message it gets to a callback."""

    def __init__(self, callback) -> None:
        super().__init__()
        self._callback = callback

    def on_receive(self, message):
        return self._callback(self, message)


def _ignore(actor, message):
    return None


def test_reader_never_has_more_than_max_in_flight_records_out(tmp_path):
    total = 500
    make_source(tmp_path / "source.db", total, seed=21)
    limits = ReadLimits(max_in_flight=100, batch_size=30, mapper_queue_batches=50, page_size=64)
    state = {"held": 0, "max_held": 0, "received": 0, "batches": 0}
    lock = threading.Lock()

    def hold_then_release(actor, message):
        if not isinstance(message, SourceBatch):
            return None
        with lock:
            count = len(message.items)
            state["held"] += count
            state["received"] += count
            state["batches"] += 1
            state["max_held"] = max(state["max_held"], state["held"])
            message.reply_to.tell(BatchMapped(0, message.batch_id))
            # Hold credits until the reader is stuck at its bound (or the source is done).
            if state["held"] >= limits.max_in_flight or state["received"] == total:
                message.reply_to.tell(RecordsSettled(state["held"]))
                state["held"] = 0
        return None

    signals = RunSignals()
    mapper = Recorder.start(hold_then_release)
    sink = Recorder.start(_ignore)
    spec = SourceSpec(f"sqlite:///{tmp_path / 'source.db'}", "app_xml", "app_xml", "app_id")
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    target_spec = parse_target_url(target_url)
    schema, _ = _schema_and_records(0)
    setup = open_target(target_spec, schema)
    setup.create_tables(schema)
    setup.close()
    reader = ReaderActor.start(lambda: open_source(spec), lambda: open_target(target_spec, schema),
                               [mapper], sink, sink, signals, limits)
    assert reader.ask(Ping(), timeout=WAIT_S) is True  # started; the source is counted once, by the supervisor
    reader.tell(StartReading())
    wait_until(lambda: signals.is_finished or signals.failures, "the reader to settle every record", WAIT_S)
    assert signals.is_finished and not signals.failures
    assert state["received"] == total
    assert state["max_held"] == limits.max_in_flight


def _schema_and_records(count: int):
    from xmlshred.generator.corpus import generate_documents

    compiled = compile_contract(load_contract(EXAMPLE_CONTRACT), MapOptions(now=datetime(2025, 1, 1)))
    items = mapped_items(compiled, generate_documents(count, seed=4, profile="small", edge_share=0.0))
    return compiled.schema, tuple(items)


def test_inserter_flushes_on_age_alone_when_the_source_is_slow(tmp_path):
    schema, items = _schema_and_records(3)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    target_spec = parse_target_url(target_url)
    setup = open_target(target_spec, schema)
    setup.create_tables(schema)
    setup.close()

    settled = threading.Event()
    counts = []

    def on_settled(actor, message):
        if isinstance(message, RecordsSettled):
            counts.append(message.count)
            settled.set()
        return None

    reader = Recorder.start(on_settled)
    reporter = Recorder.start(_ignore)
    flush = SimpleNamespace(max_records=1000, max_rows=1_000_000, max_interval_ms=150)
    retry = RetryPolicy(connect_retries=2, backoff_s=0.1, backoff_max_s=1)
    inserter = InsertActor.start(lambda: open_target(target_spec, schema), schema, "run-age", flush, retry,
                                 reporter, RunSignals(), dry_run=False, check_done=False,
                                 retry_failed=False)
    assert inserter.ask(Ping(), timeout=WAIT_S)
    # Far below max_records and max_rows: only the age threshold can flush this.
    inserter.tell(MappedBatch(1, items, (), reader))
    assert settled.wait(WAIT_S), "no flush happened although the oldest record aged past max_interval_ms"
    assert counts == [3]
    check = open_target(target_spec, schema)
    assert check.done_keys([item.record.key for item in items]) == {
        item.record.key: "success" for item in items}
    check.close()


def test_unknown_message_is_an_error_not_ignored(tmp_path):
    schema, _ = _schema_and_records(1)
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    target_spec = parse_target_url(target_url)
    flush = SimpleNamespace(max_records=10, max_rows=100, max_interval_ms=1000)
    retry = RetryPolicy(connect_retries=0, backoff_s=0.1, backoff_max_s=1)
    reporter = Recorder.start(_ignore)
    inserter = InsertActor.start(lambda: open_target(target_spec, schema), schema, "r", flush, retry, reporter,
                                 RunSignals(), dry_run=False, check_done=False, retry_failed=False)
    with pytest.raises(UnknownMessage):
        inserter.ask("flush please", timeout=WAIT_S)
    inserter.tell(FlushNow())
    assert inserter.ask(Ping(), timeout=WAIT_S)


def test_every_actor_start_error_surfaces_through_ping_and_a_later_failure_through_signals(tmp_path):
    """One base (PipelineActor) for all four actors: an error while starting does not kill the
    actor silently; the supervisor's Ping raises it. A failure later is told to RunSignals."""
    from xmlshred.actors.reporter import ReporterActor

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    signals = RunSignals()
    reporter = ReporterActor.start("r1", blocker / "metrics.jsonl", 1.0, 1, signals=signals)
    with pytest.raises(OSError):
        reporter.ask(Ping(), timeout=WAIT_S)
    schema, _ = _schema_and_records(0)
    target_spec = parse_target_url(f"sqlite:///{blocker / 'target.db'}")  # a file is no folder
    inserter = InsertActor.start(lambda: open_target(target_spec, schema), schema, "r1",
                                 SimpleNamespace(max_records=10, max_rows=100, max_interval_ms=50),
                                 RetryPolicy(connect_retries=0, backoff_s=0.01, backoff_max_s=0.01),
                                 reporter, signals, dry_run=False, check_done=False, retry_failed=False)
    with pytest.raises(Exception) as raised:
        inserter.ask(Ping(), timeout=WAIT_S)
    assert "target.db" in str(raised.value)
    assert not signals.failures  # a start error is the Ping's to tell, not a run failure yet
    # A message the actor cannot handle kills it: on_failure tells the supervisor which actor.
    inserter.tell(StartReading())
    wait_until(lambda: signals.failures, "the insert actor's failure to reach RunSignals", WAIT_S)
    assert signals.failures[0].actor == "insert"
    assert isinstance(signals.failures[0].error, UnknownMessage)
