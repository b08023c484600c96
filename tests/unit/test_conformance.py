"""Every case of every conformance suite in tests/conformance, each its own test.

A suite is a folder with a ``contract.json`` and ``cases/``: the conformance
folder itself and every subfolder that has one (``fixes/``, ``rl/`` ...). The
suites are discovered, never listed, so a new suite runs without a change
here. Each case is mapped as bytes in both parse modes and, where it means
anything, as str.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from tests.conftest import CONFORMANCE, SHARED_CONFORMANCE
from tests.contract_support import assert_matches, compiled_for


def _suites() -> list[Path]:
    return sorted(path.parent for path in CONFORMANCE.rglob("contract.json"))


def _cases() -> list[tuple[Path, Path]]:
    return [(suite, case) for suite in _suites() for case in sorted((suite / "cases").glob("*.xml"))]


def _case_id(item: tuple[Path, Path]) -> str:
    suite, case = item
    name = suite.relative_to(CONFORMANCE).as_posix()
    return f"{'main' if name == '.' else name}/{case.stem}"


CASES = _cases()


@functools.cache
def _compiled(contract: Path, strict: bool):
    return compiled_for(contract, strict_wellformed=strict)


def _expected(case: Path) -> dict:
    return json.loads(case.with_name(case.stem + ".expected.json").read_text("utf-8"))


def _files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_copy_equals_the_published_suites():
    """The repository's copy is the published one, file for file and byte for byte."""
    if not SHARED_CONFORMANCE.is_dir():
        pytest.skip(f"no published suites at {SHARED_CONFORMANCE} to compare the copy with")
    ours, published = _files(CONFORMANCE), _files(SHARED_CONFORMANCE)
    assert sorted(ours) == sorted(published), "the copy and the published suites hold other files"
    differing = [name for name in ours if ours[name] != published[name]]
    assert not differing, f"files differ from the published suites: {differing}"


def test_the_suites_are_there():
    suites = _suites()
    assert CONFORMANCE in suites and len(suites) >= 3, suites
    for suite in suites:
        assert list((suite / "cases").glob("*.xml")), f"suite {suite} has no cases"
        for case in (suite / "cases").glob("*.xml"):
            assert case.with_name(case.stem + ".expected.json").is_file(), case


@pytest.mark.parametrize("strict", [False, True], ids=["horizon", "whole"])
@pytest.mark.parametrize("item", CASES, ids=[_case_id(item) for item in CASES])
def test_case_as_bytes(item, strict):
    suite, case = item
    compiled = _compiled(suite / "contract.json", strict)
    result = compiled.map_document(case.read_bytes())
    assert_matches(compiled, result, _expected(case), case.name)


@pytest.mark.parametrize("item", CASES, ids=[_case_id(item) for item in CASES])
def test_case_as_str(item):
    suite, case = item
    compiled = _compiled(suite / "contract.json", False)
    data = case.read_bytes()
    # A str is what a source hands over after decoding: decode per the
    # document's own declaration (windows-1252 case) or UTF-8.
    encoding = "windows-1252" if b'encoding="windows-1252"' in data[:100] else "utf-8-sig"
    result = compiled.map_document(data.decode(encoding))
    assert_matches(compiled, result, _expected(case), case.name + " (str)")


def test_expected_key_from_a_table_source():
    compiled = _compiled(CONFORMANCE / "contract.json", False)
    data = (CONFORMANCE / "cases" / "01_basic.xml").read_bytes()
    assert compiled.map_document(data, expected_key=1001).key == 1001
    mismatch = compiled.map_document(data, expected_key=1002)
    assert (mismatch.stage, mismatch.key) == ("validate", 1002)
