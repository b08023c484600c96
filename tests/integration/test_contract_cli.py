"""A typo cannot change data: validate-contract and migrate on misspelt or strict contracts."""

from __future__ import annotations

import json
import sqlite3

from tests.helpers import EXAMPLE_CONTRACT, make_source, pipeline_config, run_cli


def _with_comment(tmp_path):
    contract = json.loads(EXAMPLE_CONTRACT.read_text())
    contract["comments"] = "reviewed by the risk team"
    path = tmp_path / "commented.json"
    path.write_text(json.dumps(contract))
    return path


def test_a_misspelt_attribute_key_is_refused_with_did_you_mean(tmp_path):
    contract = json.loads(EXAMPLE_CONTRACT.read_text())
    index, mapping = next((i, m) for i, m in enumerate(contract["mappings"])
                          if m.get("target_column") == "entry_date")
    mapping["xml_atribute"] = mapping.pop("xml_attribute")
    broken = tmp_path / "typo.json"
    broken.write_text(json.dumps(contract))
    result = run_cli("validate-contract", str(broken))
    assert result.returncode == 2, result.stdout
    assert f"mappings[{index}] (app_base.entry_date): unknown key 'xml_atribute' (did you mean " \
           "'xml_attribute'?)" in result.stderr
    assert "valid" not in result.stdout
    assert "every record gets the run clock" in result.stderr


def test_strict_makes_a_warning_a_problem(tmp_path):
    commented = _with_comment(tmp_path)
    relaxed = run_cli("validate-contract", str(commented))
    assert relaxed.returncode == 0, relaxed.stderr
    assert "warning:" in relaxed.stderr and "'comments'" in relaxed.stderr
    strict = run_cli("validate-contract", "--strict", str(commented))
    assert strict.returncode == 2
    assert "1 problem(s)" in strict.stderr and "'comments'" in strict.stderr
    assert run_cli("validate-contract", "--strict", str(EXAMPLE_CONTRACT)).returncode == 0


def test_migrate_honours_contract_strict(tmp_path):
    make_source(tmp_path / "src.db", 3, seed=5)
    target = tmp_path / "t.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}",
                             contract__path=str(_with_comment(tmp_path)), contract__strict=True)
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "'comments'" in result.stderr and "an error under strict" in result.stderr
    if target.exists():  # stopped before any record was read
        connection = sqlite3.connect(target)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        connection.close()
        assert "app_base" not in tables
