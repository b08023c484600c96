"""docs/contract.md, the users' reference of the contract format, cannot drift from the code.

* Every list the reference marks with ``<!-- registry: NAME -->`` (the first column of the table
  that follows, each name in backticks) equals the code's own registry of that name exactly: the
  step names, the data types, the expression functions, operators and keywords, the failure
  stages, the keys a contract and a mapping may have. A step added to the code and not to the
  reference (or the other way round) fails here.
* Every example the reference gives runs: the one-value examples (``<!-- examples: values -->``
  and ``<!-- examples: expressions -->``) are mapped through the real engine on the reference's
  example contract and document, and each worked example (a ``contract:NAME`` block, a
  ``document:NAME`` block and a ``rows:NAME`` block) gives exactly the rows it shows.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.contract_support import NOW, assert_matches, canonical_tables
from xmlshred.contract import MapOptions, compile_contract, contract_from_dict, expressions, model
from xmlshred.vocab.results import STAGES, MappedRecord
from xmlshred.vocab.schema import DATA_TYPES

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "contract.md"

REGISTRIES: dict[str, frozenset[str]] = {
    "top_level_keys": frozenset(model.TOP_LEVEL_KEYS),
    "mapping_fields": frozenset(model.MAPPING_KEYS),
    "relationship_keys": frozenset(model.RELATIONSHIP_KEYS),
    "filter_rule_keys": frozenset(model.FILTER_RULE_KEYS),
    "table_option_keys": frozenset(model.TABLE_OPTION_KEYS),
    "on_conflict": frozenset(model.ON_CONFLICT),
    "value_steps": frozenset(model.VALUE_STEPS),
    "selector_steps": frozenset(model.SELECTOR_STEPS),
    "key_value_steps": frozenset(model.KEY_VALUE_STEPS),
    "rl_row_steps": frozenset(model.GROUP_STEPS | {model.POLICY_EXCEPTIONS}),
    "data_types": frozenset(DATA_TYPES),
    "functions": frozenset(expressions.FUNCTIONS) | frozenset(expressions._SPECIAL_FUNCTIONS),
    "comparisons": frozenset(expressions._COMPARISONS),
    "keywords": frozenset(expressions._KEYWORDS),
    "date_units": frozenset(expressions._DATE_UNITS),
    "cast_types": frozenset(expressions._CAST_TYPES),
    "stages": frozenset(STAGES),
}
"""Marker name in docs/contract.md -> the code's registry it must equal."""

_MARKER = re.compile(r"<!-- (registry|examples): (\w+) -->\n")
_FIRST_CELL_NAMES = re.compile(r"`([^`]+)`")
_BLOCK = re.compile(r"```(?:json|xml) (contract|document|rows):(\w+)\n(.*?)```", re.S)


def reference() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def marked_tables(kind: str) -> dict[str, list[list[str]]]:
    """Marker name -> the rows (cells, stripped) of the Markdown table right after it."""
    text = reference()
    tables: dict[str, list[list[str]]] = {}
    for marker in _MARKER.finditer(text):
        if marker.group(1) != kind:
            continue
        rows = []
        for line in text[marker.end():].splitlines():
            if not line.startswith("|"):
                if rows:
                    break
                continue
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if all(set(cell) <= set("-: ") for cell in cells):
                continue
            rows.append([cell.replace("\\|", "|") for cell in cells])
        assert marker.group(2) not in tables, f"marker {marker.group(2)} twice"
        tables[marker.group(2)] = rows[1:]  # the first row is the header
    return tables


def test_every_registry_is_listed_in_the_reference_exactly():
    tables = marked_tables("registry")
    assert sorted(tables) == sorted(REGISTRIES), "docs/contract.md's registry markers"
    for name, rows in tables.items():
        listed = [found for row in rows for found in _FIRST_CELL_NAMES.findall(row[0])]
        listed = [re.sub(r"\(.*\)$", "", entry) for entry in listed]  # add_score(ID) -> add_score
        assert len(listed) == len(set(listed)), f"{name}: a name listed twice: {listed}"
        assert set(listed) == REGISTRIES[name], (
            f"{name}: docs/contract.md lists {sorted(set(listed) - REGISTRIES[name])} that the code lacks "
            f"and lacks {sorted(REGISTRIES[name] - set(listed))} that the code has")


