"""The reader's credit/finish logic (loading.reading) as a hypothesis state machine, no threads.

The machine plays the rest of the pipeline around ReadState and ReadCursor
exactly as ReaderActor drives them: mappers finish batches in order, the
InsertActor settles mapped records in any grouping, a stop may come at any
time. Invariants are checked after every step; a final rule drains the run
and checks it ends with every wanted key sent exactly once.
"""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from xmlshred.loading.reading import (
    AccountingError,
    EndStep,
    ReadCursor,
    ReadLimits,
    ReadState,
)
from xmlshred.sources.types import SourceItem
from xmlshred.targets.processing_log import Settled


class ListSource:
    """A keyed source held in a list (sorted keys), paged like the table sources."""

    def __init__(self, keys: list[int]) -> None:
        self.keys = sorted(keys)
        self.pages = 0

    def page(self, after, limit, key_start=None, key_end=None):
        self.pages += 1
        chosen = [k for k in self.keys if (after is None or k > after)
                  and (key_start is None or k >= key_start) and (key_end is None or k <= key_end)]
        return [SourceItem(k, k, f"key={k}") for k in chosen[:limit]]


def wanted_keys(keys, done, limits: ReadLimits) -> list[int]:
    """What a run with these limits must send, in key order (the model, written independently)."""
    out = []
    for key in sorted(keys):
        if limits.key_start is not None and key < limits.key_start:
            continue
        if limits.key_end is not None and key > limits.key_end:
            continue
        status = done.get(key)
        if status == "success" or (status == "failed" and not limits.retry_failed):
            continue
        out.append(key)
    return out[:limits.limit] if limits.limit else out


