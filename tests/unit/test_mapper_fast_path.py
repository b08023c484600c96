"""The generated row code gives exactly what the plain reference of the rules gives.

The mapper runs code generated per contract for every table (``row_source``)
and every calculated field (``expression_source``): the one run-time
implementation. ``tests/unit/oracle.py`` restates the rules as plain loops (one
field at a time: locate, read, steps, convert; a tree walk per expression).
Both product lines' realistic corpora, edge cases included, and every case of
every conformance suite are mapped both ways and must give identical records:
same keys, tables, rows, value types and warnings, or the same failure.
"""

from __future__ import annotations

import pytest

from tests.conftest import CONFORMANCE
from tests.contract_support import compiled_for
from tests.helpers import ROOT
from tests.unit import oracle
from xmlshred.generator import generate_documents
from xmlshred.vocab.results import MappedRecord, RecordFailure

CONTRACTS = {
    "cc": ROOT / "examples" / "credit_card" / "contract.json",
    "rl": ROOT / "examples" / "recreational_lending" / "contract.json",
}


def _reference_compiled(path, monkeypatch=None, **options):
    """The contract compiled with the reference's row code in place of the generated code."""
    return oracle.compiled(path, **options)


def _builders(compiled) -> set[str]:
    return {plan.row_values.__name__ for plan in compiled.plans}


def _exact(result) -> object:
    """The result with every value's type beside it (Decimal('1.0') == Decimal('1.00'))."""
    if isinstance(result, RecordFailure):
        return result
    return (result.key, result.warnings,
            [(name, [[(type(value).__name__, repr(value)) for value in row] for row in rows])
             for name, rows in result.tables])


@pytest.mark.parametrize("product", sorted(CONTRACTS))
@pytest.mark.parametrize("strict", [False, True])
def test_generated_code_maps_the_realistic_corpus_like_the_reference(product, strict,
                                                                            monkeypatch):
    fast = compiled_for(CONTRACTS[product], strict_wellformed=strict)
    generic = _reference_compiled(CONTRACTS[product], monkeypatch, strict_wellformed=strict)
    assert _builders(fast) <= {"values", "rows"}  # generated
    assert not _builders(generic) & {"values", "rows"}  # the comparison is between two ways

    documents = [d.to_bytes() for d in generate_documents(
        300, seed=41, profile="realistic", edge_share=0.3, product=product)]
    mapped = failed = warned = 0
    for number, document in enumerate(documents):
        expected = generic.map_document(document)
        actual = fast.map_document(document)
        assert _exact(actual) == _exact(expected), f"{product} document {number}"
        # Again: the generated code's memos (expression texts, conversions) now answer.
        assert _exact(fast.map_document(document)) == _exact(expected), f"{product} document {number}"
        if isinstance(expected, MappedRecord):
            mapped += 1
            warned += bool(expected.warnings)
        else:
            failed += 1
    # The corpus reaches the interesting paths: rows, failures and warnings.
    assert mapped > 200 and failed > 0 and warned > 0, (mapped, failed, warned)


def _suites() -> list:
    return sorted(path.parent for path in (CONFORMANCE).rglob("contract.json"))


def test_the_conformance_suites_are_there():
    assert len(_suites()) >= 3


@pytest.mark.parametrize("suite", _suites(), ids=lambda path: path.name)
def test_generated_code_maps_every_conformance_case_like_the_reference(suite, monkeypatch):
    """Every case of every suite, as bytes in both parse modes and as text, both ways."""
    cases = sorted((suite / "cases").glob("*.xml"))
    assert cases
    for strict in (False, True):
        fast = compiled_for(suite / "contract.json", strict_wellformed=strict)
        generic = _reference_compiled(suite / "contract.json", monkeypatch, strict_wellformed=strict)
        for case in cases:
            data = case.read_bytes()
            documents = [data]
            try:
                documents.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                pass
            for document in documents:
                expected = _exact(generic.map_document(document))
                for _ in range(2):  # the second time from the generated code's memos
                    assert _exact(fast.map_document(document)) == expected, \
                        (case.name, strict, type(document).__name__)


