"""xmlshred verify against real targets: agree, a hand-changed cell, stale records, bad input."""

from __future__ import annotations

import pytest

from tests.helpers import TargetReader, run_cli
from tests.reprocess_support import changed_contract, execute, loaded_target, log_rows

PLANTED = "ZQPLANTEDQZ"
"""A value written by hand into the target; verify must never print it."""


def _verify(config, *args):
    return run_cli("verify", "--config", str(config), *args)


def _one_row(target_url: str, schema_table: str, column: str, where_column: str):
    reader = TargetReader(target_url)
    try:
        return reader.connection.execute(
            f'SELECT MIN("{where_column}") FROM {schema_table} WHERE "{column}" IS NOT NULL').fetchone()[0]
    finally:
        reader.close()


def test_verify_agrees_on_a_consistent_target_and_takes_no_lease(tmp_path, target_url):
    _, config = loaded_target(tmp_path, target_url)
    from tests.helpers import contract_schema

    schema = contract_schema()
    before = log_rows(target_url, schema)
    reader = TargetReader(target_url)
    runs = reader.connection.execute(f"SELECT COUNT(*) FROM {reader.name(schema, 'xmlshred_runs')}").fetchone()[0]
    reader.close()
    result = _verify(config, "--all")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "records: " in result.stdout and " 0 differ" in result.stdout
    for table in schema.tables:
        assert table.name in result.stdout
    assert log_rows(target_url, schema) == before
    reader = TargetReader(target_url)
    try:
        assert reader.connection.execute(
            f"SELECT COUNT(*) FROM {reader.name(schema, 'xmlshred_runs')}").fetchone()[0] == runs
    finally:
        reader.close()
    sample = _verify(config, "--sample", "5")
    assert sample.returncode == 0 and "5 records checked" in sample.stdout, sample.stdout


@pytest.mark.parametrize(("table", "column", "by"), [
    ("app_contact_address", "city", "con_id"),   # a child table reached through its parent
    ("app_pricing", "product_code", "app_id"),   # a table holding the record key
])
def test_verify_names_the_table_and_column_of_one_changed_cell(tmp_path, target_url, table, column, by):
    _, config = loaded_target(tmp_path, target_url, edge_share=0.0)
    from tests.helpers import contract_schema

    schema = contract_schema()
    reader = TargetReader(target_url)
    name = reader.name(schema, table)
    reader.close()
    link = _one_row(target_url, name, column, by)
    execute(target_url, f'UPDATE {name} SET "{column}" = ? WHERE "{by}" = ? AND "{column}" IS NOT NULL',
            (PLANTED[:3], link))
    keys = tmp_path / "differ.txt"
    result = _verify(config, "--all", "--write-keys", str(keys))
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    line = next(text for text in result.stdout.splitlines() if text.strip().startswith(table + " "))
    assert f"{column}=" in line, result.stdout
    other_lines = [text for text in result.stdout.splitlines()
                   if text.strip() and text.split()[0] in {t.name for t in schema.tables} and text.split()[0] != table]
    assert all(text.rstrip().endswith(" 0") for text in other_lines), result.stdout
    assert "1 wrong" in result.stdout, result.stdout
    assert PLANTED[:3] not in result.stdout + result.stderr
    written = [int(text) for text in keys.read_text().split()]
    assert len(written) == 1
    # Reload just that record, then everything agrees again.
    fix = run_cli("migrate", "--config", str(config), "--reprocess", f"keys:{keys}")
    assert fix.returncode == 0, fix.stderr[-3000:]
    assert _verify(config, "--all").returncode == 0


def test_verify_tells_stale_records_and_they_resync_with_reprocess_keys(tmp_path, target_url):
    _, config = loaded_target(tmp_path, target_url, edge_share=0.0)
    changed = changed_contract(tmp_path)
    keys = tmp_path / "stale.txt"
    result = _verify(config, "--contract", str(changed), "--all", "--write-keys", str(keys))
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert "city=" in result.stdout and " 0 wrong" in result.stdout, result.stdout
    listed = keys.read_text().split()
    assert listed and f"{len(listed)} stale" in result.stdout
    fix = run_cli("migrate", "--config", str(config), "--contract", str(changed), "--reprocess", f"keys:{keys}")
    assert fix.returncode == 0, fix.stderr[-3000:]
    after = _verify(config, "--contract", str(changed), "--all")
    assert after.returncode == 0, after.stdout


def test_verify_exit_2_on_bad_input(tmp_path):
    target = f"sqlite:///{tmp_path / 'target.db'}"
    _, config = loaded_target(tmp_path, target, count=5)
    bad = tmp_path / "keys.txt"
    bad.write_text("1\nx\n", encoding="utf-8")
    result = _verify(config, "--keys", str(bad))
    assert result.returncode == 2 and "line 2" in result.stderr
    missing = _verify(config, "--target", f"sqlite:///{tmp_path / 'nothing.db'}", "--all")
    assert missing.returncode == 2 and "processing_log" in missing.stderr
    assert not (tmp_path / "nothing.db").exists()
    assert _verify(config, "--sample", "0").returncode == 2
    assert _verify(config, "--all", "--sample", "3").returncode == 2  # argparse: one way to choose
