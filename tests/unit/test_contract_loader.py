"""Loading and validating contracts: every problem at once, with where and a did-you-mean."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from xmlshred.contract import (
    ContractError,
    MapOptions,
    check_contract,
    compile_contract,
    contract_from_dict,
    contract_schema,
    load_contract,
)
from xmlshred.vocab.names import ENGINE_TABLES

ROOT_EXAMPLE = "examples/credit_card/contract.json"


@pytest.fixture
def conformance(conformance_dir) -> dict:
    return json.loads((conformance_dir / "contract.json").read_text("utf-8"))


def _mapping(data: dict, column: str) -> dict:
    return next(m for m in data["mappings"] if m.get("target_column") == column)


def _problems(data: dict) -> list[str]:
    report = contract_from_dict(data, "c.json")
    assert report.contract is None
    return list(report.problems)


def test_conformance_contract_loads_clean(conformance_dir):
    report = check_contract(conformance_dir / "contract.json")
    assert report.problems == () and report.warnings == ()
    contract = report.contract
    assert contract.root_table == "app_base"
    assert contract.key_mapping.target_column == "app_id"
    assert (contract.source_table, contract.source_column) == ("app_xml", "app_xml")


def test_example_contract_loads_and_compiles():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / ROOT_EXAMPLE
    if not path.exists():
        pytest.skip("no example contract yet")
    contract = load_contract(path)
    compiled = compile_contract(contract, MapOptions(now=datetime(2025, 1, 1)))
    assert compiled.schema.tables[0].name == contract.root_table


def test_missing_file_and_invalid_json_are_problems(tmp_path):
    missing = check_contract(tmp_path / "nope.json")
    assert missing.contract is None and "not found" in missing.problems[0]
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "mappings": [\n    {"xml_path": }\n  ]\n}\n')
    report = check_contract(broken)
    assert report.contract is None
    assert "line 3" in report.problems[0] and "broken.json" in report.problems[0]
    with pytest.raises(ContractError) as raised:
        load_contract(broken)
    assert "line 3" in str(raised.value)


def test_every_problem_is_reported_at_once(conformance):
    data = copy.deepcopy(conformance)
    _mapping(data, "receive_date")["data_type"] = "datetme"
    _mapping(data, "ssn")["mapping_type"] = ["numbers_onyl"]
    _mapping(data, "status_enum")["enum_name"] = "status_enm"
    _mapping(data, "status_enum")["nullable"] = False  # nullable: a warning, not a problem
    _mapping(data, "tier")["expression"] = "CASE WHEN application.pricing_tier > THEN 'x' END"
    _mapping(data, "credit_line")["target_column"] = "credit-line"
    _mapping(data, "apr")["default_value"] = "not a number"
    _mapping(data, "late_fee")["target_table"] = "app_detial"
    with pytest.raises(ContractError) as raised:
        load_contract_from(data)
    problems = raised.value.problems
    assert len(problems) == 7, problems
    text = str(raised.value)
    assert text.startswith("the contract has 7 problems:")
    assert "unknown data_type 'datetme' (did you mean 'datetime'?)" in text
    assert "unknown mapping type 'numbers_onyl' (did you mean 'numbers_only'?)" in text
    assert "enum_name 'status_enm' is not in enum_mappings (did you mean 'status_enum'?)" in text
    assert "malformed expression at position" in text
    assert "'credit-line' is not a valid identifier" in text
    assert "default_value 'not a number' does not convert to data_type decimal" in text
    assert "neither the root table" in text and "did you mean 'app_detail'?" in text
    # Each problem says where: the file and the mapping index.
    assert all(problem.startswith("c.json: ") for problem in problems)
    assert any("mappings[1]" in problem for problem in problems)


def load_contract_from(data: dict):
    report = contract_from_dict(data, "c.json")
    if report.contract is None:
        raise ContractError(list(report.problems))
    return report.contract


def test_malformed_expression_gives_its_position(conformance):
    data = copy.deepcopy(conformance)
    _mapping(data, "num_band")["expression"] = "CASE WHEN application.pricing_tier > 9 THEN 'gt9' ELSE 'x'"
    problems = _problems(data)
    assert len(problems) == 1
    assert "num_band" in problems[0] and "malformed expression at position" in problems[0]
    position = int(problems[0].split("at position ")[1].split(":")[0])
    assert position > 0


def test_enum_step_without_resolvable_enum_is_an_error(conformance):
    data = copy.deepcopy(conformance)
    mapping = _mapping(data, "status_enum")
    mapping["target_column"] = "status_code"
    mapping["nullable"] = False
    problems = _problems(data)
    assert len(problems) == 1 and "no resolvable enum" in problems[0]
    mapping["enum_name"] = "status_enum"
    assert _status_of_a(data, "status_code") == data["enum_mappings"]["status_enum"]["A"]


def test_unresolvable_enum_on_a_nullable_column_is_a_warning_and_always_null(conformance):
    data = copy.deepcopy(conformance)
    mapping = _mapping(data, "status_enum")
    mapping["target_column"] = "status_code"
    mapping["nullable"] = True
    report = contract_from_dict(data)
    assert report.problems == ()
    assert any("no resolvable enum" in w and "always NULL" in w for w in report.warnings)
    compiled = compile_contract(report.contract, MapOptions(now=datetime(2025, 1, 1)))
    document = b'<Provenir><Request ID="5" Status="A"><CustData><application/></CustData></Request></Provenir>'
    record = compiled.map_document(document)
    row = dict(zip(compiled.schema.table("app_base").column_names, dict(record.tables)["app_base"][0], strict=True))
    assert row["status_code"] is None


def test_string_enum_values_convert_to_the_column_type(conformance):
    data = copy.deepcopy(conformance)
    data["enum_mappings"]["status_enum"]["A"] = "officer@example.com"
    problems = _problems(data)
    assert len(problems) == 1
    assert "status_enum code 'A'" in problems[0] and "does not convert to data_type smallint" in problems[0]
    _mapping(data, "status_enum")["data_type"] = "string"
    _mapping(data, "status_enum")["data_length"] = 40
    assert _status_of_a(data, "status_enum") == "officer@example.com"


def _status_of_a(data: dict, column: str):
    """app_base.``column`` of a document with Status="A", mapped under contract ``data`` (which
    must load without a problem)."""
    report = contract_from_dict(data)
    assert report.problems == (), report.problems
    compiled = compile_contract(report.contract, MapOptions(now=datetime(2025, 1, 1)))
    document = b'<Provenir><Request ID="5" Status="A"><CustData><application/></CustData></Request></Provenir>'
    record = compiled.map_document(document)
    columns = compiled.schema.table("app_base").column_names
    return dict(zip(columns, dict(record.tables)["app_base"][0], strict=True))[column]


def test_data_length_minus_one_means_no_limit(conformance):
    data = copy.deepcopy(conformance)
    _mapping(data, "first_name")["data_length"] = -1
    report = contract_from_dict(data)
    assert report.problems == ()
    column = next(c for t in compile_contract(report.contract, MapOptions(now=datetime(2025, 1, 1)))
                  .schema.tables for c in t.columns if c.name == "first_name")
    assert column.data_length is None
    _mapping(data, "first_name")["data_length"] = -2
    problems = _problems(data)
    assert len(problems) == 1 and "data_length -2" in problems[0]


def test_unknown_mapping_type_and_data_type(conformance):
    data = copy.deepcopy(conformance)
    _mapping(data, "ssn")["mapping_type"] = ["scramble"]
    _mapping(data, "first_name")["data_type"] = "Strng"
    problems = _problems(data)
    assert any("unknown mapping type 'scramble'" in p for p in problems)
    assert any("unknown data_type 'Strng' (did you mean 'string'?)" in p for p in problems)


def test_identifiers_are_checked_everywhere(conformance):
    data = copy.deepcopy(conformance)
    data["target_schema"] = "conf; DROP TABLE x"
    data["table_insertion_order"][1] = "app contact"
    data["relationships"][0]["foreign_key_column"] = "1app_id"
    problems = _problems(data)
    assert any("target_schema" in p for p in problems)
    assert any("'app contact' is not a valid identifier" in p for p in problems)
    assert any("'1app_id' is not a valid identifier" in p for p in problems)


def test_default_must_convert_to_the_data_type(conformance):
    data = copy.deepcopy(conformance)
    _mapping(data, "receive_date")["default_value"] = "someday"
    _mapping(data, "review_count")["default_value"] = "300"
    problems = _problems(data)
    assert len(problems) == 2
    assert any("receive_date" in p and "does not convert to data_type datetime" in p for p in problems)
    assert any("review_count" in p and "tinyint" in p for p in problems)


def test_table_without_role_is_an_error(conformance):
    data = copy.deepcopy(conformance)
    data["relationships"] = [r for r in data["relationships"] if r["child_table"] != "app_detail"]
    problems = _problems(data)
    assert problems and all("'app_detail' is neither the root table" in p for p in problems)


def test_unknown_keys_are_warnings_with_a_hint(conformance):
    data = copy.deepcopy(conformance)
    data["comments"] = "kept by the team"
    _mapping(data, "ssn")["note"] = "informational"
    _mapping(data, "ssn")["owner_team"] = "risk"
    _mapping(data, "ssn")["descriptions"] = "a near miss of an informational key"
    report = contract_from_dict(data, "c.json")
    assert report.problems == ()
    assert any("unknown key 'comments' is ignored" in w for w in report.warnings)
    assert any("unknown key 'note' is ignored" in w for w in report.warnings)
    assert any("unknown key 'descriptions' is ignored (did you mean 'description'?)" in w
               for w in report.warnings)
    assert report.contract.warnings == report.warnings


@pytest.mark.parametrize(("written", "meant"), [
    ("xml_atribute", "xml_attribute"), ("nulable", "nullable"), ("XML_Attribute", "xml_attribute"),
    ("data_lenght", "data_length"), ("defualt_value", "default_value"), ("mapping_types", "mapping_type"),
])
def test_a_near_miss_of_a_mapping_key_is_an_error_with_did_you_mean(conformance, written, meant):
    data = copy.deepcopy(conformance)
    mapping = _mapping(data, "ssn")
    index = data["mappings"].index(mapping)
    mapping[written] = mapping.get(meant, "x")
    problems = _problems(data)
    assert problems == [f"c.json: mappings[{index}] (app_contact_base.ssn): unknown key {written!r} "
                        f"(did you mean {meant!r}?): a misspelt key would be ignored and change the data"]


def test_a_near_miss_elsewhere_is_an_error_too(conformance):
    data = copy.deepcopy(conformance)
    data["relationship"] = []
    data["relationships"][0]["foreign_key_colum"] = "app_id"
    problems = _problems(data)
    assert any("top level: unknown key 'relationship' (did you mean 'relationships'?)" in p
               for p in problems)
    assert any("relationships[0]: unknown key 'foreign_key_colum' (did you mean 'foreign_key_column'?)"
               in p for p in problems)


def test_strict_turns_every_warning_into_an_error(conformance, tmp_path):
    data = copy.deepcopy(conformance)
    data["comments"] = "kept by the team"
    assert contract_from_dict(data, "c.json").ok
    strict = contract_from_dict(data, "c.json", strict=True)
    assert strict.contract is None
    assert strict.problems == ("c.json: top level: unknown key 'comments' is ignored "
                               "(an error under strict)",)
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(data), "utf-8")
    assert load_contract(path).warnings
    with pytest.raises(ContractError) as excinfo:
        load_contract(path, strict=True)
    assert "'comments'" in excinfo.value.problems[0]
    assert list(check_contract(path, strict=True).problems) == excinfo.value.problems


def _example() -> dict:
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / ROOT_EXAMPLE
    return json.loads(path.read_text("utf-8"))


def test_the_misspelt_attribute_of_the_issue_is_rejected_and_its_clock_fallback_reported():
    # The credit-card example's entry date with "xml_atribute": without an attribute the
    # mapping reads the application element's text and would store the run's clock.
    data = _example()
    index, mapping = next((i, m) for i, m in enumerate(data["mappings"])
                          if m.get("target_column") == "entry_date")
    mapping["xml_atribute"] = mapping.pop("xml_attribute")
    report = contract_from_dict(data, "contract.json")
    assert report.contract is None
    assert report.problems == (f"contract.json: mappings[{index}] (app_base.entry_date): unknown key "
                               "'xml_atribute' (did you mean 'xml_attribute'?): a misspelt key would "
                               "be ignored and change the data",)
    fallback = [w for w in report.warnings if f"mappings[{index}]" in w and "names no xml_attribute" in w]
    assert len(fallback) == 1 and "the run clock (default_getutcdate_if_null)" in fallback[0]


def test_a_mapping_falling_back_to_a_constant_for_every_record_is_a_warning():
    data = _example()
    mapping = next(m for m in data["mappings"] if m.get("target_column") == "entry_date")
    del mapping["xml_attribute"]  # forgotten, not misspelt: loads, with a warning
    app = next(m for m in data["mappings"] if m.get("xml_attribute") and m["xml_path"] == mapping["xml_path"])
    constant = dict(app, xml_attribute=None, target_column="branch_name", data_type="string",
                    default_value="HEAD OFFICE", mapping_type=[])
    constant.pop("enum_name", None)
    constant.pop("expression", None)
    data["mappings"].append(constant)
    report = contract_from_dict(data, "contract.json")
    assert report.ok
    fallback = [w for w in report.warnings if "names no xml_attribute" in w]
    assert len(fallback) == 2
    assert "(app_base.entry_date)" in fallback[0] and "the run clock" in fallback[0]
    assert "its default_value" in fallback[1]
    assert "strict" not in fallback[0]
    assert not contract_from_dict(data, "contract.json", strict=True).ok


def test_every_shipped_contract_loads_without_a_problem(conformance_dir):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in [root / "examples" / "credit_card" / "contract.json",
                 root / "examples" / "recreational_lending" / "contract.json",
                 *sorted(conformance_dir.glob("**/contract.json"))]:
        report = check_contract(path)
        assert report.problems == (), path
        assert not any("names no xml_attribute" in w or "did you mean" in w for w in report.warnings), path


def test_repeating_element_without_selector_is_a_warning(conformance):
    data = copy.deepcopy(conformance)
    _mapping(data, "pr_first_name")["mapping_type"] = []
    report = contract_from_dict(data)
    assert report.problems == ()
    assert len(report.warnings) == 1
    assert "repeating element" in report.warnings[0] and "no selector" in report.warnings[0]


def _rl_mapping(table: str, column: str, step: str) -> dict:
    return {"xml_path": "/Provenir/Request/CustData/application/collateral", "xml_attribute": "vin",
            "target_table": table, "target_column": column, "data_type": "string",
            "data_length": 17, "mapping_type": [step]}


def test_recreational_lending_row_tables_get_the_keys_their_rows_imply(conformance):
    data = copy.deepcopy(conformance)
    data["mappings"] += [
        _rl_mapping("app_exceptions", "", "policy_exceptions(2)"),
        _rl_mapping("app_exceptions", "", "policy_exceptions()"),
        _rl_mapping("app_warranties", "company", "warranty_field(623)"),
        _rl_mapping("app_collateral", "vin", "add_collateral(3)"),
    ]
    report = contract_from_dict(data)
    assert report.problems == ()
    compiled = compile_contract(report.contract, MapOptions(now=datetime(2025, 1, 1)))
    keys = {t.name: t.primary_key for t in compiled.schema.tables}
    assert keys["app_exceptions"] == ("app_id", "policy_exception_type_enum")
    assert keys["app_warranties"] == ("app_id", "warranty_type_enum")
    assert keys["app_collateral"] == ("app_id", "sort_order")
    assert compiled.schema.table("app_exceptions").column_names == (
        "app_id", "policy_exception_type_enum", "reason_code", "notes")


def test_recreational_lending_keys_written_twice_are_problems(conformance):
    data = copy.deepcopy(conformance)
    data["mappings"] += [
        _rl_mapping("app_exceptions", "", "policy_exceptions(2)"),
        _rl_mapping("app_exceptions", "", "policy_exceptions(2)"),
        _rl_mapping("app_collateral", "vin", "add_collateral(1)"),
        _rl_mapping("app_collateral", "vin", "add_collateral(1)"),
        _rl_mapping("app_collateral", "", "add_collateral(2)"),
        _rl_mapping("app_exceptions", "", "policy_exceptions"),
    ]
    problems = _problems(data)
    assert len(problems) == 4, problems
    assert any("policy_exceptions(2) is also mappings" in p for p in problems)
    assert any("writes column 'vin'" in p for p in problems)
    assert any("target_column is missing" in p for p in problems)
    assert any("needs parentheses" in p for p in problems)


def test_step_arguments_are_checked(conformance):
    data = copy.deepcopy(conformance)
    score = next(m for m in data["mappings"] if m.get("mapping_type") == ["add_score(FICO)"])
    score["mapping_type"] = ["add_score"]
    problems = _problems(data)
    assert len(problems) == 1 and "add_score needs an argument" in problems[0]


def test_mapping_type_as_a_single_string_is_accepted(conformance, conformance_dir):
    """``"mapping_type": "numbers_only"`` means ``["numbers_only"]``: no problem, no warning, and the
    same rows (the SSN's digits only) as the list form gives."""
    assert _mapping(conformance, "ssn")["mapping_type"] == ["numbers_only"]
    data = copy.deepcopy(conformance)
    _mapping(data, "ssn")["mapping_type"] = "numbers_only"
    report = contract_from_dict(data)
    assert report.problems == () and report.warnings == ()
    document = (conformance_dir / "cases" / "01_basic.xml").read_bytes()
    rows = {}
    for contract in (report.contract, contract_from_dict(conformance).contract):
        compiled = compile_contract(contract, MapOptions(now=datetime(2025, 1, 1)))
        table = compiled.schema.table("app_contact_base")
        record = dict(compiled.map_document(document).tables)
        rows[contract is report.contract] = [dict(zip(table.column_names, row, strict=True))
                                             for row in record["app_contact_base"]]
    assert rows[True] == rows[False]
    assert [row["ssn"] for row in rows[True]] == ["666024645", "123456789"]


def test_root_needs_a_record_key(conformance):
    data = copy.deepcopy(conformance)
    _mapping(data, "app_id")["mapping_type"] = []
    problems = _problems(data)
    assert any("no identity_insert mapping" in p for p in problems)


def test_foreign_key_must_exist_in_the_parent(conformance):
    data = copy.deepcopy(conformance)
    data["relationships"][2]["foreign_key_column"] = "contact_id"
    problems = _problems(data)
    assert len(problems) == 1 and "'contact_id' is not a column of the parent table" in problems[0]


def test_tables_section_gives_keys_and_conflict_policy(conformance):
    data = copy.deepcopy(conformance)
    data["tables"] = {"app_base": {"primary_key": ["app_id"], "on_conflict": "skip"},
                      "scores": {"primary_key": ["app_id", "score_identifier"], "on_conflict": "updte"}}
    problems = _problems(data)
    assert len(problems) == 1 and "(did you mean 'update'?)" in problems[0]
    data["tables"]["scores"]["on_conflict"] = "update"
    compiled = compile_contract(load_contract_from(data), MapOptions(now=datetime(2025, 1, 1)))
    assert compiled.schema.table("app_base").primary_key == ("app_id",)
    assert compiled.schema.table("app_base").on_conflict == "skip"
    assert compiled.schema.table("scores").on_conflict == "update"
    assert compiled.schema.table("app_detail").primary_key == ()


def test_schema_order_and_columns(conformance):
    data = copy.deepcopy(conformance)
    data["table_insertion_order"] = ["app_base", "app_contact_base", "processing_log"]
    compiled = compile_contract(load_contract_from(data), MapOptions(now=datetime(2025, 1, 1)))
    schema = compiled.schema
    # Listed tables first, then the others alphabetically; processing_log never.
    assert [t.name for t in schema.tables] == [
        "app_base", "app_contact_base", "app_contact_address", "app_detail",
        "app_historical_lookup", "indicators", "scores"]
    assert schema.key_column == "app_id" and schema.schema_name == "conf"
    address = schema.table("app_contact_address")
    assert address.column_names[0] == "con_id" and address.columns[0].data_type == "int"
    assert schema.table("app_contact_base").column_names[:2] == ("app_id", "con_id")
    assert schema.table("app_contact_base").columns[1].identity is True
    assert schema.table("scores").column_names == ("app_id", "score_identifier", "score")
    assert schema.table("scores").columns[2].data_type == "int"
    assert schema.table("indicators").column_names == ("app_id", "indicator", "value")
    assert schema.table("app_historical_lookup").column_names == ("app_id", "name", "source", "value")


def test_paths_must_start_at_the_root_element(conformance):
    data = copy.deepcopy(conformance)
    _mapping(data, "ssn")["xml_path"] = "/Request/CustData/application/contact"
    _mapping(data, "city")["xml_path"] = "/Provenir/Request[1]/contact"
    problems = _problems(data)
    assert len(problems) == 2
    assert any("xml_path must start at /Provenir" in p for p in problems)
    assert any("not an absolute element path" in p for p in problems)


def test_scores_of_different_types_share_one_exact_column(conformance):
    data = copy.deepcopy(conformance)
    vantage = copy.deepcopy(next(m for m in data["mappings"] if m.get("mapping_type") == ["add_score(FICO)"]))
    vantage.update({"mapping_type": ["add_score(RATIO)"], "data_type": "decimal", "data_length": 3})
    data["mappings"].append(vantage)
    report = contract_from_dict(data)
    assert report.problems == ()
    compiled = compile_contract(report.contract, MapOptions(now=datetime(2025, 1, 1)))
    table = next(t for t in compiled.schema.tables if "score" in t.column_names)
    score = table.columns[table.column_names.index("score")]
    assert (score.data_type, score.data_length) == ("decimal", 3)
    document = (b'<Provenir><Request ID="5"><CustData><application><app_product fico="701"/>'
                b'</application></CustData></Request></Provenir>').replace(b"fico", vantage["xml_attribute"].encode())
    record = compiled.map_document(document)
    rows = dict(record.tables)[table.name]
    assert {type(row[2]).__name__ for row in rows} == {"Decimal"}


def test_the_engine_tables_are_not_contract_tables(conformance):
    for name in ENGINE_TABLES:
        data = copy.deepcopy(conformance)
        _mapping(data, "first_name")["target_table"] = name
        problems = _problems(data)
        assert any(f"target_table {name!r} is the engine's own table" in p for p in problems), problems


@pytest.mark.parametrize("path", ["examples/credit_card/contract.json",
                                  "examples/recreational_lending/contract.json"])
def test_contract_schema_is_the_compiled_schema(path):
    """``status`` and ``tune`` read a contract's tables without a run's MapOptions: the same schema."""
    contract = load_contract(path)
    schema = contract_schema(contract)
    assert schema == compile_contract(contract, MapOptions(now=datetime(2030, 6, 1))).schema
    assert schema.key_column == contract.key_mapping.target_column and len(schema.tables) > 3
