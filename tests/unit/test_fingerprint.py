"""Contract fingerprints: what changes rows changes them; comments, key order and whitespace do not."""

from __future__ import annotations

import copy
import json

from tests.helpers import EXAMPLE_CONTRACT
from xmlshred.contract import contract_fingerprint, fingerprint_file, loader
from xmlshred.contract import fingerprint as fp
from xmlshred.loading.reprocess import Reprocess
from xmlshred.targets.processing_log import Settled


def _data() -> dict:
    return json.loads(EXAMPLE_CONTRACT.read_text(encoding="utf-8"))


def test_comments_key_order_and_whitespace_do_not_count(tmp_path):
    data = _data()
    base = contract_fingerprint(data)
    assert base.startswith("sha256:") and len(base) == len("sha256:") + 16
    shuffled = json.loads(json.dumps(data, sort_keys=True))
    shuffled["mappings"] = [dict(reversed(list(m.items()))) for m in shuffled["mappings"]]
    commented = copy.deepcopy(data)
    commented["description"] = "another comment"
    commented["mappings"][0]["description"] = "why this mapping"
    commented["relationships"][0]["description"] = "a note"
    commented["tables"]["app_base"]["description"] = "a note"
    commented["my_notes"] = ["an unknown key the loader ignores with a warning"]
    for variant in (shuffled, commented):
        assert contract_fingerprint(variant) == base
    spaced = tmp_path / "spaced.json"
    spaced.write_text(json.dumps(data, indent=7), encoding="utf-8")
    assert fingerprint_file(spaced) == fingerprint_file(EXAMPLE_CONTRACT) == base


def test_anything_that_changes_rows_changes_it():
    data = _data()
    base = contract_fingerprint(data)
    changes = []
    for change in (
        lambda d: d["mappings"][3].update(data_length=7),
        lambda d: d["mappings"].reverse(),  # column order
        lambda d: d["enum_mappings"][next(iter(d["enum_mappings"]))].update({"zz": 1}),
        lambda d: d["relationships"][0].update(foreign_key_column="x_id"),
        lambda d: d["tables"]["app_base"].update(on_conflict="skip"),
        lambda d: d["table_insertion_order"].reverse(),
        lambda d: d["element_filtering"]["filter_rules"][0].update(element_type="other"),
    ):
        variant = copy.deepcopy(data)
        change(variant)
        changes.append(contract_fingerprint(variant))
    assert base not in changes and len(set(changes)) == len(changes)


def test_the_kept_keys_are_the_loaders_keys_but_description():
    """A key the loader learns must be added to the fingerprint (or be a comment)."""
    assert fp.TOP_LEVEL_KEYS == loader._TOP_LEVEL_KEYS - {"description"}
    assert fp.MAPPING_KEYS == loader._MAPPING_KEYS - {"description"}
    assert fp.RELATIONSHIP_KEYS == loader._RELATIONSHIP_KEYS - {"description"}
    assert fp.FILTER_RULE_KEYS == loader._FILTER_RULE_KEYS - {"description"}
    assert fp.TABLE_OPTION_KEYS == loader._TABLE_OPTION_KEYS - {"description"}


def test_reprocess_selection_by_mode():
    old, new = Settled("success", None, "r1", "sha256:old"), Settled("success", None, "r1", "sha256:new")
    before = Settled("success", None, "r0", "")
    failed = Settled("failed", "map", "r1", "sha256:new")
    stale = Reprocess("stale", "sha256:new")
    assert stale.wants(1, old) and stale.wants(1, before) and stale.wants(1, None)
    assert not stale.wants(1, new) and not stale.wants(1, failed)
    assert Reprocess("failed", "sha256:new").wants(1, failed) and not Reprocess("failed", "x").wants(1, new)
    assert all(Reprocess("all", "x").wants(1, entry) for entry in (old, new, failed, None))
    keys = Reprocess("keys", "x", frozenset({5}))
    assert keys.wants(5, new) and keys.wants(5, None) and not keys.wants(6, old) and not keys.wants(6, None)
    assert not Reprocess("failed", "x").replaces_rows and stale.replaces_rows
