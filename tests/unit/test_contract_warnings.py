"""Every value the contract's rules change is counted, by kind, table and column.

``MappedRecord.warnings`` holds ``("<kind>:<table>.<column>", count)`` pairs:
``truncated`` (a string cut to data_length), ``not_a_number`` (a numeric
column's text that is no number; a numbers_only / extract_numeric step that
finds none), ``bad_date`` (a date column's text, or extract_date's, that does
not parse), ``unmapped_code`` (an enum / char_to_bit / boolean_to_bit code in
no entry of its table) and ``defaulted`` (an empty column of a written row that
took its default_value). Small documents, each count checked exactly.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.unit import oracle
from xmlshred.contract import MapOptions, compile_contract, contract_from_dict
from xmlshred.contract.plans import WARNING_KINDS
from xmlshred.vocab.results import MappedRecord

APP = "/Doc/Request/application"
CONTACT = f"{APP}/contact"


def _mapping(column: str, attribute: str | None, data_type: str, path: str = APP,
             table: str = "base", **extra) -> dict:
    mapping = {"xml_path": path, "target_table": table, "target_column": column,
               "data_type": data_type, "nullable": True}
    if attribute is not None:
        mapping["xml_attribute"] = attribute
    mapping.update(extra)
    return mapping


CONTRACT = {
    "xml_root_element": "Doc",
    "xml_application_path": APP,
    "table_insertion_order": ["base", "contacts", "scores", "collateral"],
    "element_filtering": {"filter_rules": [
        {"xml_child_path": CONTACT, "required_attributes": {"con_id": True}}]},
    "relationships": [
        {"parent_table": "base", "child_table": "contacts", "foreign_key_column": "app_id",
         "xml_parent_path": "/Doc/Request", "xml_child_path": CONTACT}],
    "enum_mappings": {"status": {"A": 1, "B": 2, "": 9}, "channel": {"WEB": 1}},
    "bit_conversions": {"char_to_bit": {"Y": 1, "N": 0}, "boolean_to_bit": {"true": 1, "false": 0}},
    "mappings": [
        _mapping("app_id", "ID", "int", path="/Doc/Request", mapping_type=["identity_insert"],
                 nullable=False),
        _mapping("name", "name", "string", data_length=5),
        _mapping("term", "term", "smallint"),
        _mapping("rate", "rate", "decimal", data_length=2),
        _mapping("signed", "signed", "date"),
        _mapping("seen", "seen", "datetime"),
        _mapping("status", "status", "smallint", mapping_type=["enum"], enum_name="status"),
        _mapping("channel", "channel", "smallint", mapping_type=["enum"], enum_name="channel"),
        _mapping("flag", "flag", "bit", mapping_type=["char_to_bit"]),
        _mapping("paper", "paper", "bit", mapping_type=["boolean_to_bit"]),
        _mapping("phone", "phone", "string", data_length=20, mapping_type=["numbers_only"]),
        _mapping("amount", "amount", "decimal", data_length=2, mapping_type=["extract_numeric"]),
        _mapping("remark", "remark", "date", mapping_type=["extract_date"]),
        _mapping("branch", "branch", "string", data_length=10, default_value="NONE"),
        _mapping("con_id", "con_id", "int", path=CONTACT, table="contacts",
                 mapping_type=["identity_insert"], nullable=False),
        _mapping("first_name", "first_name", "string", path=CONTACT, table="contacts", data_length=4),
        _mapping("income", "income", "int", path=CONTACT, table="contacts"),
        _mapping("city", "city", "string", path=CONTACT, table="contacts", data_length=10,
                 default_value="UNKNOWN"),
        {"xml_path": APP, "xml_attribute": "fico", "target_table": "scores", "target_column": "",
         "data_type": "int", "mapping_type": ["add_score(FICO)"]},
        {"xml_path": APP, "xml_attribute": "make", "target_table": "collateral",
         "target_column": "make", "data_type": "string", "data_length": 3,
         "mapping_type": ["add_collateral(1)"]},
        {"xml_path": APP, "xml_attribute": "value", "target_table": "collateral",
         "target_column": "value", "data_type": "int", "mapping_type": ["add_collateral(1)"]},
        {"xml_path": APP, "xml_attribute": "model", "target_table": "collateral",
         "target_column": "model", "data_type": "string", "default_value": "?",
         "mapping_type": ["add_collateral(1)"]},
    ],
}


def _compiled():
    report = contract_from_dict(CONTRACT, "warnings-test")
    assert report.ok, report.problems
    return compile_contract(report.contract, MapOptions(now=datetime(2025, 6, 1)))


def _warnings(document: str) -> dict[str, int]:
    result = _compiled().map_document(document.encode())
    assert isinstance(result, MappedRecord), result
    reference = _compiled()  # the plain reference of the rules counts alike
    for plan in reference.plans:
        oracle._install(plan)
    assert reference.map_document(document.encode()) == result
    return dict(result.warnings)


def _document(application: str, contacts: str = "") -> str:
    return f'<Doc><Request ID="7"><application {application}>{contacts}</application></Request></Doc>'


def test_a_clean_document_counts_nothing():
    clean = _document('name="Ann" term="12" rate="1.5" signed="2024-01-02" seen="2024-01-02 10:00" '
                      'status="a" channel="web" flag="y" paper="TRUE" phone="(801) 555" amount="$40" '
                      'remark="2024-02-03" branch="X" fico="700" make="VW" value="5" model="Golf"',
                      '<contact con_id="1" first_name="Bo" income="5" city="Oslo"/>')
    assert _warnings(clean) == {}


def test_each_kind_is_counted_per_table_and_column():
    document = _document(
        'name="Annabelle" term="twelve" rate="1.5%" signed="2024-13-45" seen="yesterday" '
        'status="Z" channel="MAIL" flag="maybe" paper="perhaps" phone="n/a" amount="none" '
        'remark="soon" fico="high" make="Volkswagen" value="5"',
        '<contact con_id="1" first_name="Roberta" income="lots"/>'
        '<contact con_id="2" first_name="Alexandra" city="Oslo"/>'
        '<contact con_id="3" first_name="Al" income="1"/>')
    assert _warnings(document) == {
        "truncated:base.name": 1,
        "not_a_number:base.term": 1,
        "not_a_number:base.rate": 1,
        "bad_date:base.signed": 1,
        "bad_date:base.seen": 1,
        "unmapped_code:base.status": 1,    # the enum's "" entry was written
        "unmapped_code:base.channel": 1,   # no "" entry: NULL was written
        "unmapped_code:base.flag": 1,      # char_to_bit: 0 was written
        "unmapped_code:base.paper": 1,     # boolean_to_bit: 0 was written
        "not_a_number:base.phone": 1,      # numbers_only found no digit
        "not_a_number:base.amount": 1,     # extract_numeric found no number
        "bad_date:base.remark": 1,         # extract_date found no date
        "defaulted:base.branch": 1,
        "truncated:contacts.first_name": 2,
        "not_a_number:contacts.income": 1,
        "defaulted:contacts.city": 2,
        "not_a_number:scores.score": 1,    # a score that does not convert writes no row
        "truncated:collateral.make": 1,
        "defaulted:collateral.model": 1,
    }


def test_empty_values_and_empty_codes_are_not_unmapped_and_unwritten_rows_take_no_default():
    # Missing attributes are empty, not unmapped; the contact without a real value
    # writes no row, so its city default is neither written nor counted; the
    # collateral group without a value that makes its row writes none either.
    document = _document('name="Ann"', '<contact con_id="1"/><contact con_id="2" first_name="Bo"/>')
    assert _warnings(document) == {"defaulted:base.branch": 1, "defaulted:contacts.city": 1}


def test_labels_name_kind_table_and_column_never_a_value():
    document = _document('name="Secretname" term="Secretterm" signed="Secretdate" status="Secretcode"',
                         '<contact con_id="1" first_name="Secretfirst"/>')
    warnings = _warnings(document)
    assert warnings
    for label in warnings:
        kind, _, place = label.partition(":")
        assert kind in WARNING_KINDS
        table, _, column = place.partition(".")
        assert table and column and "Secret" not in label


@pytest.mark.parametrize("count", [1, 3])
def test_counts_add_up_over_the_rows_of_a_record(count):
    contacts = "".join(f'<contact con_id="{n}" first_name="Longname{n}" income="x"/>'
                       for n in range(1, count + 1))
    warnings = _warnings(_document('name="Ann"', contacts))
    assert warnings["truncated:contacts.first_name"] == count
    assert warnings["not_a_number:contacts.income"] == count
