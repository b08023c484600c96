"""Helpers for the reprocess and verify tests: a changed contract, a loaded target, log reads."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import EXAMPLE_CONTRACT, TargetReader, make_source, pipeline_config, run_cli

CHANGED_TABLE, CHANGED_COLUMN = "app_contact_address", "city"
"""The one mapping the changed contract alters: a column of a child table that carries no record
key (its rows are reached through app_contact_base), so a reprocess must find them through the parent."""


def changed_contract(folder: Path, *, city_length: int = 3, rename: dict | None = None) -> Path:
    """The example contract with one mapping changed (city cut to ``city_length`` characters) and
    its description edited; ``rename`` also renames tables (old -> new) everywhere."""
    data = json.loads(EXAMPLE_CONTRACT.read_text(encoding="utf-8"))
    data["description"] = "changed for a test: the city is cut"
    for mapping in data["mappings"]:
        if mapping["target_table"] == CHANGED_TABLE and mapping.get("target_column") == CHANGED_COLUMN:
            mapping["data_length"] = city_length
            mapping["default_value"] = "MIS"[:city_length]
    if rename:
        text = json.dumps(data)
        for old, new in rename.items():
            text = text.replace(f'"{old}"', f'"{new}"')
        data = json.loads(text)
    path = folder / "changed_contract.json"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def loaded_target(tmp_path: Path, target_url: str, count: int = 40, edge_share: float = 0.1, **overrides):
    """A corpus in a SQLite source, loaded into ``target_url`` with the example contract.
    Returns (docs, config path)."""
    docs = make_source(tmp_path / "source.db", count, seed=7, edge_share=edge_share)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url, **overrides)
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode in (0, 3), result.stderr[-3000:]
    return docs, config


def log_rows(target_url: str, schema) -> dict[int, tuple]:
    """key -> (status, attempts, run_id, contract_hash) from processing_log."""
    reader = TargetReader(target_url)
    try:
        rows = reader.connection.execute(
            f'SELECT "{schema.key_column}", status, attempts, run_id, contract_hash '
            f"FROM {reader.name(schema, 'processing_log')}").fetchall()
        return {int(key): (status, int(attempts), run_id, contract_hash or "")
                for key, status, attempts, run_id, contract_hash in rows}
    finally:
        reader.close()


def execute(target_url: str, statement: str, params=()) -> None:
    reader = TargetReader(target_url)
    try:
        reader.connection.execute(statement, params)
        reader.connection.commit()
    finally:
        reader.close()