@pytest.mark.parametrize("product", sorted(CONTRACTS))
def test_generated_row_builders_are_readable_source(product):
    """Every row table of the example contracts has a generated builder whose source can
    be dumped, names its constants instead of pasting them, and holds no document value."""
    from xmlshred.contract.mapper import _key_value_row, _makes_row, _missing_cell
    from xmlshred.contract.plans import GROUPS, NO_DEFAULT, POLICY
    from xmlshred.contract.row_source import (
        generate_group_table,
        generate_key_value_table,
        generate_policy_table,
        generate_table,
    )

    compiled = compiled_for(CONTRACTS[product])
    built = key_values = located = straight = groups = 0
    for plan in compiled.plans:
        if plan.row_values is None or plan.row_values.__name__ not in ("values", "rows"):
            continue
        if plan.kind == GROUPS:
            generated = generate_group_table(plan, _makes_row, _missing_cell)
            assert generated.source.startswith("def rows(doc, row):")
            assert "    # group 0" in generated.source
            groups += 1
        elif plan.kind == POLICY:
            generated = generate_policy_table(plan)
            assert generated.source.startswith("def rows(doc, row):")
        elif plan.row_values.__name__ == "rows":
            generated = generate_key_value_table(plan, _key_value_row)
            assert generated.source.startswith("def rows(doc, row):")
            key_values += 1
        else:
            generated = generate_table(plan)
            assert generated.source.startswith("def values(doc, row):")
        compile(generated.source, "<dump>", "exec")
        for name in generated.constants:
            assert name.startswith("k")
        for field in plan.fields:  # contract names are named constants, not pasted
            if field.attribute is not None:
                assert repr(field.attribute) not in generated.source
        # Contact picks and typed record elements do not depend on the row: found once, at
        # the top, into p0, p1 ... (never again per field).
        hoisted = [line for line in generated.source.splitlines() if "doc.locate(" in line
                   and line.endswith(", None)")]
        assert all(line.startswith("    p") for line in hoisted)
        located += len(hoisted)
        # A plain text column is written straight to its variable (no ``value, real``).
        straight += sum(1 for line in generated.source.splitlines()
                        if line.startswith("    if raw and (c") and line.endswith(" := raw.strip()):"))
        built += 1
    assert built >= 5 and key_values >= 4 and located >= 1 and straight >= 1
    assert groups == (2 if product == "rl" else 0)  # warranties and collateral
    # Written rows are finished by generated code too: one statement per finishing column.
    from xmlshred.contract.mapper import _missing_value, _parent_value
    from xmlshred.contract.plans import REPEAT, ROOT, SINGLE
    from xmlshred.contract.row_source import generate_finish

    finished = [plan for plan in compiled.plans if plan.kind in (ROOT, SINGLE, REPEAT)]
    assert finished and all(plan.finish_row.__name__ == "finish" for plan in finished)
    for plan in finished:
        source = generate_finish(plan, _parent_value, _missing_value).source
        assert source.count("    if values[") == sum(
            1 for _, column in plan.finishing
            if column.default is not NO_DEFAULT or not column.column.nullable)


@pytest.mark.parametrize(("path", "attribute", "table"), [
    ("application/contact", "dependents_cnt", "app_contact_base"),
    ("application/contact/contact_address", "years_at_residence", "app_contact_address"),
])
def test_an_out_of_range_value_in_a_repeating_row_fails_the_record_with_the_table(
        path, attribute, table, monkeypatch):
    """A repeating table's rows are built before the others: a value out of its column's
    range there fails the record like anywhere else (table, column, rule; no value), both ways."""
    from lxml import etree

    document = next(d.to_bytes() for d in generate_documents(
        20, seed=5, profile="realistic", edge_share=0.0, product="cc")
        if etree.fromstring(d.to_bytes()).find(f".//{path}") is not None)
    root = etree.fromstring(document)
    root.find(f".//{path}").set(attribute, "99999999999999999999999")
    document = etree.tostring(root)
    for compiled in (compiled_for(CONTRACTS["cc"]), _reference_compiled(CONTRACTS["cc"], monkeypatch)):
        result = compiled.map_document(document)
        assert isinstance(result, RecordFailure), result
        assert result.stage == "map"
        assert result.reason.startswith(f"table={table} column="), result.reason
        assert "out of range" in result.reason and "9999" not in result.reason


