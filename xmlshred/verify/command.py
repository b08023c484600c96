"""The verify run: choose records, map them, read the target's rows, compare, report.

``run_verify(request) -> VerifyResult``; ``print_report(result, out)``.
Raises VerifyError (exit 2) for input it cannot use: a source or target
that is missing or cannot be read, a keys file that is not one key a line.
Never prints or stores a field value: keys, table and column names, counts.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from xmlshred.db.errors import TargetError
from xmlshred.db.secrets import mask_secrets
from xmlshred.db.spec import TargetSpec
from xmlshred.sources import SourceError, SourceSpec, open_source
from xmlshred.targets.readonly import open_readonly
from xmlshred.targets.record_reader import read_record_rows
from xmlshred.verify.compare import TableDiff, compare_rows, row_canonicalizer
from xmlshred.verify.mapping import MappedBatches
from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.lineage import RecordLineage

BATCH = 500
"""Records read, mapped and compared together (one fetch, one read per table)."""
PAGE = 10_000


class VerifyError(TerminalError):
    """Verify cannot run on this input (exit 2); the message names the file, source or target."""


@dataclass(frozen=True)
class VerifyRequest:
    """What to verify, and with what."""

    source: SourceSpec
    target: TargetSpec
    contract: object
    """The loaded contract (``contract.Contract``)."""
    compiled: object
    """It compiled (``contract.CompiledContract``)."""
    fingerprint: str
    lineage: RecordLineage
    sample: int | None = None
    """Verify a random sample of this many source records."""
    keys: frozenset[int] | None = None
    """Verify exactly these record keys."""
    seed: int = 0
    """The sample's random seed (the same seed and source give the same sample)."""
    clock_pinned: bool = False
    """The contract's clock was pinned (``--now``): columns made from the clock are compared too."""
    processes: int = 1
    """Processes that read and map the documents (``[actors] mappers``); 1: this process alone."""
    prefix_bytes: int = 0
    """``[source] prefix_bytes``: read document prefixes first where they suffice, as migrate does."""


@dataclass
class VerifyResult:
    """What verify found."""

    selected: int = 0
    """Records chosen (the source's records for --all, the sample's size, the listed keys found)."""
    source_total: int = 0
    checked: int = 0
    agree: int = 0
    stale: list[int] = field(default_factory=list)
    """Differing records written under another contract fingerprint: ``--reprocess stale`` fixes them."""
    wrong: list[int] = field(default_factory=list)
    """Differing records written under the current fingerprint: plain wrong."""
    not_loaded: list[int] = field(default_factory=list)
    """Records that map but have no processing_log entry (never loaded)."""
    agree_stale: int = 0
    """Records that agree but were written under another fingerprint."""
    failing_now: int = 0
    """Records the current contract fails to map (they agree when the target holds none of their rows)."""
    keys_not_in_source: int = 0
    tables: dict[str, TableDiff] = field(default_factory=dict)
    not_compared: tuple[str, ...] = ()
    """``table.column`` of the clock's columns, when the clock was not pinned."""

    @property
    def differing_keys(self) -> list[int]:
        return sorted({*self.stale, *self.wrong, *self.not_loaded})

    @property
    def exit_code(self) -> int:
        return 1 if self.differing_keys else 0


def clock_columns(contract) -> dict[str, frozenset[str]]:
    """Per table, the columns whose value comes from the run's clock (``default_getutcdate_if_null``,
    or an expression calling GETUTCDATE); they differ between runs unless ``--now`` pinned it."""
    try:
        raw = json.loads(Path(contract.path).read_text(encoding="utf-8-sig")).get("mappings", [])
    except (OSError, ValueError, AttributeError):
        raw = []
    found: dict[str, set[str]] = {}
    for mapping in contract.mappings:
        text = raw[mapping.index].get("expression", "") if mapping.index < len(raw) else ""
        uses_clock = mapping.has_step("default_getutcdate_if_null") or (
            isinstance(text, str) and "getutcdate" in text.lower())
        if uses_clock and mapping.target_column:
            found.setdefault(mapping.target_table, set()).add(mapping.target_column)
    return {table: frozenset(columns) for table, columns in found.items()}


def _choose(source, request: VerifyRequest, result: VerifyResult) -> list:
    items, after = [], None
    while True:
        page = source.page(after, PAGE, None, None)
        if not page:
            break
        items += page
        after = page[-1].position
    result.source_total = len(items)
    if request.keys is not None and request.source.keyed:
        chosen = [item for item in items if item.key in request.keys]
        result.keys_not_in_source = len(request.keys) - len({item.key for item in chosen})
        return chosen
    if request.sample is not None and request.sample < len(items):
        chosen = random.Random(request.seed).sample(items, request.sample)
        return sorted(chosen, key=lambda item: item.position)
    return items


