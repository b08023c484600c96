"""A contract's fingerprint: a hash of what in it can change rows.

Two contracts that differ only in key order, whitespace, ``description`` (or
any other key the loader ignores with a warning) have one fingerprint; a
change to anything that can change a row (a mapping, an enum, a relationship,
the tables section, the insertion order ...) gives another. processing_log
records, per record, the fingerprint of the contract that produced its rows,
so ``migrate --reprocess stale`` can find the records another contract wrote.

The fingerprint is ``sha256:`` and 16 hex digits (64 bits) of the canonical
JSON of the kept content, prefixed with a format version so a later change of
the normalisation cannot collide with today's values.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

FORMAT = "xmlshred-contract-fingerprint-v1"
EMPTY = ""
"""The fingerprint of rows written before fingerprints existed: differs from every contract's."""

TOP_LEVEL_KEYS = frozenset({
    "xml_root_element", "xml_application_path", "source_table", "source_column",
    "source_application_table", "target_schema", "table_insertion_order",
    "element_filtering", "mappings", "relationships", "enum_mappings",
    "bit_conversions", "tables",
})
"""Top-level keys whose content can change rows (``description`` and unknown keys cannot)."""
MAPPING_KEYS = frozenset({
    "xml_path", "xml_attribute", "target_table", "target_column", "data_type",
    "data_length", "nullable", "required", "default_value",
    "exclude_default_when_record_empty", "mapping_type", "enum_name", "expression",
})
RELATIONSHIP_KEYS = frozenset({
    "parent_table", "child_table", "foreign_key_column", "xml_parent_path", "xml_child_path",
})
FILTER_RULE_KEYS = frozenset({"element_type", "xml_parent_path", "xml_child_path", "required_attributes"})
TABLE_OPTION_KEYS = frozenset({"primary_key", "on_conflict"})

_LIST_ITEM_KEYS = {"mappings": MAPPING_KEYS, "relationships": RELATIONSHIP_KEYS}


def _kept(mapping: dict, keys: frozenset[str]) -> dict:
    return {key: value for key, value in mapping.items() if key in keys}


def normalized(data: dict[str, Any]) -> dict[str, Any]:
    """The part of a contract's JSON object that can change rows (comments and unknown keys dropped)."""
    result = _kept(data, TOP_LEVEL_KEYS)
    for name, keys in _LIST_ITEM_KEYS.items():
        if isinstance(result.get(name), list):
            result[name] = [_kept(item, keys) if isinstance(item, dict) else item for item in result[name]]
    filtering = result.get("element_filtering")
    if isinstance(filtering, dict):
        rules = filtering.get("filter_rules")
        result["element_filtering"] = {"filter_rules": [
            _kept(rule, FILTER_RULE_KEYS) if isinstance(rule, dict) else rule for rule in rules
        ] if isinstance(rules, list) else rules}
    tables = result.get("tables")
    if isinstance(tables, dict):
        result["tables"] = {name: _kept(options, TABLE_OPTION_KEYS) if isinstance(options, dict) else options
                            for name, options in tables.items()}
    return result


def contract_fingerprint(data: dict[str, Any]) -> str:
    """The fingerprint of a contract given as its parsed JSON object."""
    text = json.dumps([FORMAT, normalized(data)], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def fingerprint_file(path: str | Path) -> str:
    """The fingerprint of the contract file at ``path``.

    Raises OSError when it cannot be read and ValueError (json.JSONDecodeError)
    when it is not JSON; callers load the contract first, which reports both.
    """
    with open(path, encoding="utf-8-sig") as handle:
        return contract_fingerprint(json.load(handle))
