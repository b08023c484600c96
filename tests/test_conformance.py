"""Every conformance case of ../shared/conformance, as bytes and (where it means anything) as str."""

from __future__ import annotations

import json

import pytest

from tests.contract_support import assert_matches, compiled_for


def _cases(conformance_dir):
    cases = sorted((conformance_dir / "cases").glob("*.xml"))
    assert cases, "no conformance cases found"
    return cases


@pytest.fixture
def compiled(conformance_dir):
    return compiled_for(conformance_dir / "contract.json")


@pytest.fixture
def strict(conformance_dir):
    return compiled_for(conformance_dir / "contract.json", strict_wellformed=True)


def test_every_case_as_bytes(conformance_dir, compiled, strict):
    for case in _cases(conformance_dir):
        expected = json.loads(case.with_name(case.stem + ".expected.json").read_text("utf-8"))
        data = case.read_bytes()
        assert_matches(compiled, compiled.map_document(data), expected, case.name)
        assert_matches(strict, strict.map_document(data), expected, case.name + " (strict)")


def test_every_case_as_str(conformance_dir, compiled):
    for case in _cases(conformance_dir):
        expected = json.loads(case.with_name(case.stem + ".expected.json").read_text("utf-8"))
        data = case.read_bytes()
        # A str is what a source hands over after decoding: decode per the
        # document's own declaration (windows-1252 case) or UTF-8.
        encoding = "windows-1252" if b'encoding="windows-1252"' in data[:100] else "utf-8-sig"
        text = data.decode(encoding)
        assert_matches(compiled, compiled.map_document(text), expected, case.name + " (str)")


def test_expected_key_from_a_table_source(conformance_dir, compiled):
    data = (conformance_dir / "cases" / "01_basic.xml").read_bytes()
    assert compiled.map_document(data, expected_key=1001).key == 1001
    mismatch = compiled.map_document(data, expected_key=1002)
    assert (mismatch.stage, mismatch.key) == ("validate", 1002)
