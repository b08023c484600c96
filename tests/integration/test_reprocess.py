"""migrate --reprocess stale|failed|all|keys:FILE against real targets (SQLite file and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import importlib.util
import os

import pytest

from tests.helpers import (
    EXAMPLE_CONTRACT,
    TargetReader,
    assert_target_matches,
    expected_tables,
    run_cli,
)
from tests.reprocess_support import CHANGED_TABLE, changed_contract, execute, loaded_target, log_rows
from xmlshred.contract import fingerprint_file
from xmlshred.db.spec import parse_target_url
from xmlshred.targets import processing_log, runs_table


def _migrate(config, *args):
    return run_cli("migrate", "--config", str(config), *args)


def test_reprocess_stale_equals_a_fresh_load_with_the_new_contract(tmp_path, target_url):
    docs, config = loaded_target(tmp_path, target_url)
    changed = changed_contract(tmp_path)
    schema, old_expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    assert_target_matches(target_url, schema, old_expected, ok, failed)
    old_hash, new_hash = fingerprint_file(EXAMPLE_CONTRACT), fingerprint_file(changed)
    assert old_hash != new_hash
    assert {row[3] for row in log_rows(target_url, schema).values()} == {old_hash}

    # Without --reprocess a changed contract loads nothing again.
    plain = _migrate(config, "--contract", str(changed))
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert {row[3] for row in log_rows(target_url, schema).values()} == {old_hash}

    result = _migrate(config, "--contract", str(changed), "--reprocess", "stale")
    assert result.returncode in (0, 3), result.stderr[-3000:]
    _, new_expected, new_ok, new_failed = expected_tables(changed, docs)
    assert new_expected[CHANGED_TABLE] != old_expected[CHANGED_TABLE]  # the change touches rows
    assert_target_matches(target_url, schema, new_expected, new_ok, new_failed)
    log = log_rows(target_url, schema)
    assert {row[3] for row in log.values()} == {new_hash}
    assert all(row[1] == 2 for key, row in log.items() if key in ok)  # each loaded twice, once per contract

    # Nothing is stale any more: a second reprocess reads nothing again and changes nothing.
    again = _migrate(config, "--contract", str(changed), "--reprocess", "stale")
    assert again.returncode == 0, again.stderr[-3000:]
    assert log_rows(target_url, schema) == log
    assert_target_matches(target_url, schema, new_expected, new_ok, new_failed)


def test_reprocess_stale_on_sqlite_equals_an_actual_fresh_load(tmp_path):
    target = f"sqlite:///{tmp_path / 'target.db'}"
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    docs, config = loaded_target(tmp_path, target)
    changed = changed_contract(tmp_path)
    assert _migrate(config, "--contract", str(changed), "--reprocess", "stale").returncode in (0, 3)
    assert _migrate(config, "--contract", str(changed), "--target", fresh).returncode in (0, 3)
    schema = expected_tables(changed, docs)[0]
    left, right = TargetReader(target), TargetReader(fresh)
    try:
        for table in schema.tables:
            assert left.rows(schema, table) == right.rows(schema, table), table.name
    finally:
        left.close()
        right.close()


def test_reprocess_all_reloads_every_record_and_changes_nothing_with_the_same_contract(tmp_path, target_url):
    docs, config = loaded_target(tmp_path, target_url)
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    before = log_rows(target_url, schema)
    result = _migrate(config, "--reprocess", "all")
    assert result.returncode in (0, 3), result.stderr[-3000:]
    assert_target_matches(target_url, schema, expected, ok, failed)
    after = log_rows(target_url, schema)
    assert set(after) == set(before)
    assert all(after[key][1] == before[key][1] + 1 for key in after)  # every record read again
    assert len({row[2] for row in after.values()}) == 1  # all by this run


def test_reprocess_failed_retries_only_failed_records(tmp_path, target_url):
    docs, config = loaded_target(tmp_path, target_url, edge_share=0.3)
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    assert failed, "the corpus needs failing records"
    before = log_rows(target_url, schema)
    result = _migrate(config, "--reprocess", "failed")
    assert result.returncode == 3, result.stderr[-3000:]
    after = log_rows(target_url, schema)
    assert {key for key in after if after[key][1] == before[key][1] + 1} == set(failed)
    assert {key: after[key] for key in ok} == {key: before[key] for key in ok}
    assert_target_matches(target_url, schema, expected, ok, failed)


def test_reprocess_keys_reloads_exactly_the_listed_keys(tmp_path, target_url):
    docs, config = loaded_target(tmp_path, target_url, edge_share=0.0)
    changed = changed_contract(tmp_path)
    schema, old_expected, ok, _ = expected_tables(EXAMPLE_CONTRACT, docs)
    chosen = sorted(ok)[:5]
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# keys to reload\n" + "\n".join(str(key) for key in chosen) + "\n\n", encoding="utf-8")
    result = _migrate(config, "--contract", str(changed), "--reprocess", f"keys:{keys_file}")
    assert result.returncode == 0, result.stderr[-3000:]
    log = log_rows(target_url, schema)
    new_hash = fingerprint_file(changed)
    assert {key for key, row in log.items() if row[3] == new_hash} == set(chosen)
    # The listed records are wholly new, the others wholly old: the expected rows of a mix.
    picked = [doc for doc in docs if doc.key in chosen]
    others = [doc for doc in docs if doc.key not in chosen]
    _, new_part, _, _ = expected_tables(changed, picked)
    _, old_part, _, _ = expected_tables(EXAMPLE_CONTRACT, others)
    mixed = {name: new_part[name] + old_part[name] for name in new_part}
    assert_target_matches(target_url, schema, mixed, ok, {})


def test_reprocess_keys_file_that_is_not_keys_is_refused_before_anything_runs(tmp_path):
    target = f"sqlite:///{tmp_path / 'target.db'}"
    _, config = loaded_target(tmp_path, target, count=10)
    bad = tmp_path / "keys.txt"
    bad.write_text("12\nnot-a-key\n", encoding="utf-8")
    result = _migrate(config, "--reprocess", f"keys:{bad}")
    assert result.returncode == 2
    assert "line 2" in result.stderr and str(bad) in result.stderr
    assert "not-a-key" not in result.stderr  # the file's content is never echoed
    missing = _migrate(config, "--reprocess", f"keys:{tmp_path / 'nope.txt'}")
    assert missing.returncode == 2 and "nope.txt" in missing.stderr
    assert _migrate(config, "--reprocess", "everything").returncode == 2


def test_dry_run_reprocess_stale_counts_and_writes_nothing(tmp_path, target_url):
    docs, config = loaded_target(tmp_path, target_url)
    changed = changed_contract(tmp_path)
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    before = log_rows(target_url, schema)
    result = _migrate(config, "--contract", str(changed), "--reprocess", "stale", "--dry-run")
    assert result.returncode in (0, 3), result.stderr[-3000:]
    assert f"reprocess stale: {len(before)} records already loaded would be reloaded" in result.stderr
    assert log_rows(target_url, schema) == before
    assert_target_matches(target_url, schema, expected, ok, failed)


def test_reprocess_is_refused_when_the_records_are_held_by_other_tables(tmp_path, target_url):
    docs, config = loaded_target(tmp_path, target_url, count=10)
    renamed = changed_contract(tmp_path, rename={"app_pricing": "app_pricing_v2"})
    result = _migrate(config, "--contract", str(renamed), "--reprocess", "stale")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "--reprocess refused" in result.stderr and "app_pricing_v2" in result.stderr
    # Even once the new table exists (created by init-db), the earlier runs' tables say where the rows are.
    assert run_cli("init-db", "--config", str(config), "--contract", str(renamed)).returncode == 0
    again = _migrate(config, "--contract", str(renamed), "--reprocess", "stale")
    assert again.returncode == 2, again.stderr[-3000:]
    assert "app_pricing" in again.stderr and "does not write" in again.stderr


def test_a_target_loaded_before_fingerprints_gains_the_column_without_losing_a_row(tmp_path, target_url):
    """processing_log and xmlshred_runs made the old way (main's columns), with rows; then a run."""
    docs, config = loaded_target(tmp_path, target_url, count=20, edge_share=0.0)
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    before = log_rows(target_url, schema)
    reader = TargetReader(target_url)
    log_name = reader.name(schema, "processing_log")
    reader.close()
    # Rebuild both tables as main created them (its DDL, without the new columns), keeping every row.
    spec = parse_target_url(target_url)
    for table in (processing_log.log_table(schema.key_column), runs_table.runs_table()):
        old = dataclasses.replace(table, columns=table.columns[:7])
        name = reader.name(schema, table.name)
        columns = ", ".join(f'"{column.name}"' for column in old.columns)
        keep = reader.name(schema, table.name + "_keep")
        if spec.dialect.name == "mssql":  # T-SQL has no CREATE TABLE AS / RENAME TO
            execute(target_url, f"SELECT * INTO {keep} FROM {name}")
            execute(target_url, f"DROP TABLE {name}")
        else:
            execute(target_url, f'ALTER TABLE {name} RENAME TO "{table.name}_keep"')
        execute(target_url, spec.dialect.create_table(spec.dialect, schema.schema_name, old))
        execute(target_url, f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {keep}")
        execute(target_url, f"DROP TABLE {keep}")
    reader = TargetReader(target_url)
    try:
        cursor = reader.connection.execute(f"SELECT * FROM {log_name} WHERE 1 = 0")
        assert "contract_hash" not in [entry[0] for entry in cursor.description]
    finally:
        reader.close()

    more = tmp_path / "more.db"
    from tests.helpers import make_source

    extra = make_source(more, 5, seed=8, start_key=1000)
    result = run_cli("migrate", "--config", str(config), "--source", f"sqlite:///{more}")
    assert result.returncode == 0, result.stderr[-3000:]
    after = log_rows(target_url, schema)
    assert {key: row[:3] for key, row in after.items() if key in before} == \
        {key: row[:3] for key, row in before.items()}
    assert all(after[key][3] == "" for key in before)  # rows from before: the empty fingerprint
    assert {after[doc.key][3] for doc in extra} == {fingerprint_file(EXAMPLE_CONTRACT)}
    # The old rows read as stale: --reprocess stale reloads exactly them.
    stale = run_cli("migrate", "--config", str(config), "--reprocess", "stale")
    assert stale.returncode == 0, stale.stderr[-3000:]
    final = log_rows(target_url, schema)
    assert {row[3] for row in final.values()} == {fingerprint_file(EXAMPLE_CONTRACT)}
    assert all(final[key][1] == 2 for key in before) and all(final[doc.key][1] == 1 for doc in extra)
    assert_target_matches(target_url, schema, *_plus(expected, ok, failed, extra))


def _plus(expected, ok, failed, extra_docs):
    _, more, more_ok, more_failed = expected_tables(EXAMPLE_CONTRACT, extra_docs)
    return {name: expected[name] + more[name] for name in expected}, ok | more_ok, {**failed, **more_failed}


RAY_ADDRESS = os.environ.get("XMLSHRED_RAY_ADDRESS", "")


@pytest.mark.postgres
@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed: pip install -e '.[ray]'")
@pytest.mark.skipif(not RAY_ADDRESS, reason="no Ray cluster: start one with `.ci/ray-cluster start` "
                                            "and export XMLSHRED_RAY_ADDRESS")
def test_reprocess_stale_on_the_ray_engine_shards_by_key_range(tmp_path, pg_database):
    target_url = f"odbc:{pg_database}"
    docs, config = loaded_target(tmp_path, target_url, count=120, edge_share=0.05)
    changed = changed_contract(tmp_path)
    result = run_cli("migrate", "--config", str(config), "--contract", str(changed), "--reprocess", "stale",
                     "--engine", "ray", "--ray-address", RAY_ADDRESS, "--shards", "3", "--mappers", "1",
                     timeout=300)
    assert result.returncode in (0, 3), result.stderr[-3000:]
    assert "reprocess stale: 120 records already loaded will be reloaded" in result.stderr
    schema, expected, ok, failed = expected_tables(changed, docs)
    assert_target_matches(target_url, schema, expected, ok, failed)
    log = log_rows(target_url, schema)
    assert {row[3] for row in log.values()} == {fingerprint_file(changed)}
    assert len({row[2] for row in log.values()}) == 1  # one run id: the driver's, for every shard


def test_reprocess_stale_of_a_file_source_checks_keys_after_mapping(tmp_path):
    """Files: the keys are known only once mapped, so the writer selects what to reload."""
    folder = tmp_path / "feed"
    generated = run_cli("generate", "--count", "15", "--out", str(folder), "--profile", "small", "--seed", "3")
    assert generated.returncode == 0, generated.stderr[-2000:]
    target = f"sqlite:///{tmp_path / 'target.db'}"
    from tests.helpers import pipeline_config

    config = pipeline_config(tmp_path, str(folder), target)
    assert _migrate(config).returncode in (0, 3)
    changed = changed_contract(tmp_path)
    schema = expected_tables(EXAMPLE_CONTRACT, [])[0]
    before = log_rows(target, schema)
    result = _migrate(config, "--contract", str(changed), "--reprocess", "stale")
    assert result.returncode in (0, 3), result.stderr[-3000:]
    after = log_rows(target, schema)
    assert set(after) == set(before) and {row[3] for row in after.values()} == {fingerprint_file(changed)}
    assert run_cli("verify", "--config", str(config), "--contract", str(changed), "--all").returncode == 0
    again = _migrate(config, "--contract", str(changed), "--reprocess", "stale")
    assert again.returncode == 0 and log_rows(target, schema) == after  # nothing stale: nothing written


def test_validate_contract_prints_the_fingerprint_and_report_counts_records_per_fingerprint(tmp_path):
    target = f"sqlite:///{tmp_path / 'target.db'}"
    docs, config = loaded_target(tmp_path, target, count=12, edge_share=0.0)
    changed = changed_contract(tmp_path)
    keys = tmp_path / "keys.txt"
    keys.write_text("1\n2\n3\n", encoding="utf-8")
    assert _migrate(config, "--contract", str(changed), "--reprocess", f"keys:{keys}").returncode == 0
    shown = run_cli("validate-contract", str(changed))
    assert shown.returncode == 0 and f"fingerprint: {fingerprint_file(changed)}" in shown.stdout
    report = run_cli("report", "--config", str(config), "--contract", str(changed))
    assert report.returncode == 0, report.stderr[-2000:]
    section = report.stdout[report.stdout.index("Records by contract fingerprint"):]
    lines = section.splitlines()
    new_line = next(line for line in lines if line.startswith(fingerprint_file(changed)))
    old_line = next(line for line in lines if line.startswith(fingerprint_file(EXAMPLE_CONTRACT)))
    assert "(current)" in new_line and new_line.split()[-2:] == ["3", "0"]
    assert old_line.split()[-2:] == [str(len(docs) - 3), "0"]
    assert "--reprocess stale" in section
