"""The command line as users call it: real subprocesses, real files."""

from __future__ import annotations

import json
import sqlite3

from tests.helpers import EXAMPLE_CONTRACT, make_source, pipeline_config, run_cli


def test_validate_contract_accepts_the_example_contract():
    result = run_cli("validate-contract", str(EXAMPLE_CONTRACT))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_validate_contract_lists_every_problem_and_exits_2(tmp_path):
    contract = json.loads(EXAMPLE_CONTRACT.read_text())
    contract["mappings"][3]["data_type"] = "integr"
    contract["mappings"][7]["mapping_type"] = ["enumm"]
    contract["mappings"][9]["target_column"] = "bad-name"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(contract))
    result = run_cli("validate-contract", str(broken))
    assert result.returncode == 2
    assert "mappings[3]" in result.stderr and "did you mean 'int'" in result.stderr
    assert "mappings[7]" in result.stderr and "did you mean 'enum'" in result.stderr
    assert "mappings[9]" in result.stderr and "bad-name" in result.stderr


def test_generate_writes_a_sqlite_source(tmp_path):
    result = run_cli("generate", "--count", "25", "--out", f"sqlite:///{tmp_path / 'src.db'}",
                     "--profile", "small", "--seed", "3")
    assert result.returncode == 0, result.stderr
    connection = sqlite3.connect(tmp_path / "src.db")
    assert connection.execute("SELECT COUNT(*) FROM app_xml").fetchone()[0] == 25
    connection.close()


def test_init_db_creates_tables_and_is_idempotent(tmp_path):
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 't.db'}")
    for _ in range(2):
        result = run_cli("init-db", "--config", str(config))
        assert result.returncode == 0, result.stderr
    connection = sqlite3.connect(tmp_path / "t.db")
    tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    connection.close()
    assert {"app_base", "app_contact_base", "processing_log"} <= tables


def test_report_after_a_run_shows_the_run_and_its_failures(tmp_path):
    make_source(tmp_path / "src.db", 60, edge_share=0.3, seed=8)
    target = f"sqlite:///{tmp_path / 't.db'}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", target)
    migrate = run_cli("migrate", "--config", str(config))
    assert migrate.returncode == 3, migrate.stderr[-2000:]
    connection = sqlite3.connect(tmp_path / "t.db")
    failed_by_stage = dict(connection.execute(
        "SELECT stage, COUNT(*) FROM processing_log WHERE status = 'failed' GROUP BY stage").fetchall())
    connection.close()
    report = run_cli("report", "--config", str(config), "--target", target)
    assert report.returncode == 0, report.stderr
    assert "Runs (1)" in report.stdout
    for stage, count in failed_by_stage.items():
        assert f"{stage}: {count}" in report.stdout


def test_bad_flag_value_is_a_usage_error():
    result = run_cli("migrate", "--mappers", "lots")
    assert result.returncode == 2


def test_a_plain_database_path_as_source_means_its_table(tmp_path):
    make_source(tmp_path / "src.db", 20, seed=12)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}", f"sqlite:///{tmp_path / 't.db'}")
    result = run_cli("migrate", "--config", str(config), "--source", str(tmp_path / "src.db"))
    assert result.returncode == 0, result.stderr[-2000:]
    connection = sqlite3.connect(tmp_path / "t.db")
    assert connection.execute("SELECT COUNT(*) FROM processing_log WHERE status='success'").fetchone()[0] == 20
    connection.close()
