"""Golden fixtures: one small document per rule of docs/contract.md and per hostile input.

Two fixture suites, each a contract with its cases: ``tests/data/contract/``
(the rules and hostile inputs) and ``tests/data/changed_rules/`` (the rules
docs/contract.md settled for real contracts, the RL row steps among them).
Each ``cases/NAME.xml`` has ``NAME.expected.json`` beside it,
in the conformance format plus a few optional keys:

- ``rule``: what the fixture shows (documentation only);
- ``warnings``: ``{"<kind>:<table>.<column>": count}`` the MappedRecord must report
  exactly (absent: none at all);
- ``input``: ``"str"`` to hand the document over as text (``decode`` says how);
- ``options``: MapOptions fields (e.g. ``max_document_bytes``);
- ``expected_key``: the key a table source would pass;
- ``strict``: a different expectation under ``strict_wellformed=True``.

Every fixture runs in both parse modes (horizon and whole document).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.contract_support import assert_matches, compiled_for
from xmlshred.vocab.results import MappedRecord, RecordFailure

DATA = Path(__file__).parents[1] / "data" / "contract"
CHANGED = Path(__file__).parents[1] / "data" / "changed_rules"
CASES = sorted((DATA / "cases").glob("*.xml")) + sorted((CHANGED / "cases").glob("*.xml"))
_ATTRIBUTE_VALUES = re.compile(r'="([^"]{3,})"')


def _expected(case: Path) -> dict:
    return json.loads(case.with_name(case.stem + ".expected.json").read_text("utf-8"))


def test_there_is_a_fixture_per_rule_and_hostile_input():
    names = [case.stem for case in CASES]
    assert sum(name.startswith("rule_") for name in names) >= 15
    assert sum(case.parent.parent == CHANGED for case in CASES) >= 15
    assert sum(name.startswith("hostile_") for name in names) >= 20
    for case in CASES:
        assert case.with_name(case.stem + ".expected.json").is_file(), case.name


@pytest.mark.parametrize("strict", [False, True], ids=["horizon", "whole"])
@pytest.mark.parametrize("case", CASES, ids=[f"{case.parent.parent.name}/{case.stem}" for case in CASES])
def test_golden_fixture(case: Path, strict: bool):
    expected = _expected(case)
    if strict and "strict" in expected:
        expected = {**expected, **expected["strict"]}
    compiled = compiled_for(case.parent.parent / "contract.json", strict_wellformed=strict,
                            **expected.get("options", {}))
    document: bytes | str = case.read_bytes()
    if expected.get("input") == "str":
        document = document.decode(expected.get("decode", "utf-8"))
    result = compiled.map_document(document, expected_key=expected.get("expected_key"))
    assert_matches(compiled, result, expected, case.name)
    if isinstance(result, MappedRecord):
        assert dict(result.warnings) == expected.get("warnings", {}), case.name
    if isinstance(result, RecordFailure):
        text = case.read_bytes().decode("utf-8", "replace")
        for value in _ATTRIBUTE_VALUES.findall(text):
            if value.strip() and not value.startswith(("file:", "http:")):
                assert value not in result.reason, f"{case.name}: the reason copies a field value"


def test_failures_carry_the_key_when_it_is_known():
    compiled = compiled_for(DATA / "contract.json")
    range_failure = compiled.map_document((DATA / "cases" / "rule_12_out_of_range.xml").read_bytes())
    assert (range_failure.stage, range_failure.key) == ("map", 1)
    unknown = compiled.map_document((DATA / "cases" / "hostile_14_malformed.xml").read_bytes())
    assert unknown.key is None
    told = compiled.map_document((DATA / "cases" / "hostile_14_malformed.xml").read_bytes(), expected_key=7)
    assert told.key == 7
