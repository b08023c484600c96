"""The synthetic corpus: deterministic, shaped like production documents, written faithfully."""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest
from lxml import etree

from xmlshred.generator import (
    EDGE_CASES,
    FAILING_EDGE_CASES,
    PRODUCTS,
    GeneratorError,
    file_name,
    generate_documents,
    parse_destination,
    run_generate,
    write_files,
    write_sqlite,
)

APPLICATION = "/Provenir/Request/CustData/application"
SHAPE = {
    "cc": {"application": "Request/CustData/application", "contact": "contact",
           "comma_amount": ("app_product", "credit_line")},
    "rl": {"application": "Request/CustData/IL_application", "contact": "IL_contact",
           "comma_amount": ("IL_collateral", "coll1_wholesale_value")},
}
"""Per product line: where its business data and contacts are, and an amount its comma_amounts edge case writes."""


def _parse(doc):
    return etree.fromstring(doc.to_bytes(), parser=etree.XMLParser(resolve_entities=False, huge_tree=True))


@pytest.mark.parametrize("product", PRODUCTS)
def test_same_arguments_give_identical_documents(product):
    first = list(generate_documents(40, seed=11, edge_share=0.3, product=product))
    second = list(generate_documents(40, seed=11, edge_share=0.3, product=product))
    assert first == second


