"""``xmlshred tune``: real runs into a scratch target; the given target is never touched.

Small samples and budgets keep these quick; what is checked is what tune promises (a table, a
recommendation, the target byte-identical, no scratch left, a config migrate accepts), never how
fast anything went.
"""

from __future__ import annotations

import hashlib
import re
import signal
import sqlite3

import pytest

from tests.helpers import (
    PauseGate,
    make_source,
    pipeline_config,
    run_cli,
    server_connection,
    start_cli,
    wait_until,
)
from xmlshred.db.spec import libpq_url


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _config_with_comments(tmp_path, source: str, target: str):
    config = pipeline_config(tmp_path, source, target)
    text = config.read_text()
    text = text.replace("[actors]", "# tuned by hand once\n[actors]", 1)
    text = re.sub(r"(?m)^(mappers = .*)$", r"\1  # keep an eye on this", text, count=1)
    config.write_text(text)
    return config


def _tune_output_checks(stdout: str) -> None:
    assert "rec/min (median ± spread)" in stdout and "CPU ms/rec" in stdout and "flush p95" in stdout
    assert "recommended" in stdout and "[actors]" in stdout and "[flush]" in stdout
    # every candidate in the table ran at least twice
    runs = [int(match) for match in re.findall(r"^mappers=\S+ batch=\S+ in_flight=\S+ flush=\S+(?: \*)?\s+"
                                               r"[\d,]+ ± [\d,]+\s+(\d+)", stdout, re.MULTILINE)]
    assert runs and all(count >= 2 for count in runs), stdout


def test_tune_into_sqlite_leaves_the_target_byte_identical_and_writes_a_config_migrate_takes(tmp_path):
    make_source(tmp_path / "src.db", 150, profile="realistic", seed=61)
    target = tmp_path / "t.db"
    config = _config_with_comments(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    assert run_cli("migrate", "--config", str(config), "--limit", "40").returncode in (0, 3)
    before = _digest(target)
    metrics_before = (tmp_path / "metrics.jsonl").read_text()

    result = run_cli("tune", "--config", str(config), "--sample", "100", "--budget-s", "20",
                     "--write", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    _tune_output_checks(result.stdout)
    assert _digest(target) == before  # the given target was never opened
    assert (tmp_path / "metrics.jsonl").read_text() == metrics_before  # nor the run's metrics file
    scratch = re.search(r"scratch SQLite files in (\S+);", result.stdout).group(1)
    assert not (tmp_path / scratch).exists() and not __import__("os").path.exists(scratch)

    text = config.read_text()
    assert "# tuned by hand once" in text and "# keep an eye on this" in text  # comments kept
    recommended = re.search(r"recommended.*?: (mappers=\S+ batch=\S+ in_flight=\S+ flush=\S+)", result.stdout)
    mappers, batch, in_flight, records, rows = re.findall(r"\d+", recommended.group(1))
    assert re.search(rf"(?m)^mappers = {mappers}\b", text) and re.search(rf"(?m)^batch_size = {batch}\b", text)
    assert re.search(rf"(?m)^max_in_flight = {in_flight}\b", text)
    assert re.search(rf"(?m)^max_records = {records}\b", text) and re.search(rf"(?m)^max_rows = {rows}\b", text)
    rerun = run_cli("migrate", "--config", str(config))
    assert rerun.returncode in (0, 3), rerun.stderr[-3000:]
    with sqlite3.connect(target) as connection:
        assert connection.execute("SELECT COUNT(*) FROM processing_log").fetchone()[0] == 150


def _schemas(url: str) -> set[str]:
    connection = server_connection(url)
    try:
        return {row[0] for row in connection.execute("SELECT schema_name FROM information_schema.schemata")}
    finally:
        connection.close()


def _table_digest(url: str, schema: str) -> dict:
    connection = server_connection(url)
    try:
        tables = [row[0] for row in connection.execute(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'").fetchall()]
        return {table: connection.execute(
            f"SELECT COUNT(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) "
            f'FROM "{schema}"."{table}" x').fetchone()[:2] for table in tables}
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["odbc", "psycopg"])
def test_tune_into_postgresql_uses_a_scratch_schema_and_drops_it(tmp_path, pg_database, path):
    if path == "psycopg":
        pytest.importorskip("psycopg")
    url = libpq_url(pg_database) if path == "psycopg" else f"odbc:{pg_database}"
    make_source(tmp_path / "src.db", 120, profile="realistic", seed=62)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", url)
    assert run_cli("migrate", "--config", str(config), "--limit", "30").returncode in (0, 3)
    before = _table_digest(url, "dbo")
    assert before["processing_log"][0] == 30
    result = run_cli("tune", "--config", str(config), "--sample", "80", "--budget-s", "15")
    assert result.returncode == 0, result.stderr[-3000:]
    _tune_output_checks(result.stdout)
    scratch = re.search(r"scratch schema (xmlshred_tune_[0-9a-f]+)", result.stdout).group(1)
    assert scratch not in _schemas(url) and not any(name.startswith("xmlshred_tune_") for name in _schemas(url))
    assert _table_digest(url, "dbo") == before


@pytest.mark.postgres
def test_ctrl_c_stops_tune_and_drops_the_scratch_schema(tmp_path, pg_database):
    pytest.importorskip("psycopg")
    url = libpq_url(pg_database)
    make_source(tmp_path / "src.db", 120, profile="realistic", seed=63)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", url)
    gate = PauseGate(tmp_path / "pause", allowance=0)  # the first trial run's workers wait
    process = start_cli("tune", "--config", str(config), "--sample", "80", "--budget-s", "60", env=gate.env)
    try:
        wait_until(lambda: any(name.startswith("xmlshred_tune_") for name in _schemas(url)),
                   "the scratch schema to be created")
        process.send_signal(signal.SIGINT)
        gate.release()
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr[-3000:]
    assert "tune interrupted" in stderr
    assert not any(name.startswith("xmlshred_tune_") for name in _schemas(url))