@pytest.mark.parametrize(("markup", "wanted", "expected"), [
    ('<e Name="a"/>', "name", "a"),
    ('<e name="a"/>', "name", "a"),
    ('<e NAME="a" Name="b"/>', "name", "b"),  # the last spelling wins
    ('<e other="a" names="b" xname="c"/>', "name", None),  # no partial match
    ('<e/>', "name", None),
    ('<e ΑΣ="a" Name="b"/>', "name", "b"),  # non-ASCII names: matched one by one
    ('<e ΑΣ="a"/>', "ας", "a"),
    ('<e ΑΣ="a"/>', "ασ", None),
])
def test_attributes_match_their_name_in_any_case(markup, wanted, expected):
    from lxml import etree

    from xmlshred.contract.mapper import _Document

    doc = object.__new__(_Document)
    doc.lowered = {}
    element = etree.fromstring(markup)
    assert doc.attr(element, wanted, wanted.lower()) == expected
    assert doc.attr(element, wanted, wanted.lower()) == expected  # remembered per element
    # What generated builders test before they call attr_other_case: the name is among the
    # element's lowered names exactly when it is there in some case.
    assert ("\0" + wanted.lower() + "\0" in doc.lowered_names(element)) == (expected is not None)
    doc.lowered = {}
    assert ("\0" + wanted.lower() + "\0" in doc.lowered_names(element)) == (expected is not None)


@pytest.mark.parametrize(("score", "flag", "legacy"), [
    ("712", "Y", "LC7"),
    ("1,500", "yes", "NULL"),
    ("abc", "N", "none"),
    ("99999999999999999999", "1", "x" * 300),
    ("2.5", "t", "\u00e9" * 70),
    ("\u0663", "true", " "),
])
def test_key_value_rows_read_alike_both_ways(score, flag, legacy, monkeypatch):
    """Scores, indicators and history rows: the generated shortcut for the usual text and
    the shared row function for the rest give the reference's rows and warnings."""
    import html

    data = _basic_case({'fico_score="712"': f'fico_score="{html.escape(score)}"',
                        'fraud_ind="Y"': f'fraud_ind="{flag}"', 'legacy_code="LC7"': f'legacy_code="{legacy}"'})
    _assert_alike_both_ways(CONFORMANCE / "contract.json", data, monkeypatch)


def _basic_case(replacements: dict[str, str]) -> str:
    """The conformance suite's basic case with each attribute text replaced."""
    data = (CONFORMANCE / "cases" / "01_basic.xml").read_text(encoding="utf-8")
    for old, new in replacements.items():
        data = data.replace(old, new)
    return data


def _assert_alike_both_ways(contract, data: str, monkeypatch) -> None:
    fast = compiled_for(contract)
    generic = _reference_compiled(contract, monkeypatch)
    assert _exact(fast.map_document(data)) == _exact(generic.map_document(data))


@pytest.mark.parametrize("apr", ["2.345", "2.355", "0.0", "1.", ".5", "-0.001", "0.004", "0.005",
                                 "00.000", "9.995", "007",
                                 "12345678901234567890", "1234567890123456789.55",
                                 "123456789012345678901234567890123456.7", "$4", "1,500.5", "٣"])
def test_decimal_columns_read_alike_both_ways(apr, monkeypatch):
    """A decimal column's in-line reading of plain digits and the converter for the rest."""
    contract = CONFORMANCE / "contract.json"
    data = (CONFORMANCE / "cases" / "01_basic.xml").read_text(encoding="utf-8")
    data = data.replace('apr="2.345"', f'apr="{apr}"')
    fast = compiled_for(contract)
    generic = _reference_compiled(contract, monkeypatch)
    assert _exact(fast.map_document(data)) == _exact(generic.map_document(data))


