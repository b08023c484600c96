"""The worker's side of reading: it reads a batch's documents from the source itself, and only a prefix.

The reader sends keys (``SourceItem``); the worker opens its own read-only
source (lazily, once) from the picklable ``SourceSpec`` and reads the first
``prefix_bytes`` of each document. The contract's parse horizon is usually
within them, so the rest of the document is never read, shipped or parsed.

A prefix is used only when the result is sure to be the one the whole
document gives (the parser never reads past the horizon's end tag, see
``contract.parsing``). Otherwise the whole document is read (``fetch``) and
mapped, which ``DocumentMapper.map_items`` does when:

* ``prefix_bytes`` is 0, the contract has no horizon, or ``strict_wellformed`` is on;
* the prefix does not hold the horizon element's end tag (``</Tag``);
* the whole document may be over ``max_document_bytes`` (the size check on the
  whole document then decides, with its own reason); a text prefix also when
  that check would encode the whole text (size > a quarter of the limit);
* the prefix fails to map (any RecordFailure: the whole document's result counts).

A prefix that is the whole document is simply mapped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from xmlshred.db.quietly import close_quietly
from xmlshred.sources import SourceSpec, open_source
from xmlshred.sources.types import SourceItem, SourcePrefix
from xmlshred.vocab.pickling import pickled_as_call
from xmlshred.vocab.results import RecordFailure


@pickled_as_call
@dataclass(frozen=True, slots=True)
class BatchCosts:
    """What reading and mapping one batch cost the worker (CPU seconds of its process)."""

    read_cpu_s: float = 0.0
    """CPU seconds spent reading documents from the source (prefixes and whole reads)."""
    map_cpu_s: float = 0.0
    """CPU seconds spent parsing and mapping."""
    bytes_read: int = 0
    """Bytes read from the source (characters for text read from a server)."""
    whole_reads: int = 0
    """Documents read whole: every one without prefix reads, else the fallbacks."""
    process_cpu_s: float = 0.0
    """All the worker process's CPU seconds since its previous answer: the above plus receiving the
    batch, sending the previous answer and the rest of the loop (set by the worker's main loop)."""
    mapped: int = 0
    """Records of the batch that mapped (table coverage: the denominator)."""
    table_records: tuple[tuple[str, int], ...] = ()
    """(table, records of the batch with at least one row in it), for tables that got rows."""
    unseen_paths: tuple[str, ...] | None = None
    """Mapping paths the worker has found in none of the documents it checked (None: not checked)."""
    paths_checked: int = 0
    """Documents the worker has checked for mapping paths so far (``contract.coverage``)."""
    coverage_cpu_s: float = 0.0
    """CPU seconds of the batch spent on the mapping-path check."""

    def plus(self, other: BatchCosts) -> BatchCosts:
        """The sum of two batches' costs (the later one's path coverage, which includes the earlier's)."""
        tables = dict(self.table_records)
        for name, count in other.table_records:
            tables[name] = tables.get(name, 0) + count
        return BatchCosts(self.read_cpu_s + other.read_cpu_s, self.map_cpu_s + other.map_cpu_s,
                          self.bytes_read + other.bytes_read, self.whole_reads + other.whole_reads,
                          self.process_cpu_s + other.process_cpu_s, self.mapped + other.mapped,
                          tuple(tables.items()),
                          other.unseen_paths if other.unseen_paths is not None else self.unseen_paths,
                          max(self.paths_checked, other.paths_checked),
                          self.coverage_cpu_s + other.coverage_cpu_s)


class _Meter:
    """Sums the CPU time of the calls it times, by stage."""

    def __init__(self) -> None:
        self.read_s = 0.0
        self.map_s = 0.0
        self.bytes_read = 0
        self.whole_reads = 0
        self.coverage_s = 0.0

    def read(self, call: Callable[[], list]) -> list:
        started = time.process_time()
        try:
            return call()
        finally:
            self.read_s += time.process_time() - started

    def map(self, call: Callable[[], object]):
        started = time.process_time()
        try:
            return call()
        finally:
            self.map_s += time.process_time() - started

    def costs(self) -> BatchCosts:
        return BatchCosts(self.read_s, self.map_s, self.bytes_read, self.whole_reads,
                          coverage_cpu_s=self.coverage_s)


class DocumentMapper:
    """Reads the documents of items from the source and maps them, prefixes first where they suffice.

    ``compiled``: the worker's CompiledContract. ``inspect(document, again)`` is
    called with every document read before it is mapped (the worker's fault
    hooks); ``again`` is True for the whole document of a record whose prefix
    did not serve.
    A source error while reading raises SourceError naming the source.
    """

    def __init__(self, compiled, source: SourceSpec, prefix_bytes: int,
                 inspect: Callable[[bytes | str, bool], None], coverage=None) -> None:
        self._compiled = compiled
        self._coverage = coverage
        """A ``contract.coverage.PathCoverage``, or None: no mapping-path check."""
        self._table_names = tuple(table.name for table in compiled.schema.tables)
        self._spec = source
        self._source = None
        options = compiled.options
        horizon = compiled.horizon
        self._prefix_bytes = 0 if horizon is None or options.strict_wellformed else prefix_bytes
        end_tag = "</" + horizon[-1] if horizon else ""
        self._end_tag = (end_tag.encode("utf-8"), end_tag)
        self._max_bytes = options.max_document_bytes
        self._inspect = inspect

    @property
    def source(self):
        """The worker's own source, opened at the first read."""
        if self._source is None:
            self._source = open_source(self._spec)
        return self._source

    def close(self) -> None:
        """Close the source connection; never raises."""
        source, self._source = self._source, None
        close_quietly(source)

    def map_items(self, items: list[SourceItem]) -> tuple[list, BatchCosts]:
        """The result (MappedRecord or RecordFailure) of each item, in order, and what they cost,
        with the batch's table coverage (records per table, mapping paths not yet seen)."""
        meter = _Meter()
        results = self._map_items(items, meter)
        return results, self._with_coverage(results, meter.costs())

    def _with_coverage(self, results: list, costs: BatchCosts) -> BatchCosts:
        mapped = 0
        tables: dict[str, int] = dict.fromkeys(self._table_names, 0)
        for result in results:
            if isinstance(result, RecordFailure) or result is None:
                continue
            mapped += 1
            for name, rows in result.tables:
                if rows:
                    tables[name] = tables.get(name, 0) + 1
        coverage = self._coverage
        return replace(costs, mapped=mapped, table_records=tuple(tables.items()),
                       unseen_paths=None if coverage is None else coverage.unseen_labels(),
                       paths_checked=0 if coverage is None else coverage.checked)

    def _map_items(self, items: list[SourceItem], meter: _Meter) -> list:
        if not self._prefix_bytes:
            return self._map_whole(items, meter)
        reads: list[SourcePrefix] = meter.read(lambda: self.source.read_prefixes(items, self._prefix_bytes))
        results: list = [None] * len(items)
        fallbacks: list[int] = []
        for index, read in enumerate(reads):
            meter.bytes_read += len(read.document)
            meter.whole_reads += read.whole
            self._inspect(read.document, False)
            if read.whole or self._prefix_may_serve(read):
                result = self._map(read.document, read.item.key, meter)
                if read.whole or not isinstance(result, RecordFailure):
                    results[index] = stamped(result, read.stamp)
                    continue
            fallbacks.append(index)
        whole = self._map_whole([items[i] for i in fallbacks], meter, again=True)
        for index, result in zip(fallbacks, whole, strict=True):
            results[index] = result
        return results

    def _prefix_may_serve(self, read: SourcePrefix) -> bool:
        """Can mapping this prefix give what the whole document gives? (see the module docstring)"""
        is_bytes = isinstance(read.document, bytes)
        limit = self._max_bytes if is_bytes else self._max_bytes // 4
        return read.size_bound <= limit and self._end_tag[0 if is_bytes else 1] in read.document

    def _map_whole(self, items: list[SourceItem], meter: _Meter, again: bool = False) -> list:
        if not items:
            return []
        documents = meter.read(lambda: self.source.fetch(items))
        results = []
        for document in documents:
            meter.bytes_read += len(document.document)
            meter.whole_reads += 1
            self._inspect(document.document, again)
            results.append(stamped(self._map(document.document, document.item.key, meter), document.stamp))
        return results

    def _map(self, document: bytes | str, expected_key: int | None, meter: _Meter):
        result = meter.map(lambda: empty_document_failure(document, expected_key)
                           or self._compiled.map_document(document, expected_key=expected_key))
        coverage = self._coverage
        if coverage is not None and not coverage.done and not isinstance(result, RecordFailure):
            started = time.process_time()
            coverage.observe(document)
            meter.coverage_s += time.process_time() - started
        return result


def stamped(result, stamp: tuple[int, int] | None):
    """A failure without a key carries its file's (size, mtime_ns), for xmlshred_rejects; else ``result``."""
    if stamp is not None and isinstance(result, RecordFailure) and result.key is None:
        return RecordFailure(None, result.stage, result.reason, stamp)
    return result


def empty_document_failure(document: bytes | str, expected_key: int | None):
    """A parse failure saying "empty document" for a 0-byte (or whitespace-only) document, else None.

    A parser would call it "not well-formed at line 0", which sends people looking for a syntax error.
    """
    if document is None or not document.strip():
        size = 0 if document is None else len(document)
        what = "0 bytes" if not size else f"{size} bytes of whitespace only"
        return RecordFailure(expected_key, "parse", f"empty document ({what}): the source holds no XML for it")
    return None