def _repository_files() -> list[Path]:
    """The files the repository holds: git's list in a checkout (build output and caches are not
    the repository's), every file below the root elsewhere (an unpacked archive)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listed.returncode == 0:
        return [ROOT / name for name in listed.stdout.decode().split("\0") if name]
    return [path for path in ROOT.rglob("*") if ".git" not in path.parts]


def test_no_file_sends_users_to_a_folder_beside_the_checkout():
    """The contract format is the repository's own (docs/contract.md): no README, doc, example or
    module points at ``../shared``, which a clone does not have. (tests/conformance is a copy kept
    as it was given, and tests/conftest.py compares it with ../shared/conformance when present;
    .ci/ is the CI machine's script, which starts a TDS server from the tools laid beside it.)"""
    skipped = {ROOT / "tests" / "conformance", ROOT / ".ci", ROOT / "out", ROOT / ".bench", ROOT / "build"}
    offenders = []
    for path in _repository_files():
        if path.suffix not in {".md", ".py", ".toml", ".json", ".txt", ".cfg", ".sh"}:
            continue
        if any(part in skipped for part in path.parents) or not path.is_file() or path == Path(__file__):
            continue
        if "../shared" in path.read_text(encoding="utf-8", errors="replace"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# --- the examples -------------------------------------------------------------


def worked_examples() -> dict[str, dict[str, str]]:
    examples: dict[str, dict[str, str]] = {}
    for kind, name, body in _BLOCK.findall(reference()):
        assert kind not in examples.setdefault(name, {}), f"{kind}:{name} twice"
        examples[name][kind] = body
    return examples


def compiled(contract: dict):
    report = contract_from_dict(contract, "docs/contract.md")
    assert report.contract is not None, report.problems
    return compile_contract(report.contract, MapOptions(now=NOW))


def cell_text(cell: str) -> str | None:
    """`text` -> text; ``''`` -> empty; (absent) -> None (the attribute is left out)."""
    if cell == "(absent)":
        return None
    match = re.fullmatch(r"`(.*)`", cell)
    assert match, f"a cell of an example is not in backticks: {cell!r}"
    return "" if match.group(1) == "''" else match.group(1)


def shown(value: object) -> str:
    return "NULL" if value is None else str(value)


def one_value(base: dict, document: str, mapping: dict, text: str | None) -> str:
    """Map ``document`` with the attribute ``v`` set to ``text`` (left out when None) through
    ``base`` plus ``mapping`` (into ``app_base.value``); the value written, as the reference shows it."""
    contract = copy.deepcopy(base)
    contract["mappings"].append({"xml_path": "/Provenir/Request/CustData/application", "xml_attribute": "v",
                                 "target_table": "app_base", "target_column": "value", "nullable": True,
                                 **mapping})
    engine = compiled(contract)
    attribute = "" if text is None else f' v="{text}"'
    result = engine.map_document(document.replace(' v=""', attribute))
    assert isinstance(result, MappedRecord), result
    (row,) = canonical_tables(engine, result)["app_base"]
    return shown(row["value"])


def example_base() -> tuple[dict, str]:
    examples = worked_examples()["examples"]
    return json.loads(examples["contract"]), examples["document"]


def typed(cell: str) -> dict:
    """`decimal(3)` -> {"data_type": "decimal", "data_length": 3}."""
    match = re.fullmatch(r"`(\w+)(?:\((-?\d+)\))?`", cell)
    assert match, f"not a data type cell: {cell!r}"
    return {"data_type": match.group(1), **({"data_length": int(match.group(2))} if match.group(2) else {})}


def test_the_value_examples_give_what_the_reference_says():
    base, document = example_base()
    rows = marked_tables("examples")["values"]
    shown_steps, shown_types = set(), set()
    for steps, data_type, text, want in rows:
        mapping = {**typed(data_type), "mapping_type": re.findall(r"`([^`]+)`", steps)}
        if "enum" in mapping["mapping_type"]:
            mapping["enum_name"] = "status_enum"
        got = one_value(base, document, mapping, cell_text(text))
        assert got == cell_text(want), f"{steps} {data_type} of {text}: {got}, the reference says {want}"
        shown_steps |= set(mapping["mapping_type"])
        shown_types.add(mapping["data_type"])
    # calculated_field has the expression examples; identity_insert is every example's key
    assert shown_steps == model.VALUE_STEPS - {"calculated_field", "identity_insert"}
    assert shown_types == set(DATA_TYPES)


def test_the_expression_examples_give_what_the_reference_says():
    base, document = example_base()
    rows = marked_tables("examples")["expressions"]
    called = set()
    for expression, data_type, want in rows:
        source = cell_text(expression)
        mapping = {**typed(data_type), "mapping_type": ["calculated_field"], "expression": source}
        got = one_value(base, document, mapping, "")
        assert got == cell_text(want), f"{source}: {got}, the reference says {want}"
        called |= {name.upper() for name in re.findall(r"([A-Za-z]+)\s*\(", source)}
    assert REGISTRIES["functions"] <= called, f"functions without an example: {REGISTRIES['functions'] - called}"


@pytest.mark.parametrize("name", sorted(worked_examples()))
def test_a_worked_example_gives_the_rows_it_shows(name):
    example = worked_examples()[name]
    assert set(example) == {"contract", "document", "rows"}, f"{name}: needs a contract, a document and rows"
    engine = compiled(json.loads(example["contract"]))
    assert_matches(engine, engine.map_document(example["document"]), json.loads(example["rows"]), name)