@pytest.mark.parametrize("product", sorted(CONTRACTS))
def test_small_memos_forget_and_still_map_like_the_reference(product, monkeypatch):
    """With memos of three entries (expression texts, conversions) every one fills up and is
    cleared again many times over the corpus: records stay the reference's, and no memo
    ever holds more than its bound."""
    from xmlshred.contract import expression_source, row_source, values

    generic = _reference_compiled(CONTRACTS[product], monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(expression_source, "TEXT_MEMO_SIZE", 3)
        patch.setattr(row_source, "CONVERSION_MEMO_SIZE", 3)
        patch.setattr(values, "_CONVERSION_MEMOS", {})
        fast = compiled_for(CONTRACTS[product])
        documents = [d.to_bytes() for d in generate_documents(
            40, seed=43, profile="realistic", edge_share=0.3, product=product)]
        for number, document in enumerate(documents * 2):
            assert _exact(fast.map_document(document)) == _exact(generic.map_document(document)), number
        memos = list(values._CONVERSION_MEMOS.values())
    assert memos and all(len(memo) <= 3 for memo in memos)
    assert any(memos)
    texts = [value for plan in fast.plans if plan.row_values.__name__ == "values"
             for text_of in plan.row_values.__globals__.values()
             if getattr(text_of, "__name__", None) == "text_from_element"
             for name, value in text_of.__globals__.items() if name.startswith("k") and type(value) is dict]
    assert texts and any(texts) and all(len(memo) <= 3 for memo in texts)


def test_conversion_memos_are_only_for_types_that_never_truncate():
    from xmlshred.contract.values import conversion_memo

    assert conversion_memo("decimal", 2) is conversion_memo("decimal", 2)
    assert conversion_memo("decimal", 2) is not conversion_memo("decimal", 4)
    assert conversion_memo("date", None) is conversion_memo("date", 10)  # places only for decimals
    for data_type in ("string", "int", "bit"):
        with pytest.raises(ValueError, match=data_type):
            conversion_memo(data_type, None)


@pytest.mark.parametrize("status", ["A", "a", "P", "p", "X", "x", "Empty", "EMPTY", "zz", "", " A ",
                                    "\u00df", "SS"])
@pytest.mark.parametrize(("signature", "paperless"), [("Y", "true"), ("y", "YES"), ("maybe", "2"), ("", "")])
def test_word_steps_read_alike_both_ways(status, signature, paperless, tmp_path, monkeypatch):
    """Enum and bit words take the value worked out at compile time; words whose value is
    empty and unknown words take the step and conversion as written (the loader refuses
    values that do not convert): the same records and warnings either way."""
    import html
    import json

    contract = json.loads((CONFORMANCE / "contract.json").read_text(encoding="utf-8"))
    contract["enum_mappings"]["status_enum"].update(
        {"a": 7, "X": 8, "x": 9, "Empty": "", "\u00df": 5})
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(contract), encoding="utf-8")
    data = _basic_case({'Status="A"': f'Status="{html.escape(status)}"',
                        'signature_ind="Y"': f'signature_ind="{signature}"',
                        'paperless_flag="true"': f'paperless_flag="{paperless}"'})
    _assert_alike_both_ways(path, data, monkeypatch)


@pytest.mark.parametrize(("column", "words", "expected"), [
    (("smallint", None), {"A": 160, "B": "7", "C": None, "D": "", "E": 99999, "F": "abc"},
     {"A": 160, "B": 7}),
    (("string", 3), {"A": "abc", "B": "abcd", "C": 5}, {"A": "abc", "C": "5"}),
    (("bit", None), {"Y": 1, "N": 0, "M": 2, "Q": "maybe"}, {"Y": 1, "N": 0, "M": 1}),
])
def test_words_convert_at_compile_time_only_when_clean(column, words, expected):
    """A word's column value is worked out ahead only when converting it gives a value
    without a warning or a range error; every other word is marked for the step as written."""
    from types import SimpleNamespace

    from xmlshred.contract.row_source import _converted_words
    from xmlshred.contract.values import MISSING
    from xmlshred.vocab.schema import Column

    data_type, length = column
    field = SimpleNamespace(column=Column(name="c", data_type=data_type, data_length=length))
    converted = _converted_words(field, words)
    assert set(converted) == set(words)
    assert {word: value for word, value in converted.items() if value is not MISSING} == expected
    assert all(type(converted[word]) is type(value) for word, value in expected.items())


def test_an_empty_non_nullable_group_cell_fails_alike_both_ways(tmp_path, monkeypatch):
    """A written group row whose non-nullable string cell is empty and has no default fails
    the record, from the generated group builder as from the mapper's."""
    import json

    suite = CONFORMANCE / "rl"
    contract = json.loads((suite / "contract.json").read_text(encoding="utf-8"))
    for mapping in contract["mappings"]:
        if mapping["target_table"] == "app_collateral_rl" and mapping["target_column"] == "model":
            mapping["nullable"] = False
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(contract), encoding="utf-8")
    fast = compiled_for(path)
    generic = _reference_compiled(path, monkeypatch)
    failed = 0
    for case in sorted((suite / "cases").glob("*.xml")):
        expected = generic.map_document(case.read_bytes())
        assert _exact(fast.map_document(case.read_bytes())) == _exact(expected), case.name
        failed += isinstance(expected, RecordFailure) and "column=model" in expected.reason
    assert failed
