"""Read and map verify's records, in worker processes when there are several, as migrate does.

Each process reads its documents itself through ``workers.documents.DocumentMapper``
(the prefix first where it suffices, the one implementation of that rule) and
returns, per record, its key and its rows already in canonical form (plain
str/int/float/None tuples: cheap to send back). With ``processes`` > 1 and a
process that may fork (no other thread running), the processes are forked
with the compiled contract; otherwise everything runs in this process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator

from xmlshred.sources import SourceSpec
from xmlshred.verify.compare import row_canonicalizer
from xmlshred.vocab.results import MappedRecord
from xmlshred.workers.documents import DocumentMapper
from xmlshred.workers.mapping_worker import fork_is_safe

_STATE: dict = {}
"""What a forked mapping process inherits: the mapper and the per-table converters."""


def _setup(compiled, source: SourceSpec, prefix_bytes: int, skips: dict) -> None:
    _STATE["mapper"] = DocumentMapper(compiled, source, prefix_bytes, lambda document, again: None)
    _STATE["convert"] = {table.name: row_canonicalizer(table, skips[table.name])
                         for table in compiled.schema.tables}


def _map_chunk(items: list) -> list[tuple[int | None, dict | None]]:
    """(key, {table: canonical rows}) per mapped record, (key, None) per failure, in item order."""
    results, _ = _STATE["mapper"].map_items(items)
    convert = _STATE["convert"]
    out = []
    for item, outcome in zip(items, results, strict=True):
        if isinstance(outcome, MappedRecord):
            out.append((outcome.key, {name: [convert[name](row) for row in rows] for name, rows in outcome.tables}))
        else:
            key = outcome.key if getattr(outcome, "key", None) is not None else item.key
            out.append((key, None))
    return out


class MappedBatches:
    """``map(batches)`` yields each batch's mapped records, in order; a context manager (closes the pool)."""

    CHUNKS_PER_PROCESS = 2

    def __init__(self, compiled, source: SourceSpec, prefix_bytes: int, skips: dict, processes: int) -> None:
        _setup(compiled, source, prefix_bytes, skips)
        self._processes = processes if processes > 1 and fork_is_safe() else 1
        self._pool = None
        if self._processes > 1:
            self._pool = multiprocessing.get_context("fork").Pool(self._processes)

    def map(self, batches: Iterable[list]) -> Iterator[list]:
        if self._pool is None:
            for batch in batches:
                yield _map_chunk(batch)
            return
        parts = self._processes * self.CHUNKS_PER_PROCESS
        pending = []
        for batch in batches:
            size = max(1, -(-len(batch) // parts))
            pending.append([self._pool.apply_async(_map_chunk, (batch[start:start + size],))
                            for start in range(0, len(batch), size)])
            if len(pending) > 2:  # keep the processes busy while this one compares, within bounds
                yield [record for part in pending.pop(0) for record in part.get()]
        for parts_of_batch in pending:
            yield [record for part in parts_of_batch for record in part.get()]

    def __enter__(self) -> MappedBatches:
        return self

    def __exit__(self, *exc_info) -> None:
        mapper = _STATE.pop("mapper", None)
        if mapper is not None:
            mapper.close()
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
