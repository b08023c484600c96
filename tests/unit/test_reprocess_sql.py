"""The reprocess and verify statements: plain SQL every dialect takes, within parameter limits
(SQL Server's checked by parsing the T-SQL with sqlglot, as tests/unit/test_mssql_sql.py does)."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlglot
from sqlglot import exp

from tests.helpers import EXAMPLE_CONTRACT
from xmlshred.contract import MapOptions, compile_contract, load_contract, record_lineage
from xmlshred.contract.lineage import LineageError
from xmlshred.db.dialects import POSTGRESQL, SQLITE
from xmlshred.db.record_rows import delete_rows, key_chunk, select_rows
from xmlshred.targets import identify_driver
from xmlshred.targets.target import Replacement, replace_steps
from xmlshred.targets.upgrade import add_column
from xmlshred.vocab.lineage import Hop, RowPath
from xmlshred.vocab.schema import Column

FREETDS = identify_driver("FreeTDS").dialect
DIALECTS = {"sqlite": SQLITE, "postgres": POSTGRESQL, "tsql": FREETDS}


def _compiled():
    contract = load_contract(EXAMPLE_CONTRACT)
    return contract, compile_contract(contract, MapOptions(now=datetime(2025, 1, 1)))


def _parse(statement: str, read: str) -> exp.Expression:
    trees = sqlglot.parse(statement, read=read)
    assert len(trees) == 1, statement
    assert not [node for node in trees[0].walk() if isinstance(node, exp.Command)], statement
    return trees[0]


def test_lineage_reaches_child_tables_through_their_parent():
    contract, compiled = _compiled()
    lineage = record_lineage(contract, compiled.schema)
    assert lineage.path("app_contact_address").hops == (Hop("con_id", "app_contact_base"),)
    assert lineage.path("app_contact_employment").keyed_table == "app_contact_base"
    assert lineage.path("scores").hops == ()
    order = [path.table for path in lineage.delete_order]
    assert order.index("app_contact_address") < order.index("app_contact_base") < order.index("app_base")


def test_lineage_of_the_recreational_lending_contract():
    path = EXAMPLE_CONTRACT.parent.parent / "recreational_lending" / "contract.json"
    contract = load_contract(path)
    schema = compile_contract(contract, MapOptions(now=datetime(2025, 1, 1))).schema
    lineage = record_lineage(contract, schema)
    assert {p.table for p in lineage.paths} == {t.name for t in schema.tables}
    assert {p.table for p in lineage.paths if p.hops} == {"app_contact_address", "app_contact_employment"}


def test_lineage_refuses_a_table_it_cannot_reach():
    contract, compiled = _compiled()
    broken = contract.__class__.__new__(contract.__class__)
    for name in contract.__slots__ if hasattr(contract, "__slots__") else vars(contract):
        object.__setattr__(broken, name, getattr(contract, name))
    object.__setattr__(broken, "relationships", tuple(
        rel for rel in contract.relationships if rel.child_table != "app_contact_address"))
    with pytest.raises(LineageError, match="table=app_contact_address"):
        record_lineage(broken, compiled.schema)


@pytest.mark.parametrize("read", ["sqlite", "postgres", "tsql"])
def test_delete_and_select_statements_parse_in_each_dialect(read):
    contract, compiled = _compiled()
    dialect = DIALECTS[read]
    lineage = record_lineage(contract, compiled.schema)
    for path in lineage.paths:
        table = compiled.schema.table(path.table)
        delete = _parse(delete_rows(dialect, "dbo", path, "app_id", 3), read)
        assert isinstance(delete, exp.Delete)
        assert len(list(delete.find_all(exp.Placeholder))) == 3
        select = _parse(select_rows(dialect, "dbo", path, table, "app_id", 2), read)
        assert isinstance(select, exp.Select)
        assert len(select.expressions) == len(table.columns) + 1
        assert len(list(select.find_all(exp.Join))) == len(path.hops)
    child = delete_rows(dialect, "dbo", lineage.path("app_contact_address"), "app_id", 1)
    tree = _parse(child, read)
    assert tree.find(exp.Subquery) is not None or tree.find(exp.Select) is not None  # through the parent


def test_tsql_delete_steps_stay_within_the_parameter_limit():
    contract, compiled = _compiled()
    lineage = record_lineage(contract, compiled.schema)
    keys = tuple(range(1, 2600))
    steps = list(replace_steps(FREETDS, compiled.schema, Replacement(lineage, keys)))
    assert {step.kind for step in steps} == {"delete"}
    assert all(len(step.params) <= min(key_chunk(FREETDS), 2099) for step in steps)
    per_table: dict[str, list[int]] = {}
    for step in steps:
        _parse(step.sql, "tsql")
        per_table.setdefault(step.table, []).extend(step.params)
    assert set(per_table) == {table.name for table in compiled.schema.tables}
    assert all(sorted(params) == list(keys) for params in per_table.values())
    tables = [step.table for step in steps]
    assert tables.index("app_contact_address") < tables.index("app_contact_base")


def test_upgrade_adds_a_nullable_column_in_each_dialect():
    column = Column("contract_hash", "string", 64)
    for read, dialect in DIALECTS.items():
        statement = add_column(dialect, "dbo", "processing_log", column)
        assert "COLUMN" not in statement and "NULL" in statement
        if read != "sqlite":  # sqlglot's SQLite reader wants the COLUMN keyword; SQLite itself does not
            tree = _parse(statement, read)
            assert isinstance(tree, exp.Alter)


def test_a_path_with_two_hops_nests_two_subqueries():
    path = RowPath("grandchild", (Hop("b_id", "child"), Hop("c_id", "parent")))
    statement = delete_rows(SQLITE, None, path, "app_id", 2)
    assert statement == ('DELETE FROM "grandchild" WHERE "b_id" IN (SELECT "b_id" FROM "child" WHERE '
                         '"c_id" IN (SELECT "c_id" FROM "parent" WHERE "app_id" IN (?, ?)))')