class ReaderMachine(RuleBasedStateMachine):
    @initialize(
        keys=st.sets(st.integers(1, 120), max_size=60),
        done=st.dictionaries(st.integers(1, 120), st.sampled_from(["success", "failed"]), max_size=20),
        mappers=st.integers(1, 4),
        max_in_flight=st.integers(1, 25),
        batch_size=st.integers(1, 10),
        mapper_queue_batches=st.integers(0, 3),
        page_size=st.integers(1, 16),
        limit=st.integers(0, 40),
        key_start=st.one_of(st.none(), st.integers(0, 60)),
        key_span=st.one_of(st.none(), st.integers(0, 80)),
        retry_failed=st.booleans(),
    )
    def setup(self, keys, done, mappers, max_in_flight, batch_size, mapper_queue_batches, page_size,
              limit, key_start, key_span, retry_failed):
        key_end = None if key_span is None else (key_start or 0) + key_span
        self.limits = ReadLimits(max_in_flight, batch_size, mapper_queue_batches, page_size, limit,
                                 key_start, key_end, retry_failed)
        self.done = done
        self.source = ListSource(list(keys))
        self.wanted = wanted_keys(keys, done, self.limits)
        # Every entry is an earlier run's: all of them count as skipped.
        self.cursor = ReadCursor(self.source,
                                 lambda ks: {k: Settled(done[k], None, "earlier") for k in ks if k in done},
                                 self.limits, "this-run")
        self.state = ReadState(mappers, max_in_flight, batch_size, mapper_queue_batches)
        self.queues = [deque() for _ in range(mappers)]
        """Batches (lists of keys) each mapper holds, oldest first."""
        self.mapped: list[int] = []
        """Keys mapped and waiting in the InsertActor, not yet settled."""
        self.sent_keys: list[int] = []
        self.settled_keys: list[int] = []
        self.flushes = 0
        self.finishes = 0

    # What ReaderActor does on each message ----------------------------------

    def _pump(self):
        if not self.state.started:
            return
        while (step := self.state.next_send(self.cursor.exhausted)) is not None:
            index, most = step
            items = self.cursor.next_items(most)
            if not items:
                break
            assert len(items) <= most
            self.queues[index].append([item.key for item in items])
            self.sent_keys.extend(item.key for item in items)
            self.state.sent_batch(index, len(items))
        self._end_step()

    def _end_step(self):
        step = self.state.end_step(self.cursor.exhausted)
        if step.flush_now:
            # Only when every batch is mapped and something waits for a commit.
            assert not any(self.queues) and self.mapped
            self.flushes += 1
        if step.finished:
            self.finishes += 1

    # Rules --------------------------------------------------------------------

    @rule()
    def start(self):
        self.state.start()
        self._pump()

    @rule(data=st.data())
    def mapper_finishes_a_batch(self, data):
        busy = [i for i, q in enumerate(self.queues) if q]
        if not busy:
            return
        index = data.draw(st.sampled_from(busy))
        self.mapped.extend(self.queues[index].popleft())
        self.state.mapped(index)
        self._pump()

    @precondition(lambda self: self.mapped)
    @rule(data=st.data())
    def inserter_settles(self, data):
        count = data.draw(st.integers(1, len(self.mapped)))
        self.settled_keys.extend(self.mapped[:count])
        del self.mapped[:count]
        self.state.settled(count)
        self._pump()

    @rule()
    def stop(self):
        self.state.stop()
        self._end_step()

    @rule()
    def settling_more_than_in_flight_is_refused(self):
        with pytest.raises(AccountingError):
            self.state.settled(self.state.in_flight + 1)

    @rule(index=st.integers(0, 3))
    def a_batch_never_sent_is_refused(self, index):
        if index < len(self.queues) and self.queues[index]:
            return
        with pytest.raises(AccountingError):
            self.state.mapped(index)

    @rule()
    def run_to_the_end(self):
        """Everything the pipeline holds completes; the run must then be finished."""
        self.state.start()
        self._pump()
        while any(self.queues) or self.mapped:
            for index, queue in enumerate(self.queues):
                while queue:
                    self.mapped.extend(queue.popleft())
                    self.state.mapped(index)
                    self._pump()
            if self.mapped:
                count = len(self.mapped)
                self.settled_keys.extend(self.mapped)
                self.mapped.clear()
                self.state.settled(count)
                self._pump()
        assert self.state.finished and self.finishes == 1
        if not self.state.stopped:
            assert self.cursor.exhausted
            assert self.sent_keys == self.wanted, "every wanted key sent once, in key order"

    # Invariants -----------------------------------------------------------------

    @invariant()
    def credits_are_respected(self):
        held = sum(len(batch) for q in self.queues for batch in q) + len(self.mapped)
        assert self.state.in_flight == held <= self.limits.max_in_flight

    @invariant()
    def mapper_queues_are_bounded(self):
        for index, queue in enumerate(self.queues):
            assert len(queue) == self.state.outstanding[index] <= self.limits.mapper_queue_batches + 1

    @invariant()
    def each_key_sent_at_most_once_and_only_wanted_ones(self):
        assert len(set(self.sent_keys)) == len(self.sent_keys)
        assert self.sent_keys == self.wanted[:len(self.sent_keys)]
        assert self.state.sent == len(self.sent_keys)

    @invariant()
    def finished_only_when_all_settled_and_input_over(self):
        assert self.finishes <= 1 and self.flushes <= 1
        if self.state.finished:
            assert self.state.in_flight == 0 and not self.mapped and not any(self.queues)
            assert self.state.stopped or self.cursor.exhausted
            assert sorted(self.settled_keys) == sorted(self.sent_keys)

    @invariant()
    def nothing_sent_before_start_or_after_stop(self):
        if not self.state.started:
            assert not self.sent_keys
        if self.state.stopped:
            assert self.state.next_send(self.cursor.exhausted) is None


ReaderMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestReaderMachine = ReaderMachine.TestCase


def test_finish_waits_for_the_last_credit():
    """A worked example: 5 keys, 2 credits; finished only after the last settle."""
    limits = ReadLimits(max_in_flight=2, batch_size=2, mapper_queue_batches=0, page_size=2)
    cursor = ReadCursor(ListSource([1, 2, 3, 4, 5]), lambda keys: {}, limits)
    state = ReadState(1, 2, 2, 0)
    state.start()
    assert state.next_send(cursor.exhausted) == (0, 2)
    state.sent_batch(0, len(cursor.next_items(2)))
    assert state.next_send(cursor.exhausted) is None  # no credit and the mapper is full
    state.mapped(0)
    assert state.end_step(cursor.exhausted).finished is False
    state.settled(2)
    state.sent_batch(0, len(cursor.next_items(2)))
    state.mapped(0)
    state.settled(2)
    assert state.next_send(cursor.exhausted) == (0, 2)
    items = cursor.next_items(2)
    assert [item.key for item in items] == [5]
    state.sent_batch(0, 1)
    state.mapped(0)
    assert not cursor.exhausted  # the end is known only from an empty page
    assert cursor.next_items(1) == [] and cursor.exhausted
    assert state.end_step(cursor.exhausted) == EndStep(flush_now=True, finished=False)
    state.settled(1)
    assert state.end_step(cursor.exhausted).finished is True
    assert state.end_step(cursor.exhausted).finished is False  # said once
