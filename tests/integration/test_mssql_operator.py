"""The operator's commands against the SQL Server (TDS) target: the done-when of the SQL Server work.

Runs against the server of XMLSHRED_MSSQL_DSN (Babelfish here, see .ci/run), each test in a fresh
database (tests/conftest.py ``mssql_database``); skipped, saying so, without one.
"""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import (
    EXAMPLE_CONTRACT,
    ROOT,
    TargetReader,
    expected_tables,
    make_source,
    pipeline_config,
    read_summary,
    run_cli,
)

pytestmark = pytest.mark.mssql

RL_CONTRACT = ROOT / "examples" / "recreational_lending" / "contract.json"


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


def _error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if "| ERROR" in line]


def _counts(url: str, schema) -> dict[str, int]:
    reader = TargetReader(url)
    try:
        return {table.name: sum(reader.rows(schema, table).values()) for table in schema.tables} | {
            "processing_log": len(reader.log(schema))}
    finally:
        reader.close()


def _source(tmp_path, product: str, count: int):
    if product == "cc":
        docs = make_source(tmp_path / "source.db", count, seed=61, edge_share=0.1)
        return docs, EXAMPLE_CONTRACT
    from xmlshred.generator import SOURCE_TABLES, generate_documents
    from xmlshred.generator.writers import write_sqlite

    docs = list(generate_documents(count, seed=62, profile="small", edge_share=0.1, product="rl"))
    write_sqlite(tmp_path / "source.db", docs, table=SOURCE_TABLES["rl"])
    return docs, RL_CONTRACT


@pytest.mark.parametrize("product", ["cc", "rl"])
def test_init_db_and_migrate_give_sqlites_row_counts_and_a_rerun_writes_nothing(tmp_path, mssql_database, product):
    docs, contract = _source(tmp_path, product, 150)
    schema, _expected, ok, failed = expected_tables(contract, docs)
    counts = {}
    for kind, url in (("sqlite", f"sqlite:///{tmp_path / 'target.db'}"), ("mssql", f"odbc:{mssql_database}")):
        folder = tmp_path / kind
        folder.mkdir()
        config = pipeline_config(folder, f"sqlite:///{tmp_path / 'source.db'}", url, contract__path=str(contract))
        init = run_cli("init-db", "--config", str(config))
        assert init.returncode == 0, init.stderr[-3000:]
        first = run_cli("migrate", "--config", str(config))
        assert first.returncode == 3, first.stderr[-3000:]  # the corpus has failing records
        counts[kind] = _counts(url, schema)
        second = run_cli("migrate", "--config", str(config))
        assert second.returncode == 0, second.stderr[-3000:]
        summary = read_summary(folder / "metrics.jsonl")
        assert summary.records_ok == 0 and summary.records_failed == 0  # the rerun wrote nothing
        assert _counts(url, schema) == counts[kind]
    assert counts["mssql"] == counts["sqlite"]
    assert counts["mssql"]["processing_log"] == len(ok) + len(failed) and sum(counts["mssql"].values()) > len(ok)
    print(f"\n[{product} into TDS] rows per table equal SQLite's: {counts['mssql']}")


def test_dry_run_creates_nothing_on_sql_server_and_estimates_the_data_it_would_add(tmp_path, mssql_database):
    import pyodbc

    make_source(tmp_path / "src.db", 30, seed=63, edge_share=0.2)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"odbc:{mssql_database}")
    result = run_cli("migrate", "--config", str(config), "--dry-run")
    assert result.returncode == 3, result.stderr[-3000:]
    _no_traceback(result)
    connection = pyodbc.connect(mssql_database, autocommit=True)
    try:
        tables = connection.execute("SELECT COUNT(*) FROM sys.tables").fetchone()[0]
    finally:
        connection.close()
    assert tables == 0
    estimate = [line for line in result.stderr.splitlines() if "this run would add about" in line]
    assert len(estimate) == 1, result.stderr[-3000:]
    assert "30 sampled records" in estimate[0] and "to 30 records" in estimate[0]
    assert "Express" not in estimate[0] or "Express" in estimate[0].split("target is SQL Server ")[1]


def test_a_login_that_may_not_write_is_refused_with_one_line(tmp_path, mssql_database):
    """The write probe fails (no CREATE permission): one ERROR line saying what the server said and
    what to do; no traceback, and no second error from rolling back outside a transaction."""
    import pyodbc

    make_source(tmp_path / "src.db", 10, seed=64)
    login, password = f"xs_ro_{uuid.uuid4().hex[:8]}", "Ro_Pw_1234x"
    database = next(p.split("=", 1)[1] for p in mssql_database.split(";") if p.upper().startswith("DATABASE="))
    admin = pyodbc.connect(mssql_database, autocommit=True)
    admin.execute(f"CREATE LOGIN [{login}] WITH PASSWORD = '{password}'")
    admin.execute(f"CREATE USER [{login}] FOR LOGIN [{login}]")
    admin.close()
    dsn = ";".join(part for part in mssql_database.split(";")
                   if part and not part.upper().startswith(("UID=", "PWD="))) + f";UID={login};PWD={password}"
    try:
        config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"odbc:{dsn}")
        result = run_cli("migrate", "--config", str(config))
    finally:
        admin = pyodbc.connect(mssql_database.replace(f"DATABASE={database}", "DATABASE=master"), autocommit=True)
        for statement in (f"USE [{database}]", f"DROP USER [{login}]", f"DROP LOGIN [{login}]"):
            try:
                admin.execute(statement)
            except pyodbc.Error:
                pass
        admin.close()
    assert result.returncode == 1, result.stderr[-3000:]
    _no_traceback(result)
    errors = _error_lines(result)
    assert len(errors) == 1, result.stderr[-3000:]
    assert "refuses writes" in errors[0] and "grant this login CREATE" in errors[0] and "PWD=***" in errors[0]
    assert password not in result.stderr
    assert "ROLLBACK" not in result.stderr


def test_report_reads_runs_and_failures_from_the_sql_server_target(tmp_path, mssql_database):
    make_source(tmp_path / "src.db", 40, seed=65, edge_share=0.3)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"odbc:{mssql_database}")
    assert run_cli("migrate", "--config", str(config)).returncode == 3
    report = run_cli("report", "--config", str(config))
    assert report.returncode == 0, report.stderr[-3000:]
    _no_traceback(report)
    assert "Runs (1)" in report.stdout and "mssql:" in report.stdout and "PWD=***" in report.stdout
    assert "whole target" in report.stdout and "failed" in report.stdout
