"""A small contract and a folder of documents with planted changed values, for the data-quality tests.

Planted per record key k (1..count), each at most once per document:
  * ``app_base.name`` longer than its data_length 5            when k % 3 == 0  (kind ``truncated``)
  * ``app_base.amount`` not a number (an int column)            when k % 4 == 0
  * ``app_base.born`` not a date (a date column)                when k % 5 == 0
  * ``app_base.flag`` a code missing from the char_to_bit map   when k % 7 == 0
The kinds of the last three are whatever the mapper calls them (their names are being settled);
the tests count them per table.column. Keyless rejects: a 0-byte file, a cut-off file and a
document without its ``ID``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.helpers import TargetReader

CONTRACT = {
    "xml_root_element": "Provenir",
    "xml_application_path": "/Provenir/Request/CustData/application",
    "source_table": "app_xml",
    "source_column": "app_xml",
    "target_schema": "qual",
    "table_insertion_order": ["app_base", "processing_log"],
    "bit_conversions": {"char_to_bit": {"Y": 1, "N": 0}},
    "mappings": [
        {"xml_path": "/Provenir/Request", "xml_attribute": "ID", "target_table": "app_base",
         "target_column": "app_id", "data_type": "int", "mapping_type": ["identity_insert"],
         "nullable": False, "required": True},
        {"xml_path": "/Provenir/Request/CustData/application", "xml_attribute": "name",
         "target_table": "app_base", "target_column": "name", "data_type": "string", "data_length": 5,
         "nullable": True},
        {"xml_path": "/Provenir/Request/CustData/application", "xml_attribute": "amount",
         "target_table": "app_base", "target_column": "amount", "data_type": "int", "nullable": True},
        {"xml_path": "/Provenir/Request/CustData/application", "xml_attribute": "born",
         "target_table": "app_base", "target_column": "born", "data_type": "date", "nullable": True},
        {"xml_path": "/Provenir/Request/CustData/application", "xml_attribute": "flag",
         "target_table": "app_base", "target_column": "flag", "data_type": "bit",
         "mapping_type": ["char_to_bit"], "nullable": True},
    ],
}

PLANTS = {"app_base.name": 3, "app_base.amount": 4, "app_base.born": 5, "app_base.flag": 7}
"""table.column -> every k-th record key has a changed value there."""

SECRET_NAME = "Bartholomew-Quality"
"""The overlong name planted (a value that must never show in logs, tables or reports)."""

REJECT_FILES = ("z_empty.xml", "z_cut.xml", "z_nokey.xml")


def write_contract(folder: Path) -> Path:
    path = folder / "quality_contract.json"
    path.write_text(json.dumps(CONTRACT), encoding="utf-8")
    return path


def document(key: int | None) -> str:
    name = SECRET_NAME if key and key % 3 == 0 else "Ann"
    amount = "12x" if key and key % 4 == 0 else "12"
    born = "not-a-date" if key and key % 5 == 0 else "2000-01-02"
    flag = "Q" if key and key % 7 == 0 else "Y"
    id_attr = f' ID="{key}"' if key is not None else ""
    return (f'<?xml version="1.0"?><Provenir><Request{id_attr}><CustData><application name="{name}" '
            f'amount="{amount}" born="{born}" flag="{flag}"/></CustData></Request></Provenir>')


def write_corpus(folder: Path, count: int, rejects: bool = True) -> Path:
    """``count`` documents (keys 1..count) and, with ``rejects``, the three keyless failures."""
    folder.mkdir(parents=True, exist_ok=True)
    for key in range(1, count + 1):
        (folder / f"doc{key:05d}.xml").write_text(document(key), encoding="utf-8")
    if rejects:
        (folder / "z_empty.xml").write_bytes(b"")
        (folder / "z_cut.xml").write_text(document(10**6)[:70], encoding="utf-8")
        (folder / "z_nokey.xml").write_text(document(None), encoding="utf-8")
    return folder


def planted(count: int, keys=None) -> dict[str, set[int]]:
    """table.column -> the record keys (among ``keys``, default 1..count) with a changed value there."""
    keys = range(1, count + 1) if keys is None else keys
    return {where: {key for key in keys if key % every == 0} for where, every in PLANTS.items()}


def quality_rows(target_url: str) -> list[tuple]:
    """xmlshred_quality rows: (run_id, writer, table_name, column_name, kind, count, example_keys)."""
    return _engine_rows(target_url, "xmlshred_quality",
                        'run_id, writer, table_name, column_name, kind, "count", example_keys')


def _engine_rows(target_url: str, table: str, columns: str) -> list[tuple]:
    """``columns`` of every row of the engine table ``table`` in the contract's schema ``qual``."""
    reader = TargetReader(target_url)
    try:
        name = table if target_url.startswith("sqlite:") else f'"qual"."{table}"'
        return [tuple(row) for row in reader.connection.execute(f"SELECT {columns} FROM {name}").fetchall()]
    finally:
        reader.connection.close()


def totals_by_column(rows) -> Counter:
    """table.column -> count summed over runs, writers and kinds."""
    totals: Counter = Counter()
    for _run, _writer, table, column, _kind, count, _keys in rows:
        totals[f"{table}.{column}"] += int(count)
    return totals


def kinds_by_column(rows) -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for _run, _writer, table, column, kind, _count, _keys in rows:
        kinds.setdefault(f"{table}.{column}", set()).add(str(kind))
    return kinds


def reject_rows(target_url: str) -> list[tuple]:
    """xmlshred_rejects rows: (source_ref, stage, reason, run_id)."""
    return _engine_rows(target_url, "xmlshred_rejects", "source_ref, stage, reason, run_id")
