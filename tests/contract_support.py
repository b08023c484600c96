"""Helpers shared by the contract tests: canonical rows and comparison with expected files."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

from xmlshred.contract import CompiledContract, MapOptions, compile_contract, load_contract
from xmlshred.contract.values import format_canonical
from xmlshred.vocab.results import MappedRecord, RecordFailure

NOW = datetime(2025, 6, 1, 12, 0, 0)


def compiled_for(path: Path, **options) -> CompiledContract:
    return compile_contract(load_contract(path), MapOptions(now=NOW, **options))


def check_never_raises(result) -> None:
    """A mapping result on hostile input: rows, or a failure at a stage with a reason,
    never the catch-all (it is a safety net, not a way to handle input)."""
    assert isinstance(result, (MappedRecord, RecordFailure))
    if isinstance(result, RecordFailure):
        assert result.stage in ("validate", "parse", "map") and result.reason
        assert "unexpected error" not in result.reason, result.reason


def canonical_tables(compiled: CompiledContract, record: MappedRecord) -> dict[str, list[dict]]:
    """The record's rows as dicts of canonical values (docs/contract.md, "Conformance cases")."""
    tables = {}
    for name, rows in record.tables:
        table = compiled.schema.table(name)
        tables[name] = [
            {
                column.name: format_canonical(value, column.data_type, column.data_length)
                for column, value in zip(table.columns, row, strict=True)
            }
            for row in rows
        ]
    return tables


def _bag(rows: list[dict]) -> Counter:
    return Counter(json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows)


def assert_matches(compiled: CompiledContract, result, expected: dict, label: str) -> None:
    """Assert ``result`` is what ``expected`` (an *.expected.json object) says."""
    if expected["status"] == "failed":
        assert isinstance(result, RecordFailure), f"{label}: expected a failure, got rows {result}"
        assert result.stage == expected["stage"], f"{label}: stage {result.stage}: {result.reason}"
        for word in expected.get("reason_mentions", ()):
            assert word in result.reason, f"{label}: reason {result.reason!r} lacks {word!r}"
        return
    assert isinstance(result, MappedRecord), f"{label}: expected rows, got {result}"
    actual = canonical_tables(compiled, result)
    want = expected["tables"]
    assert set(actual) == {name for name, rows in want.items() if rows}, (
        f"{label}: tables {sorted(actual)} != {sorted(want)}")
    for name, rows in want.items():
        assert _bag(actual.get(name, [])) == _bag(rows), (
            f"{label}: table {name}\n got: {actual.get(name)}\nwant: {rows}")
    for name, rows in result.tables:
        width = len(compiled.schema.table(name).columns)
        assert all(len(row) == width for row in rows), f"{label}: {name} row width"

