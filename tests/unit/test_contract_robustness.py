"""map_document never raises, and the parse horizon really leaves the tail unparsed."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract_support import check_never_raises, compiled_for
from xmlshred.contract import MapOptions, compile_contract, contract_from_dict
from xmlshred.contract.parsing import parse_document
from xmlshred.vocab.results import MappedRecord, RecordFailure

NOW = datetime(2025, 6, 1)
BUSINESS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Provenir><Request ID="{key}" Status="A"><CustData>'
    '<application app_receive_date="2025-01-02" pricing_tier="3" campaign="X1">'
    '<contact con_id="1" ac_role_tp_c="PR" first_name="Ann"/>{extra}</application>'
    "</CustData></Request>"
)


def _document(tail: str, key: int = 42, extra: str = "") -> str:
    return BUSINESS.format(key=key, extra=extra) + tail


def _big_reports(count: int) -> str:
    lines = "".join(f'<Line n="{i}" text="bureau line {i}"/>' for i in range(count))
    return f"<Reports><Bureau>{lines}</Bureau></Reports></Provenir>"


@pytest.fixture(scope="module")
def contract_data():
    from tests.conftest import CONFORMANCE

    return json.loads((CONFORMANCE / "contract.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def lenient(contract_data):
    return compile_contract(contract_from_dict(contract_data).contract, MapOptions(now=NOW))


@pytest.fixture(scope="module")
def strict(contract_data):
    return compile_contract(contract_from_dict(contract_data).contract,
                            MapOptions(now=NOW, strict_wellformed=True))


_check = check_never_raises


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_never_raises_on_arbitrary_bytes(lenient, data):
    _check(lenient.map_document(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=2000))
def test_never_raises_on_arbitrary_text(lenient, text):
    _check(lenient.map_document(text))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_never_raises_on_damaged_documents(lenient, strict, conformance_dir, data):
    cases = sorted((conformance_dir / "cases").glob("*.xml"))
    original = data.draw(st.sampled_from(cases)).read_bytes()
    position = data.draw(st.integers(0, len(original)))
    cut = data.draw(st.integers(0, 20))
    insert = data.draw(st.binary(max_size=20) | st.sampled_from(
        [b"<", b">", b"&", b'"', b"</application>", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"\x00", b"\xff"]))
    damaged = original[:position] + insert + original[position + cut:]
    for compiled in (lenient, strict):
        _check(compiled.map_document(damaged))
        _check(compiled.map_document(damaged.decode("utf-8", "replace")))
        _check(compiled.map_document(damaged, expected_key=data.draw(st.integers(-5, 2000))))


@pytest.mark.parametrize("bad", [None, 12, 3.5, ["<a/>"], bytearray(b"<Provenir/>"), memoryview(b"")])
def test_never_raises_on_wrong_types(lenient, bad):
    _check(lenient.map_document(bad))


def test_horizon_is_the_application_element(lenient):
    assert lenient.horizon == ("Provenir", "Request", "CustData", "application")


def test_garbage_after_the_horizon_is_never_parsed(lenient, strict):
    document = _document("<Reports><Bureau x='1'><<<&&& this is not XML at all")
    for data in (document, document.encode()):
        mapped = lenient.map_document(data)
        assert isinstance(mapped, MappedRecord), mapped
        assert dict(mapped.tables)["app_contact_base"][0][:2] == (42, 1)
        failed = strict.map_document(data)
        assert isinstance(failed, RecordFailure) and failed.stage == "parse"


def test_undefined_entity_in_the_tail_is_never_seen(lenient, strict):
    document = _document("<Reports>&undefined;</Reports></Provenir>")
    assert isinstance(lenient.map_document(document), MappedRecord)
    assert strict.map_document(document).stage == "parse"


def test_the_tail_is_not_in_the_parsed_tree(lenient):
    data = _document(_big_reports(20000)).encode()
    assert len(data) > 500_000
    root = parse_document(data, lenient.horizon)
    assert root.find("Reports") is None
    whole = parse_document(data, None)
    assert len(whole.find("Reports/Bureau")) == 20000


def test_same_rows_with_and_without_horizon(lenient, strict, conformance_dir):
    documents = [_document(_big_reports(500)), _document(_big_reports(10), extra="<app_product fico_score='700'/>")]
    documents += [case.read_bytes() for case in sorted((conformance_dir / "cases").glob("*.xml"))]
    for document in documents:
        left, right = lenient.map_document(document), strict.map_document(document)
        assert type(left) is type(right)
        if isinstance(left, MappedRecord):
            assert left == right


def test_same_rows_on_generated_corpus():
    from tests.conftest import ROOT
    from xmlshred.generator import corpus as generator

    contract = ROOT / "examples" / "credit_card" / "contract.json"
    if not contract.exists():
        pytest.skip("no example contract")
    lenient, strict = compiled_for(contract), compiled_for(contract, strict_wellformed=True)
    mapped = 0
    for document in generator.generate_documents(40, seed=3, profile="realistic", edge_share=0.3):
        left, right = lenient.map_document(document.to_bytes()), strict.map_document(document.to_bytes())
        assert type(left) is type(right), document.edge_case
        if isinstance(left, MappedRecord):
            mapped += 1
            assert left == right, document.edge_case
            assert left == lenient.map_document(document.xml)
        failing = document.edge_case in generator.FAILING_EDGE_CASES
        assert isinstance(left, RecordFailure) == failing, document.edge_case
    assert mapped > 20


def test_horizon_found_past_the_first_chunks(lenient):
    contacts = "".join(f'<contact con_id="{i}" ac_role_tp_c="PR" first_name="N{i}"/>' for i in range(100, 3100))
    document = _document("<Reports>&bad;", extra=contacts)
    assert len(document) > 100_000
    mapped = lenient.map_document(document.encode())
    assert isinstance(mapped, MappedRecord)
    assert len(dict(mapped.tables)["app_contact_base"]) == 3001


def test_an_element_of_the_horizon_name_elsewhere_does_not_stop_parsing(lenient):
    document = (
        '<Provenir><Header><application note="decoy"/></Header><Request ID="7"><CustData>'
        '<application campaign="X1"><contact con_id="5" ac_role_tp_c="PR" first_name="Bo"/>'
        "</application></CustData></Request><Reports><<<</Provenir>"
    )
    mapped = lenient.map_document(document)
    assert isinstance(mapped, MappedRecord) and dict(mapped.tables)["app_contact_base"][0][1] == 5


def test_a_mapping_past_the_horizon_parses_everything(contract_data):
    data = copy.deepcopy(contract_data)
    data["mappings"].append({
        "xml_path": "/Provenir/Reports/Bureau", "xml_attribute": "payload",
        "target_table": "app_detail", "target_column": "bureau_payload", "data_type": "string"})
    compiled = compile_contract(contract_from_dict(data).contract, MapOptions(now=NOW))
    assert compiled.horizon is None
    mapped = compiled.map_document(_document('<Reports><Bureau payload="late"/></Reports></Provenir>'))
    detail = compiled.schema.table("app_detail")
    row = dict(mapped.tables)["app_detail"][0]
    assert row[detail.column_names.index("bureau_payload")] == "late"


def test_element_text_of_an_ancestor_widens_the_horizon(contract_data):
    data = copy.deepcopy(contract_data)
    data["mappings"].append({
        "xml_path": "/Provenir/Request/CustData", "target_table": "app_detail",
        "target_column": "custdata_text", "data_type": "string"})
    compiled = compile_contract(contract_from_dict(data).contract, MapOptions(now=NOW))
    assert compiled.horizon == ("Provenir", "Request", "CustData")


def test_an_expression_naming_an_unknown_element_parses_everything(contract_data):
    data = copy.deepcopy(contract_data)
    data["mappings"].append({
        "xml_path": "/Provenir/Request/CustData/application", "xml_attribute": "x",
        "target_table": "app_detail", "target_column": "bureau_score", "data_type": "int",
        "mapping_type": ["calculated_field"], "expression": "Bureau.score + 1"})
    compiled = compile_contract(contract_from_dict(data).contract, MapOptions(now=NOW))
    assert compiled.horizon is None
    mapped = compiled.map_document(_document('<Reports><Bureau score="41"/></Reports></Provenir>'))
    detail = compiled.schema.table("app_detail")
    assert dict(mapped.tables)["app_detail"][0][detail.column_names.index("bureau_score")] == 42


def test_text_that_cannot_be_encoded_fails_at_parse(lenient):
    failed = lenient.map_document(_document("</Provenir>", extra='<app_product apr="\udc80"/>'))
    assert isinstance(failed, RecordFailure) and failed.stage == "parse"


def _cut_cases() -> list:
    """Documents where the cut at the first ``</application…>`` may or may not close the horizon."""
    tail = "<Reports><Bureau><<<&&& not XML"
    return [
        _document(tail),
        _document(_big_reports(50)),
        _document(tail, extra="<app_product fico_score='700'/>"),
        # the horizon's name elsewhere first, as an empty element and as a closed one
        '<Provenir><Header><application note="decoy"/></Header><Request ID="7"><CustData>'
        '<application campaign="X1"/></CustData></Request><Reports><<<</Provenir>',
        '<Provenir><Header><application>decoy</application></Header><Request ID="7"><CustData>'
        '<application campaign="X1"><contact con_id="5"/></application></CustData></Request></Provenir>',
        # the end tag's text inside a comment, a CDATA section and an attribute value
        '<Provenir><Request ID="7"><CustData><!-- </application> --><application campaign="X1"/>'
        '<application/></CustData></Request></Provenir>',
        '<Provenir><Request ID="7"><CustData><application><![CDATA[</application>]]></application>'
        "</CustData></Request><Reports/></Provenir>",
        '<Provenir><Request ID="7" note="</application>"><CustData><application/></CustData></Request></Provenir>',
        # a longer name, white space inside the end tag, namespaces, an empty horizon element
        '<Provenir><Request ID="7"><CustData><applicationX a="1"></applicationX><application b="2"/>'
        "</CustData></Request></Provenir>",
        '<Provenir><Request ID="7"><CustData><applicationX a="1"></applicationX><application b="2"/>'
        "</CustData></Request><Reports><<</Provenir>",
        '<Provenir><Request ID="7"><CustData><applicationX/><application a="1"></applicationX>'
        "</application></CustData></Request></Provenir>",
        '<Provenir><Request ID="7"><CustData><application a="1"></application  ></CustData></Request><x/></Provenir>',
        '<Provenir xmlns="urn:x"><Request ID="7"><CustData><application a="1"></application></CustData>'
        "</Request></Provenir>",
        '<p:Provenir xmlns:p="urn:x"><p:Request><p:CustData><application a="1"></application></p:CustData>'
        "</p:Request></p:Provenir>",
        '<Provenir><Request ID="7"><CustData><application a="1"/></CustData></Request><Reports><<</Provenir>',
        # malformed before the horizon, and no horizon at all
        '<Provenir><Request ID="7"><CustData><application a="1" a="2"></application></CustData></Request></Provenir>',
        '<Provenir><Request ID="7"><CustData></CustData></Request></Provenir>',
        '<?xml version="1.0" encoding="ISO-8859-1"?><Provenir><Request ID="7"><CustData>'
        '<application a="caf\xe9"></application></CustData></Request><Reports><<</Provenir>',
    ]


def _tree_or_reason(parse, data, horizon):
    from lxml import etree

    from xmlshred.contract.parsing import DocumentRejected, _syntax_reason

    try:
        return etree.tostring(parse(data, horizon))
    except DocumentRejected as rejected:
        return rejected.reason
    except Exception as error:
        return _syntax_reason(error)


def test_the_cut_parse_gives_the_incremental_parse_s_tree_or_steps_aside(lenient):
    """Whenever the cut shortcut answers, its tree is exactly the incremental parser's."""
    from xmlshred.contract import parsing
    from xmlshred.generator import corpus as generator

    horizon = lenient.horizon
    documents = _cut_cases()
    documents += [document.xml for document in generator.generate_documents(30, seed=5, profile="realistic",
                                                                            edge_share=0.5)]
    answered = 0
    for text in documents:
        encoded = text.encode("latin-1") if "ISO-8859-1" in text[:60] else text.encode()
        for data in (text, encoded):
            if isinstance(data, str) and data.startswith("<?xml") and "ISO-8859-1" in data[:60]:
                continue  # lxml takes no str with an encoding declaration other than by feed
            cut = parsing._parse_cut(data, horizon)
            incremental = _tree_or_reason(parsing._parse_incrementally, data, horizon)
            if cut is not None:
                answered += 1
                from lxml import etree

                assert etree.tostring(cut) == incremental
            # and parse_document, shortcut or not, gives what the incremental parse alone gives
            assert _tree_or_reason(parsing.parse_document, data, horizon) == \
                _tree_or_reason(lambda d, h: parsing._parse_incrementally(parsing._decode_wide(d)
                                                                          if isinstance(d, bytes) else d, h),
                                data, horizon)
    assert answered > 40  # the shortcut serves the usual documents
    assert parsing._parse_cut(documents[0], ("Provenir", "Request", "CustData", "applicatión")) is None


def test_a_parsed_horizon_tree_is_freed_without_the_garbage_collector(lenient):
    import gc

    data = _document(_big_reports(200)).encode()
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            root = parse_document(data, lenient.horizon)
            assert root.find("Request/CustData/application") is not None
            del root
        assert gc.collect() == 0  # no cycle kept parser, events and tree alive
    finally:
        gc.enable()