def run_verify(request: VerifyRequest) -> VerifyResult:
    """Verify the chosen records; see the module's docstring for what it raises."""
    schema = request.compiled.schema
    result = VerifyResult(tables={table.name: TableDiff() for table in schema.tables})
    skip_names = {} if request.clock_pinned else clock_columns(request.contract)
    skips = {table.name: frozenset(index for index, column in enumerate(table.columns)
                                   if column.name in skip_names.get(table.name, ()))
             for table in schema.tables}
    result.not_compared = tuple(f"{table}.{column}" for table, columns in sorted(skip_names.items())
                                for column in sorted(columns))
    try:
        source = open_source(request.source)
        source.open()
    except SourceError as exc:
        raise VerifyError(f"source cannot be read: {mask_secrets(str(exc))}") from exc
    try:
        target = open_readonly(request.target, schema)
    except TargetError as exc:
        source.close()
        raise VerifyError(f"target cannot be opened: {mask_secrets(str(exc))}") from exc
    try:
        if not target.exists or not target.has_processing_log:
            raise VerifyError(f"target {request.target.description} holds no processing_log: nothing was "
                              "loaded there (check --target)")
        items = _choose(source, request, result)
        result.selected = len(items)
        batches = [items[first:first + BATCH] for first in range(0, len(items), BATCH)]
        with MappedBatches(request.compiled, request.source, request.prefix_bytes, skips,
                           request.processes) as mapper:
            for mapped in mapper.map(batches):
                _verify_batch(request, target, mapped, skips, result)
    except SourceError as exc:
        raise VerifyError(f"source cannot be read: {mask_secrets(str(exc))}") from exc
    except TargetError as exc:
        raise VerifyError(f"target cannot be read: {mask_secrets(str(exc))}") from exc
    finally:
        target.close()
        source.close()
    return result


def _verify_batch(request: VerifyRequest, target, mapped_batch: list, skips: dict, result: VerifyResult) -> None:
    """Compare one batch: ``mapped_batch`` is (key, {table: canonical rows} or None for a failure)."""
    schema = request.compiled.schema
    mapped = {key: tables for key, tables in mapped_batch
              if key is not None and (request.keys is None or key in request.keys)}
    if not mapped:
        return
    keys = list(mapped)
    entries = target.done_records(keys)
    stored = read_record_rows(target, schema, request.lineage, keys)
    convert = {table.name: row_canonicalizer(table, skips[table.name]) for table in schema.tables}
    for key, expected_tables in mapped.items():
        result.checked += 1
        entry = entries.get(key)
        agrees = True
        if expected_tables is None:
            result.failing_now += 1
        for table in schema.tables:
            expected = (expected_tables or {}).get(table.name, [])
            actual = [convert[table.name](row) for row in stored[table.name].get(key, ())]
            agrees &= compare_rows(table, key, expected, actual, result.tables[table.name])
        stale = entry is not None and (entry.contract_hash or "") != request.fingerprint
        if expected_tables is not None and entry is None:
            result.not_loaded.append(key)
        elif agrees:
            result.agree += 1
            result.agree_stale += stale
        elif stale:
            result.stale.append(key)
        else:
            result.wrong.append(key)


def write_keys(result: VerifyResult, path: Path) -> int:
    """Write the differing keys, one a line (``migrate --reprocess keys:FILE``); returns how many."""
    keys = result.differing_keys
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{key}\n" for key in keys), encoding="utf-8")
    return len(keys)


def _examples(keys: Iterable[int]) -> str:
    keys = list(keys)
    return f" (e.g. keys {', '.join(str(key) for key in keys)})" if keys else ""


def print_report(request: VerifyRequest, result: VerifyResult, out: TextIO) -> None:
    """The per-table report and the verdict: counts, table and column names, example keys; never values."""
    how = ("every record" if request.sample is None and request.keys is None else
           f"a sample of {result.selected}" if request.keys is None else f"{result.selected} listed keys")
    print(f"verify: {result.checked} records checked ({how} of the source's {result.source_total}) "
          f"against {request.target.description} with contract {request.fingerprint}", file=out)
    width = max([len(name) for name in result.tables] + [5])
    print(f"  {'table':<{width}}  {'records':>8}  {'rows':>8}  {'missing':>8}  {'extra':>8}  cells differing",
          file=out)
    for name, diff in result.tables.items():
        cells = ", ".join(f"{column}={count}{_examples(diff.examples.get(column, ()))}"
                          for column, count in sorted(diff.cells.items())) or "0"
        print(f"  {name:<{width}}  {diff.records:>8}  {diff.rows_expected:>8}  {diff.rows_missing:>8}  "
              f"{diff.rows_extra:>8}  {cells}", file=out)
        for what in ("missing", "extra"):
            if diff.examples.get(what):
                print(f"  {'':<{width}}  rows {what}{_examples(diff.examples[what])}", file=out)
    differing = len(result.differing_keys)
    print(f"records: {result.agree} agree, {differing} differ: {len(result.stale)} stale (written by another "
          f"contract fingerprint: migrate --reprocess stale), {len(result.wrong)} wrong (written by this "
          f"contract), {len(result.not_loaded)} not loaded{_examples(result.differing_keys[:3])}", file=out)
    if result.agree_stale:
        print(f"note: {result.agree_stale} agreeing records were written by another contract fingerprint "
              "(the change does not touch them)", file=out)
    if result.failing_now:
        print(f"note: {result.failing_now} records fail to map with this contract (they agree when the target "
              "holds none of their rows)", file=out)
    if result.keys_not_in_source:
        print(f"note: {result.keys_not_in_source} listed keys are not in the source", file=out)
    if result.not_compared:
        print(f"not compared (made from the run's clock; pass --now as the load did to compare them): "
              f"{', '.join(result.not_compared)}", file=out)