@pytest.mark.parametrize("product", PRODUCTS)
def test_another_seed_gives_other_documents(product):
    first = list(generate_documents(20, seed=1, profile="small", product=product))
    second = list(generate_documents(20, seed=2, profile="small", product=product))
    assert [d.key for d in first] == [d.key for d in second]
    assert all(a.xml != b.xml for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("product", PRODUCTS)
def test_a_slice_regenerates_on_its_own(product):
    whole = list(generate_documents(30, seed=5, profile="small", edge_share=0.5, product=product))
    tail = list(generate_documents(10, seed=5, profile="small", edge_share=0.5, start_key=21, product=product))
    assert [d.key for d in tail] == list(range(21, 31))
    assert tail == whole[20:]


@pytest.mark.parametrize("bad", [{"count": -1}, {"profile": "huge"}, {"edge_share": 1.5}, {"start_key": 0}])
def test_bad_arguments_are_refused(bad):
    arguments = {"count": 1} | bad
    with pytest.raises(ValueError):
        list(generate_documents(**arguments))


@pytest.mark.parametrize("product", PRODUCTS)
def test_edge_case_share_is_close_to_the_one_asked_for(product):
    docs = list(generate_documents(3000, seed=3, profile="small", edge_share=0.2, product=product))
    share = sum(d.edge_case is not None for d in docs) / len(docs)
    assert 0.17 <= share <= 0.23
    kinds = Counter(d.edge_case for d in docs if d.edge_case)
    assert set(kinds) == set(EDGE_CASES)
    # Each kind gets roughly its equal part of the edge cases.
    expected = len(docs) * 0.2 / len(EDGE_CASES)
    assert all(expected * 0.5 <= n <= expected * 1.5 for n in kinds.values()), kinds


@pytest.mark.parametrize("product", PRODUCTS)
def test_no_edge_cases_when_share_is_zero(product):
    documents = generate_documents(300, seed=4, profile="small", edge_share=0.0, product=product)
    assert all(d.edge_case is None for d in documents)


def test_realistic_documents_average_about_a_quarter_megabyte():
    docs = list(generate_documents(400, seed=9, profile="realistic", edge_share=0.0))
    sizes = [len(d.to_bytes()) for d in docs]
    assert 200_000 <= sum(sizes) / len(sizes) <= 300_000
    business = [d.xml.index("</application>") - d.xml.index("<application ") for d in docs]
    assert 5_000 <= sum(business) / len(business) <= 11_000
    assert max(business) <= 40_000
    assert all("<Reports" in d.xml for d in docs)


def test_some_realistic_documents_reach_two_megabytes():
    # About 0.5 % of documents carry ~2 MB of reports, as the largest production ones do.
    sizes = [len(d.xml) for d in generate_documents(1200, seed=2, profile="realistic", edge_share=0.0)]
    big = [s for s in sizes if s > 1_500_000]
    assert 1 <= len(big) <= 20
    assert max(sizes) < 2_300_000


@pytest.mark.parametrize("product, mean_between, largest_below", [("cc", (3_000, 8_000), 16_000),
                                                                   ("rl", (4_000, 10_000), None)])
def test_small_documents_have_no_reports(product, mean_between, largest_below):
    docs = list(generate_documents(300, seed=9, profile="small", edge_share=0.0, product=product))
    assert not any("<Reports" in d.xml for d in docs)
    sizes = [len(d.to_bytes()) for d in docs]
    assert mean_between[0] <= sum(sizes) / len(sizes) <= mean_between[1]
    if largest_below is not None:
        assert max(sizes) < largest_below


@pytest.mark.parametrize("profile", ["small", "realistic"])
def test_ordinary_documents_are_well_formed_provenir_with_an_id(profile):
    for doc in generate_documents(150, seed=12, profile=profile, edge_share=0.0):
        root = _parse(doc)
        assert root.tag == "Provenir"
        request = root.find("Request")
        assert request.get("ID") == str(doc.key)
        application = root.find("Request/CustData/application")
        assert application is not None
        contacts = application.findall("contact")
        assert 1 <= len(contacts) <= 3
        assert contacts[0].get("ac_role_tp_c") == "PR"
        assert application.find("app_product") is not None
        # Every mapped element sits before any Reports content.
        if profile == "realistic":
            assert doc.xml.index("</CustData>") < doc.xml.index("<Reports")


def test_documents_carry_what_the_contract_reads():
    docs = [_parse(d) for d in generate_documents(200, seed=13, profile="small", edge_share=0.0)]
    roles = Counter(c.get("ac_role_tp_c") for root in docs for c in root.iter("contact"))
    assert roles["PR"] == 200 and roles["AUTHU"] > 40
    address_types = Counter(a.get("address_tp_c") for root in docs for a in root.iter("contact_address"))
    assert address_types["CURR"] > 150 and address_types["PREV"] > 40
    assert sum(1 for root in docs for _ in root.iter("contact_employment")) > 150
    solicited = sum(1 for root in docs if root.find("Request/CustData/application").get("offer_id"))
    assert 40 <= solicited <= 120
    for root in docs:
        for tag in ("rmts_info", "Indicators", "scores", "credit_report_summary", "fraud_check_summary"):
            assert root.find(f"Request/CustData/application/{tag}") is not None, tag


def _by_edge_case(product, count=1500, seed=21):
    found = {}
    for doc in generate_documents(count, seed=seed, profile="small", edge_share=0.5, product=product):
        if doc.edge_case and doc.edge_case not in found:
            found[doc.edge_case] = doc
    assert set(found) == set(EDGE_CASES)
    return found


@pytest.mark.parametrize("product", PRODUCTS)
def test_edge_cases_are_what_their_tags_say(product):
    shape = SHAPE[product]
    contacts = f"{shape['application']}/{shape['contact']}"
    found = _by_edge_case(product)
    with pytest.raises(etree.XMLSyntaxError):
        _parse(found["malformed_xml"])
    assert _parse(found["wrong_root"]).tag != "Provenir"
    assert not _parse(found["missing_id"]).find("Request").get("ID")
    assert found["bom"].xml.startswith("\ufeff<?xml")
    assert found["bom"].to_bytes().startswith(b"\xef\xbb\xbf")
    cp1252 = found["encoding_declaration"]
    assert cp1252.encoding == "windows-1252"
    assert cp1252.xml.startswith('<?xml version="1.0" encoding="windows-1252"?>')
    assert any(ord(ch) > 127 for ch in cp1252.xml)
    assert _parse(cp1252).find("Request").get("ID") == str(cp1252.key)
    dup = _parse(found["duplicate_con_id"]).findall(contacts)
    assert len({c.get("con_id") for c in dup}) < len(dup)
    element, amount = shape["comma_amount"]
    assert "," in _parse(found["comma_amounts"]).find(f"{shape['application']}/{element}").get(amount)
    names = [c.get("first_name") for c in _parse(found["non_ascii_names"]).findall(contacts)]
    assert names and all(any(ord(ch) > 127 for ch in name) for name in names)
    long_name = _parse(found["overlong_values"]).find(contacts).get("first_name")
    assert len(long_name) > 200
    for tag in FAILING_EDGE_CASES - {"malformed_xml"}:
        _parse(found[tag])  # well-formed: they fail validation, not parsing


def test_sqlite_writer_stores_every_document(tmp_path):
    docs = list(generate_documents(60, seed=21, profile="small", edge_share=0.5))
    path = tmp_path / "source.db"
    assert write_sqlite(path, docs) == 60
    with sqlite3.connect(path) as connection:
        rows = dict(connection.execute("SELECT app_id, app_xml FROM app_xml ORDER BY app_id"))
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert sorted(rows) == [d.key for d in docs]
    for doc in docs:
        stored = rows[doc.key]
        if doc.encoding == "utf-8":
            assert stored == doc.xml
        else:
            assert stored == doc.xml.encode("windows-1252")
    assert any(isinstance(v, bytes) for v in rows.values())


def test_sqlite_writer_refuses_existing_keys_and_bad_names(tmp_path):
    path = tmp_path / "source.db"
    write_sqlite(path, generate_documents(5, profile="small"), table="docs", key_column="k", xml_column="x")
    with pytest.raises(GeneratorError):
        write_sqlite(path, generate_documents(5, profile="small"), table="docs", key_column="k", xml_column="x")
    with pytest.raises(GeneratorError):
        write_sqlite(path, [], table="docs; DROP TABLE docs")


def test_file_writer_names_and_encodes_each_document(tmp_path):
    docs = list(generate_documents(120, seed=21, profile="small", edge_share=0.5))
    assert write_files(tmp_path / "docs", docs) == 120
    names = sorted(p.name for p in (tmp_path / "docs").iterdir())
    assert names == [file_name(d.key) for d in docs]
    assert file_name(7) == "0000000007.xml"
    cp1252 = [d for d in docs if d.encoding == "windows-1252"]
    assert cp1252
    for doc in docs:
        data = (tmp_path / "docs" / file_name(doc.key)).read_bytes()
        assert data == doc.xml.encode(doc.encoding)
    raw = (tmp_path / "docs" / file_name(cp1252[0].key)).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


@pytest.mark.parametrize(
    ("out", "kind", "path"),
    [
        ("sqlite:///out/a.db", "sqlite", "out/a.db"),
        ("sqlite:////tmp/a.db", "sqlite", "/tmp/a.db"),
        ("files:///srv/sample", "files", "/srv/sample"),
        ("some/folder", "files", "some/folder"),
    ],
)
def test_destinations(out, kind, path):
    parsed_kind, parsed_path = parse_destination(out)
    assert (parsed_kind, str(parsed_path)) == (kind, path)


def test_run_generate_reports_what_it_wrote(tmp_path):
    stats = run_generate(50, f"sqlite:///{tmp_path}/corpus.db", seed=3, profile="small", edge_share=0.2)
    assert stats["count"] == 50 and stats["kind"] == "sqlite"
    assert stats["first_key"] == 1 and stats["last_key"] == 50
    assert sum(stats["edge_cases"].values()) == sum(
        1 for d in generate_documents(50, seed=3, profile="small", edge_share=0.2) if d.edge_case
    )
    with sqlite3.connect(tmp_path / "corpus.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM app_xml").fetchone()[0] == 50
    files = run_generate(10, str(tmp_path / "folder"), profile="small")
    assert files["kind"] == "files" and len(list((tmp_path / "folder").iterdir())) == 10
    with pytest.raises(GeneratorError):
        run_generate(1, "postgres://somewhere/db")


# --------------------------------------------------------------------------
# the shipped example: contract and sample documents agree with the generator

EXAMPLE_CONTRACT = "examples/credit_card/contract.json"
RL_CONTRACT = "examples/recreational_lending/contract.json"


def _example_path(relative):
    from tests.conftest import ROOT

    return ROOT / relative


def test_example_contract_is_valid_and_clean():
    from xmlshred.contract import check_contract

    report = check_contract(_example_path(EXAMPLE_CONTRACT))
    assert report.problems == ()
    assert report.warnings == ()


@pytest.mark.parametrize("product, contract, count, rows_between", [
    ("cc", EXAMPLE_CONTRACT, 300, {}),
    # The row-creating RL steps really make rows, and not one per slot or type.
    ("rl", RL_CONTRACT, 400, {"app_collateral_rl": (300, 4 * 400), "app_warranties_rl": (100, 6 * 400),
                              "app_policy_exceptions_rl": (40, 400)}),
])
def test_generated_documents_fill_every_column_and_fail_only_where_they_should(product, contract, count,
                                                                                rows_between):
    from datetime import datetime

    from xmlshred.contract import MapOptions, compile_contract, load_contract
    from xmlshred.vocab.results import MappedRecord, RecordFailure

    compiled = compile_contract(load_contract(_example_path(contract)), MapOptions(now=datetime(2025, 1, 1)))
    columns = {table.name: [column.name for column in table.columns] for table in compiled.schema.tables}
    filled: dict[str, set[str]] = {name: set() for name in columns}
    rows_per_table: dict[str, int] = dict.fromkeys(columns, 0)
    for doc in generate_documents(count, seed=17, profile="small", edge_share=0.3, product=product):
        result = compiled.map_document(doc.to_bytes())
        if doc.edge_case in FAILING_EDGE_CASES:
            assert isinstance(result, RecordFailure), doc.edge_case
            assert result.stage == ("parse" if doc.edge_case == "malformed_xml" else "validate")
            continue
        assert isinstance(result, MappedRecord), (doc.key, doc.edge_case, result)
        assert result.key == doc.key
        for table, rows in result.tables:
            rows_per_table[table] += len(rows)
            for row in rows:
                filled[table].update(name for name, value in zip(columns[table], row, strict=True) if value is not None)
    never = {table: sorted(set(names) - filled[table])
             for table, names in columns.items() if set(names) - filled[table]}
    assert never == {}
    for table, (low, high) in rows_between.items():
        assert low < rows_per_table[table] < high, (table, rows_per_table[table])


def test_shipped_sample_is_what_the_generator_makes():
    folder = _example_path("examples/sample")
    docs = list(generate_documents(200, seed=7, profile="small", edge_share=0.05))
    assert sorted(p.name for p in folder.iterdir()) == [file_name(d.key) for d in docs]
    for doc in docs:
        assert (folder / file_name(doc.key)).read_bytes() == doc.to_bytes(), doc.key


# --------------------------------------------------------------------------
# the recreational-lending (RL) product line

RL_APPLICATION = "Request/CustData/IL_application"


def _rl(count, **arguments):
    return list(generate_documents(count, product="rl", **arguments))


def test_the_product_lines_give_different_documents():
    rl = _rl(40, seed=11, edge_share=0.3, profile="small")
    credit_card = list(generate_documents(40, seed=11, edge_share=0.3, profile="small"))
    assert all(a.xml != b.xml for a, b in zip(rl, credit_card, strict=True))


def test_unknown_product_is_refused():
    with pytest.raises(ValueError, match="mortgage"):
        list(generate_documents(1, product="mortgage"))
    with pytest.raises(ValueError, match="mortgage"):
        run_generate(1, "unused-folder", product="mortgage")


def test_rl_documents_have_the_rl_shape():
    docs = [_parse(d) for d in _rl(300, seed=13, profile="small", edge_share=0.0)]
    roles, slot_counts, warranties, exceptions = Counter(), Counter(), 0, 0
    for root in docs:
        assert root.tag == "Provenir"
        app = root.find(RL_APPLICATION)
        assert app is not None and root.find("Request/CustData/application") is None
        contacts = app.findall("IL_contact")
        assert contacts[0].get("ac_role_tp_c") == "PR"
        roles.update(c.get("ac_role_tp_c").upper() for c in contacts)
        for tag in ("IL_collateral", "IL_pricing", "IL_backend_policies", "IL_app_decision_info", "IL_scores",
                    "IL_flags", "IL_credit_summary"):
            assert len(app.findall(tag)) == 1, tag
        collateral = app.find("IL_collateral")
        slots = [n for n in range(1, 5) if collateral.get(f"coll{n}_make")]
        assert slots == list(range(1, len(slots) + 1)) and 1 <= len(slots) <= 4
        slot_counts[len(slots)] += 1
        policies = app.find("IL_backend_policies")
        warranties += any(policies.get(f"{p}_company") for p in ("gap", "cl", "rsa", "svc", "tw", "dis"))
        decision = app.find("IL_app_decision_info")
        exceptions += any(decision.get(name, "").strip() not in ("", "NONE", "null")
                          for name in decision.keys() if name.startswith("override_") and name != "override_notes")
    assert roles["PR"] == 300 and 90 <= roles["SEC"] <= 180
    assert set(slot_counts) == {1, 2, 3, 4} and slot_counts[1] > slot_counts[2] > slot_counts[3] > slot_counts[4]
    assert 150 <= warranties <= 270
    assert 50 <= exceptions <= 150
    assert sum(1 for root in docs for _ in root.iter("IL_contact_address")) > 400
    assert sum(1 for root in docs for _ in root.iter("IL_contact_employment")) > 350


def test_realistic_rl_documents_average_about_90_kb_with_12_kb_of_business_data():
    docs = _rl(600, seed=9, profile="realistic", edge_share=0.0)
    sizes = [len(d.to_bytes()) for d in docs]
    assert 80_000 <= sum(sizes) / len(sizes) <= 100_000
    business = [d.xml.index("</IL_application>") - d.xml.index("<IL_application ") for d in docs]
    assert 10_000 <= sum(business) / len(business) <= 14_000
    assert max(business) <= 40_000
    assert all(d.xml.index("</CustData>") < d.xml.index("<Reports") for d in docs)
    assert max(sizes) < 1_300_000


def test_run_generate_writes_rl_documents_to_the_rl_source_table(tmp_path):
    stats = run_generate(30, f"sqlite:///{tmp_path}/rl.db", seed=3, profile="small", product="rl")
    assert stats["product"] == "rl" and stats["table"] == "app_xml_rl" and stats["count"] == 30
    with sqlite3.connect(tmp_path / "rl.db") as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"app_xml_rl"}
        assert connection.execute("SELECT COUNT(*) FROM app_xml_rl").fetchone()[0] == 30
    assert run_generate(5, f"sqlite:///{tmp_path}/cc.db", profile="small")["table"] == "app_xml"
