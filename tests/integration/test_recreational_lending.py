"""The recreational-lending (RL) product line end to end: its example contract, its corpus, the pipeline."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract_support import check_never_raises, compiled_for
from tests.helpers import (
    ROOT,
    assert_target_matches,
    expected_tables,
    pipeline_config,
    read_summary,
    run_cli,
)
from xmlshred.generator import SOURCE_TABLES, generate_documents
from xmlshred.generator.writers import write_sqlite

RL_CONTRACT = ROOT / "examples" / "recreational_lending" / "contract.json"


@pytest.fixture(scope="module")
def rl_compiled():
    return compiled_for(RL_CONTRACT)


def _rl_source(path, count, *, seed, edge_share, profile="small"):
    """An RL corpus in the SQLite table the RL contract names as its source_table."""
    docs = list(generate_documents(count, seed=seed, profile=profile, edge_share=edge_share, product="rl"))
    write_sqlite(path, docs, table=SOURCE_TABLES["rl"])
    return docs


# --------------------------------------------------------------------------
# the example contract

def test_validate_contract_accepts_the_rl_example():
    result = run_cli("validate-contract", str(RL_CONTRACT))
    assert result.returncode == 0, result.stderr
    assert "valid (310 mappings)" in result.stdout
    assert "warning" not in result.stderr, result.stderr


def test_rl_example_uses_every_rl_feature():
    data = json.loads(RL_CONTRACT.read_text("utf-8"))
    mappings = data["mappings"]
    steps = [step for m in mappings for step in m.get("mapping_type", [])]
    tables = {m["target_table"] for m in mappings}
    assert len(tables) == 16 and len(mappings) >= 300
    assert data["xml_application_path"] == "/Provenir/Request/CustData/IL_application"
    assert data["source_application_table"] == "IL_application"
    assert {f"add_collateral({n})" for n in range(1, 5)} <= set(steps)
    assert sum(s.startswith("warranty_field(") for s in set(steps)) >= 3
    assert "policy_exceptions()" in steps and any(s.startswith("policy_exceptions(") and s != "policy_exceptions()"
                                                  for s in steps)
    for step in ("last_valid_pr_contact", "last_valid_sec_contact", "curr_address_only", "extract_date",
                 "extract_numeric", "numbers_only", "char_to_bit", "boolean_to_bit", "default_getutcdate_if_null",
                 "add_score(FICO08)", "add_history"):
        assert step in steps, step
    assert any(m.get("mapping_type", [])[:2] == ["calculated_field", "enum"] for m in mappings)
    assert any(m.get("data_length") == -1 for m in mappings)
    assert any(m["data_type"] == "decimal" and "data_length" not in m for m in mappings)
    assert any(isinstance(v, str) for enum in data["enum_mappings"].values() for v in enum.values())
    expressions = " ".join(m.get("expression", "") for m in mappings)
    assert "> '0'" in expressions and "DATEADD(month, term_months," in expressions
    collateral_paths = {m["xml_path"] for m in mappings if m["target_table"] == "app_collateral_rl"}
    assert collateral_paths == {data["xml_application_path"] + "/IL_collateral"}


def test_the_rl_corpus_table_is_the_contracts_source_table():
    assert json.loads(RL_CONTRACT.read_text("utf-8"))["source_table"] == SOURCE_TABLES["rl"]


def test_collateral_slots_warranties_and_exceptions_map_as_the_document_says(rl_compiled):
    """Each generated document checked against what its own attributes say."""
    from lxml import etree

    def column(table, name):
        return [c.name for c in rl_compiled.schema.table(table).columns].index(name)

    sort_order = column("app_collateral_rl", "sort_order")
    exception_type = column("app_policy_exceptions_rl", "policy_exception_type_enum")
    checked = 0
    for doc in generate_documents(200, seed=5, profile="small", edge_share=0.0, product="rl"):
        root = etree.fromstring(doc.to_bytes())
        app = root.find("Request/CustData/IL_application")
        collateral = app.find("IL_collateral")
        decision = app.find("IL_app_decision_info")
        result = rl_compiled.map_document(doc.to_bytes())
        tables = dict(result.tables)
        slots = {row[sort_order] for row in tables.get("app_collateral_rl", ())}
        real_makes = {n for n in range(1, 5) if (collateral.get(f"coll{n}_make") or "").strip()}
        assert real_makes <= slots, doc.key
        exceptions = {row[exception_type] for row in tables.get("app_policy_exceptions_rl", ())}
        codes = {630 + i: decision.get(name, "").strip() for i, name in enumerate(
            ("override_dti", "override_ltv", "override_credit", "override_income", "override_term",
             "override_pricing"))}
        assert exceptions == {n for n, code in codes.items() if code and code.lower() not in ("null", "none")}
        checked += bool(exceptions) and len(slots) > 1
    assert checked > 3


# --------------------------------------------------------------------------
# mapping never raises, whatever the bytes

_check = check_never_raises


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000))
def test_rl_mapping_never_raises_on_arbitrary_bytes(rl_compiled, data):
    _check(rl_compiled.map_document(data))


_RL_DOCS = [d.to_bytes() for d in generate_documents(12, seed=29, profile="small", edge_share=0.0, product="rl")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_rl_mapping_never_raises_on_damaged_rl_documents(rl_compiled, data):
    original = data.draw(st.sampled_from(_RL_DOCS))
    position = data.draw(st.integers(0, len(original)))
    cut = data.draw(st.integers(0, 40))
    insert = data.draw(st.binary(max_size=20) | st.sampled_from(
        [b"<", b">", b"&", b'"', b"</IL_collateral>", b'coll2_make="', b'coll1_year="99999999"',
         b'override_dti="', b"<IL_contact con_id=\"7\" ac_role_tp_c=\"SEC\"/>", b"\x00", b"\xff"]))
    _check(rl_compiled.map_document(original[:position] + insert + original[position + cut:]))


# --------------------------------------------------------------------------
# the whole pipeline equals the engine, record by record

def test_rl_migrate_equals_engine_output_then_rerun_does_nothing(tmp_path, target_url):
    docs = _rl_source(tmp_path / "source.db", 300, seed=31, edge_share=0.1)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url,
                             contract__path=str(RL_CONTRACT))
    init = run_cli("init-db", "--config", str(config))
    assert init.returncode == 0, init.stderr[-3000:]
    schema, expected, ok, failed = expected_tables(RL_CONTRACT, docs)
    assert failed, "the corpus should contain failing edge cases"
    assert sum(expected["app_collateral_rl"].values()) > 300
    assert sum(expected["app_warranties_rl"].values()) > 0
    assert sum(expected["app_policy_exceptions_rl"].values()) > 0

    first = run_cli("migrate", "--config", str(config))
    assert first.returncode == 3, first.stderr[-3000:]
    assert_target_matches(target_url, schema, expected, ok, failed)
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert (summary.records_ok, summary.records_failed) == (len(ok), len(failed))

    second = run_cli("migrate", "--config", str(config))
    assert second.returncode == 0, second.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.records_ok == 0 and summary.records_failed == 0
    assert_target_matches(target_url, schema, expected, ok, failed)


def test_generate_product_rl_on_the_command_line(tmp_path):
    result = run_cli("generate", "--product", "rl", "--count", "25", "--profile", "small", "--seed", "4",
                     "--out", f"sqlite:///{tmp_path / 'rl.db'}")
    assert result.returncode == 0, result.stderr[-3000:]
    with sqlite3.connect(tmp_path / "rl.db") as connection:
        stored = dict(connection.execute("SELECT app_id, app_xml FROM app_xml_rl"))
    docs = list(generate_documents(25, seed=4, profile="small", product="rl"))
    assert stored == {d.key: (d.xml if d.encoding == "utf-8" else d.xml.encode(d.encoding)) for d in docs}
    refused = run_cli("generate", "--product", "mortgage", "--count", "1", "--out", str(tmp_path / "x"))
    assert refused.returncode == 2 and "mortgage" in refused.stderr
