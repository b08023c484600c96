"""MapperActor: drives one worker process that reads, parses and maps the documents of a batch of keys."""

from __future__ import annotations

from loguru import logger

from xmlshred.actors.lifecycle import PipelineActor, tell_quietly
from xmlshred.messages import (
    BatchMapped,
    FailedItem,
    MappedBatch,
    MappedItem,
    MapperLoad,
    SourceBatch,
    TableCoverage,
    UnknownMessage,
    WorkerReplaced,
)
from xmlshred.vocab.results import RecordFailure
from xmlshred.workers.documents import BatchCosts
from xmlshred.workers.mapping_worker import WorkerConfig, WorkerDied, WorkerProcess

POISON_REASON = "the mapper worker process died on this record twice (poison record)"


def split_results(batch: SourceBatch, results: list) -> tuple[tuple[MappedItem, ...], tuple[FailedItem, ...]]:
    """Pair each item of the batch with its mapping result."""
    mapped, failed = [], []
    for item, result in zip(batch.items, results, strict=True):
        if isinstance(result, RecordFailure):
            failed.append(FailedItem(item, result))
        else:
            mapped.append(MappedItem(item, result))
    return tuple(mapped), tuple(failed)


class MapperActor(PipelineActor):
    """Owns one worker process; maps SourceBatches (keys) into MappedBatches.

    The worker reads the documents itself. A worker that dies is replaced;
    the batch is then retried record by record, and a record that kills a
    worker twice becomes a ``map`` failure. A worker that cannot read the
    source raises SourceError here, which stops the run (as a failed read in
    the reader did when the reader read documents).
    """

    def __init__(self, index: int, config: WorkerConfig, inserter, reporter, signals,
                 worker: WorkerProcess | None = None) -> None:
        """``worker``: a worker process started (not yet ready) for this actor, which then owns it."""
        super().__init__(f"mapper-{index}", signals)
        self.index = index
        self._config = config
        self._inserter = inserter
        self._reporter = reporter
        self._worker: WorkerProcess | None = worker
        self._log = logger.bind(actor=f"mapper-{index}")

    def open(self) -> None:
        if self._worker is None:
            self._worker = self._new_worker()
        else:
            self._worker.wait_ready()
            self._log.debug("worker process {} started ({})", self._worker.pid,
                            "forked" if self._worker.forked else "spawned")

    def _new_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self._config, name=f"xmlshred-mapper-{self.index}")
        self._log.debug("worker process {} started", worker.pid)
        return worker

    def answer_ping(self) -> int:
        return self._worker.pid

    def handle(self, message):
        if isinstance(message, SourceBatch):
            return self._map(message)
        raise UnknownMessage(f"mapper-{self.index} cannot handle {type(message).__name__}")

    def _replace_worker(self, error: WorkerDied) -> None:
        self._log.warning(
            "worker process died (exit code {}); starting a new one", error.exitcode
        )
        tell_quietly(self._reporter, WorkerReplaced(self.index, error.exitcode), self._log)
        self._worker = self._new_worker()

    def _map(self, batch: SourceBatch) -> None:
        items = list(batch.items)
        try:
            results, busy, costs = self._worker.map_batch(batch.batch_id, items)
        except WorkerDied as died:
            self._replace_worker(died)
            results, busy, costs = self._map_one_by_one(batch.batch_id, items)
        mapped, failed = split_results(batch, results)
        # Order matters: the rows reach the inserter before the reader learns the
        # batch is done, so the reader's end-of-input FlushNow always comes after them.
        tell_quietly(self._inserter, MappedBatch(batch.batch_id, mapped, failed, batch.reply_to), self._log)
        tell_quietly(batch.reply_to, BatchMapped(self.index, batch.batch_id), self._log)
        tell_quietly(self._reporter, MapperLoad(self.index, len(items), busy, read_cpu_s=costs.read_cpu_s,
                                                map_cpu_s=costs.map_cpu_s, bytes_read=costs.bytes_read,
                                                whole_reads=costs.whole_reads, worker_cpu_s=costs.process_cpu_s),
                     self._log)
        tell_quietly(self._reporter, TableCoverage(self.index, costs.mapped, costs.table_records,
                                                   costs.unseen_paths, costs.paths_checked, costs.coverage_cpu_s),
                     self._log)

    def _map_one_by_one(self, batch_id: int, items: list) -> tuple[list, float, BatchCosts]:
        results, busy_total, costs_total = [], 0.0, BatchCosts()
        for item in items:
            deaths = 0
            while True:
                try:
                    (result,), busy, costs = self._worker.map_batch(batch_id, [item])
                    busy_total += busy
                    costs_total = costs_total.plus(costs)
                    break
                except WorkerDied as died:
                    deaths += 1
                    self._replace_worker(died)
                    if deaths >= 2:
                        result = RecordFailure(item.key, "map", POISON_REASON)
                        break
            results.append(result)
        return results, busy_total, costs_total

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
