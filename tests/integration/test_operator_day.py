"""Issue 13, "the operator's day": each finding as a user meets it, through the CLI as a subprocess.

Real files, real SQLite databases, the real PostgreSQL server for the ODBC
cases. Every test here failed on main before the change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.helpers import (
    EXAMPLE_CONTRACT,
    ROOT,
    make_source,
    pipeline_config,
    run_cli,
    write_config,
)
from xmlshred.reporting.summary import RunSummary

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \| ")


def _files_source(folder: Path, count: int, *, seed: int = 3, edge_share: float = 0.0) -> list:
    from xmlshred.generator.corpus import generate_documents
    from xmlshred.generator.writers import write_files

    docs = list(generate_documents(count, seed=seed, profile="small", edge_share=edge_share))
    write_files(folder, docs)
    return docs


def _tables(db: Path) -> set[str]:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        connection.close()


def _log_rows(db: Path, where: str = "1=1") -> list[tuple]:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return connection.execute(f"SELECT app_id, status, stage, reason, run_id FROM processing_log WHERE {where}"
                                  ).fetchall()
    finally:
        connection.close()


def _metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "ActorDeadError" not in result.stderr, result.stderr[-3000:]


def _error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if "| ERROR" in line]


# 1. a source that matches nothing is not a success -------------------------------------


@pytest.mark.parametrize("shape", ["missing folder glob", "glob without matches", "empty folder",
                                   "folder without xml", "missing sqlite file"])
def test_a_source_that_matches_nothing_exits_2_before_anything_is_created(tmp_path, shape):
    feeds = tmp_path / "feeds"
    if shape == "missing folder glob":
        source, named = f"files://{tmp_path}/doesnotexist/*.xml", f"{tmp_path}/doesnotexist"
    elif shape == "glob without matches":
        _files_source(feeds, 3)
        source, named = f"{feeds}/*.json", f"{feeds}/*.json"
    elif shape == "empty folder":
        feeds.mkdir()
        source, named = str(feeds), str(feeds)
    elif shape == "folder without xml":
        feeds.mkdir()
        (feeds / "readme.txt").write_text("not a document")
        source, named = f"files://{feeds}", str(feeds)
    else:
        source, named = f"sqlite:///{tmp_path / 'nope.db'}", str(tmp_path / "nope.db")
    target = tmp_path / "out" / "target.db"
    config = pipeline_config(tmp_path, source, f"sqlite:///{target}")
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 2, result.stderr[-3000:]
    assert named in result.stderr
    _no_traceback(result)
    assert not target.exists() and not target.parent.exists()  # nothing created
    assert not (tmp_path / "metrics.jsonl").exists()


def test_file_urls_follow_rfc_8089_and_a_relative_folder_is_a_plain_path(tmp_path):
    feeds = tmp_path / "srv" / "feeds"
    _files_source(feeds, 12)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = tmp_path / "t.db"
    # files:/// is absolute, whatever the current folder and the config's folder.
    config = pipeline_config(elsewhere, f"files://{feeds}/*.xml", f"sqlite:///{target}")
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(_log_rows(target, "status='success'")) == 12
    # files:relative is not a file URL: refused at once, saying how to write it.
    refused = run_cli("migrate", "--config", str(config), "--source", "files:srv/feeds")
    assert refused.returncode == 2
    assert "RFC 8089" in refused.stderr and "plain path" in refused.stderr
    # A relative folder as a plain path in the config is relative to the config's folder.
    config2 = write_config(tmp_path / "config.toml", {
        "source": {"url": "srv/feeds"}, "target": {"url": "sqlite:///t2.db"},
        "contract": {"path": str(EXAMPLE_CONTRACT)}, "log": {"metrics": "", "progress": "never"}})
    relative = run_cli("migrate", "--config", str(config2))
    assert relative.returncode == 0, relative.stderr[-3000:]
    assert len(_log_rows(tmp_path / "t2.db", "status='success'")) == 12


def test_a_source_with_nothing_to_do_exits_0_and_says_so(tmp_path):
    make_source(tmp_path / "src.db", 0)
    target = tmp_path / "t.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    empty = run_cli("migrate", "--config", str(config))
    assert empty.returncode == 0, empty.stderr[-3000:]
    assert "nothing to do" in empty.stderr and "holds no records" in empty.stderr
    assert not target.exists()

    make_source(tmp_path / "src2.db", 15, seed=4)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src2.db'}", f"sqlite:///{target}")
    assert run_cli("migrate", "--config", str(config)).returncode == 0
    rerun = run_cli("migrate", "--config", str(config))
    assert rerun.returncode == 0
    assert "nothing to do: all 15 records read were already done" in rerun.stderr


# 2. report with an ODBC target built from [target] pieces ----------------------------------


def _pieces(dsn: str) -> dict[str, str]:
    pairs = dict(part.split("=", 1) for part in dsn.split(";") if part)
    upper = {key.upper(): value for key, value in pairs.items()}
    return {"driver": upper["DRIVER"].strip("{}"), "server": upper["SERVER"], "port": upper.get("PORT", "5432"),
            "database": upper["DATABASE"], "username": upper["UID"], "password": upper["PWD"]}


@pytest.mark.postgres
def test_report_for_an_odbc_target_built_from_pieces(tmp_path, pg_database):
    make_source(tmp_path / "src.db", 30, seed=6, edge_share=0.3)
    pieces = _pieces(pg_database)
    password = pieces.pop("password")
    # port as a string: what the shipped `port = ""` leads people to write (point 8).
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", "odbc:",
                             **{f"target__{key}": value for key, value in pieces.items()})
    assert '"5432"' in config.read_text() or f'"{pieces["port"]}"' in config.read_text()
    env = {"XMLSHRED__TARGET__PASSWORD": password}
    migrate = run_cli("migrate", "--config", str(config), env=env)
    assert migrate.returncode == 3, migrate.stderr[-3000:]
    report = run_cli("report", "--config", str(config), env=env)
    assert report.returncode == 0, report.stderr[-3000:]
    _no_traceback(report)
    assert "Runs (1)" in report.stdout and "postgresql:" in report.stdout
    assert f"PWD={password}" not in report.stdout + report.stderr and "PWD=***" in report.stdout
    assert "whole target" in report.stdout and "failed" in report.stdout


# 3. report shows one target's truth ---------------------------------------------------------


def test_metrics_lines_carry_run_and_target_and_report_keeps_targets_apart(tmp_path):
    make_source(tmp_path / "src.db", 40, seed=7, edge_share=0.3)
    metrics = tmp_path / "metrics.jsonl"
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    config_a = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{a}",
                               log__report_every_s=0.2)
    assert run_cli("migrate", "--config", str(config_a)).returncode == 3
    assert run_cli("migrate", "--config", str(config_a), "--target", f"sqlite:///{b}").returncode == 3
    lines = _metrics(metrics)
    assert lines and all(line.get("run_id") and line.get("target") in (f"sqlite:{a}", f"sqlite:{b}")
                         for line in lines)
    run_a = next(line["run_id"] for line in lines if line["target"] == f"sqlite:{a}")
    run_b = next(line["run_id"] for line in lines if line["target"] == f"sqlite:{b}")

    report_a = run_cli("report", "--config", str(config_a))  # the configured target: a
    assert report_a.returncode == 0, report_a.stderr
    assert run_a in report_a.stdout and run_b not in report_a.stdout
    assert "Runs (1)" in report_a.stdout
    report_b = run_cli("report", "--config", str(config_a), "--target", f"sqlite:///{b}")
    assert run_b in report_b.stdout and run_a not in report_b.stdout


def test_report_after_a_no_op_rerun_still_shows_the_targets_failures(tmp_path):
    make_source(tmp_path / "src.db", 60, seed=8, edge_share=0.4)
    target = tmp_path / "t.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    assert run_cli("migrate", "--config", str(config)).returncode == 3
    failed = len(_log_rows(target, "status='failed'"))
    assert failed > 0
    assert run_cli("migrate", "--config", str(config)).returncode == 0  # everything skipped
    report = run_cli("report", "--config", str(config))
    assert report.returncode == 0, report.stderr
    whole = report.stdout.split("whole target")[1]
    assert f"{failed:,} failed" in whole
    assert "--retry-failed" in whole


# 4. a real dry run -----------------------------------------------------------------------------


def test_dry_run_creates_nothing_and_lists_what_would_fail(tmp_path):
    docs = make_source(tmp_path / "src.db", 50, seed=9, edge_share=0.4)
    target = tmp_path / "out" / "t.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    result = run_cli("migrate", "--config", str(config), "--dry-run")
    assert result.returncode == 3, result.stderr[-3000:]
    assert not target.exists() and not target.parent.exists()
    assert "DRY RUN" in result.stderr
    assert re.search(r"DRY RUN.*summary run=", result.stderr)
    summary = RunSummary.from_dict(
        [line for line in _metrics(tmp_path / "metrics.jsonl") if line["event"] == "summary"][-1])
    assert summary.dry_run is True
    run_id = summary.run_id
    dry_file = tmp_path / f"dry-run-{run_id}.jsonl"
    assert str(dry_file) in result.stderr
    rows = [json.loads(line) for line in dry_file.read_text().splitlines()]
    assert len(rows) == summary.records_failed > 0
    assert all(set(row) == {"key", "source", "stage", "reason"} and isinstance(row["key"], int) for row in rows)
    # never a field value: no name, SSN or e-mail of any document appears
    text = dry_file.read_text()
    for doc in docs:
        for value in re.findall(rb'(?:first_name|last_name|ssn|email)="([^"]{4,})"', doc.xml if isinstance(
                doc.xml, bytes) else doc.xml.encode()):
            assert value.decode(errors="ignore") not in text

    report = run_cli("report", "--config", str(config), "--run", run_id)
    assert report.returncode == 0, report.stderr
    assert "DRY RUN" in report.stdout and f"key={rows[0]['key']}" in report.stdout
    assert not target.exists()  # report created nothing either


@pytest.mark.postgres
def test_dry_run_against_postgresql_writes_nothing(tmp_path, pg_database):
    import pyodbc

    make_source(tmp_path / "src.db", 20, seed=10, edge_share=0.3)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"odbc:{pg_database}")
    result = run_cli("migrate", "--config", str(config), "--dry-run")
    assert result.returncode == 3, result.stderr[-3000:]
    connection = pyodbc.connect(pg_database, autocommit=True)
    try:
        tables = connection.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema "
                                    "NOT IN ('pg_catalog', 'information_schema')").fetchone()[0]
        schemas = connection.execute("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name "
                                     "NOT IN ('pg_catalog', 'information_schema', 'public', 'pg_toast')"
                                     ).fetchone()[0]
    finally:
        connection.close()
    assert (tables, schemas) == (0, 0)


# 5. both ends checked first; a read-only target is one clear line ---------------------------------


def _immutable(path: Path):
    """Make ``path`` truly read-only, even for root (chattr +i); returns an undo function."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        return lambda: path.chmod(mode)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], check=False).returncode:
        pytest.skip("running as root without chattr: cannot make a file read-only")
    return lambda: subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_sqlite_target_is_refused_before_anything_is_read(tmp_path, what):
    make_source(tmp_path / "src.db", 20, seed=11)
    folder = tmp_path / "target"
    folder.mkdir()
    target = folder / "t.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    assert run_cli("init-db", "--config", str(config)).returncode == 0
    for extra in folder.glob("t.db-*"):
        extra.unlink()
    undo = _immutable(target if what == "file" else folder)
    try:
        result = run_cli("migrate", "--config", str(config))
    finally:
        undo()
    assert result.returncode == 1, result.stderr[-3000:]
    _no_traceback(result)
    errors = _error_lines(result)
    assert len(errors) == 1, result.stderr[-3000:]
    assert str(target) in errors[0] and "read-only" in errors[0] and "init-db" not in errors[0]
    assert not (tmp_path / "metrics.jsonl").exists()  # stopped before the run started
    assert _log_rows(target) == []


@pytest.mark.postgres
def test_a_read_only_postgresql_target_is_refused_with_one_line(tmp_path, pg_database):
    import pyodbc

    make_source(tmp_path / "src.db", 10, seed=12)
    database = _pieces(pg_database)["database"]
    connection = pyodbc.connect(pg_database, autocommit=True)
    connection.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
    connection.close()
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"odbc:{pg_database}")
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 1, result.stderr[-3000:]
    _no_traceback(result)
    errors = _error_lines(result)
    assert len(errors) == 1, result.stderr[-3000:]
    assert "refuses writes" in errors[0] and "25006" in errors[0] and "PWD=***" in errors[0]
    assert f'PWD={_pieces(pg_database)["password"]}' not in result.stderr


def test_a_failing_source_creates_no_tables(tmp_path):
    target = tmp_path / "t.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    sqlite3.connect(tmp_path / "src.db").close()  # exists, but has no app_xml table
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 1 and "app_xml" in result.stderr
    _no_traceback(result)
    assert not target.exists()


# 6. report never creates a file ---------------------------------------------------------------------


def test_report_without_processing_log_says_so_and_creates_nothing(tmp_path):
    make_source(tmp_path / "src.db", 10, seed=13)
    target = tmp_path / "t.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    assert run_cli("migrate", "--config", str(config)).returncode == 0
    elsewhere = tmp_path / "never" / "created.db"
    missing = run_cli("report", "--config", str(config), "--target", f"sqlite:///{elsewhere}")
    assert "SQLITE_ERROR" not in missing.stderr
    assert not elsewhere.exists() and not elsewhere.parent.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    # a metrics line for it, so the report has a run to show
    lines = _metrics(tmp_path / "metrics.jsonl")
    with (tmp_path / "metrics.jsonl").open("a") as out:
        for line in lines:
            out.write(json.dumps({**line, "target": f"sqlite:{empty}"}) + "\n")
    no_log = run_cli("report", "--config", str(config), "--target", f"sqlite:///{empty}")
    assert no_log.returncode == 0, no_log.stderr
    assert "no processing_log table" in no_log.stdout
    assert _tables(empty) == set()


# 7. the chart ---------------------------------------------------------------------------------------


def test_plot_works_for_a_short_run(tmp_path):
    make_source(tmp_path / "src.db", 30, seed=14, edge_share=0.3)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 't.db'}",
                             log__report_every_s=60.0)
    assert run_cli("migrate", "--config", str(config)).returncode == 3
    chart = tmp_path / "short.png"
    report = run_cli("report", "--config", str(config), "--plot", str(chart))
    assert report.returncode == 0, report.stderr
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_of_a_longer_run_has_rate_failures_by_stage_and_p95(tmp_path):
    make_source(tmp_path / "src.db", 1500, seed=15, edge_share=0.1)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 't.db'}",
                             log__report_every_s=0.1, flush__max_records=50)
    assert run_cli("migrate", "--config", str(config)).returncode == 3
    chart = tmp_path / "long.png"
    report = run_cli("report", "--config", str(config), "--plot", str(chart))
    assert report.returncode == 0, report.stderr
    assert chart.stat().st_size > 10_000

    # What the picture is drawn from (the same function the CLI used).
    from xmlshred.reporting.chart import chart_data
    from xmlshred.reporting.report import group_runs

    run = group_runs(_metrics(tmp_path / "metrics.jsonl"))[-1]
    rows = sqlite3.connect(tmp_path / "t.db").execute("SELECT * FROM processing_log").fetchall()
    data = chart_data(run, rows)
    assert len(data.rate) >= 3 and max(rate for _, rate in data.rate) > 0
    stages = {stage for stage, counts in data.failures.items() if sum(counts)}
    failed_stages = {stage for (stage,) in sqlite3.connect(tmp_path / "t.db").execute(
        "SELECT DISTINCT stage FROM processing_log WHERE status='failed'")}
    assert stages == failed_stages and len(stages) >= 2
    assert data.p95 and all(value >= 0 for _, value in data.p95)
    # wall-clock x axis: every point lies between the run's start and end
    assert all(data.edges[0] <= moment <= data.edges[-1] for moment, _ in data.rate)


# 8. the smaller items ---------------------------------------------------------------------------------


def test_an_empty_document_is_reported_as_empty(tmp_path):
    make_source(tmp_path / "src.db", 5, seed=16)
    with sqlite3.connect(tmp_path / "src.db") as connection:
        connection.execute("UPDATE app_xml SET app_xml = CAST('' AS BLOB) WHERE app_id = 3")
    connection.close()
    target = tmp_path / "t.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    assert run_cli("migrate", "--config", str(config)).returncode == 3
    [(key, _status, stage, reason, _run)] = _log_rows(target, "status='failed'")
    assert (key, stage) == (3, "parse")
    assert reason.startswith("empty document (0 bytes)") and "line 0" not in reason


def test_port_may_be_written_as_text(tmp_path):
    make_source(tmp_path / "src.db", 3, seed=17)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 't.db'}",
                             source__port="5432", target__port="1433")
    assert run_cli("migrate", "--config", str(config)).returncode == 0
    bad = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 't.db'}",
                          target__port="54x2")
    result = run_cli("migrate", "--config", str(bad))
    assert result.returncode == 2 and "[target] port" in result.stderr
    assert re.search(r'^port = ""\s*$', (ROOT / "config.toml").read_text(), re.MULTILINE)
    assert "e.g. port = 5432" in (ROOT / "config.toml").read_text()


def test_a_rerun_says_how_many_failed_records_it_skipped(tmp_path):
    make_source(tmp_path / "src.db", 60, seed=8, edge_share=0.4)
    target = tmp_path / "t.db"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{target}")
    assert run_cli("migrate", "--config", str(config)).returncode == 3
    failed = len(_log_rows(target, "status='failed'"))
    rerun = run_cli("migrate", "--config", str(config))
    assert f"{failed} records failed in earlier runs and were not retried" in rerun.stderr
    assert "--retry-failed" in rerun.stderr


def test_generate_logs_a_readable_line(tmp_path):
    result = run_cli("generate", "--count", "7", "--out", str(tmp_path / "docs"), "--profile", "small")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if "generated" in line)
    assert "generated 7 documents into files" in line
    assert "{" not in line and "'" not in line


def test_help_texts_and_version():
    generate = run_cli("generate", "-h").stdout
    assert re.search(r"--count N\s+how many documents", generate)
    assert re.search(r"--seed S\s+random seed", generate)
    validate = run_cli("validate-contract", "-h").stdout
    assert re.search(r"PATH\s+the mapping contract", validate)
    version = run_cli("--version")
    assert version.returncode == 0 and re.fullmatch(r"xmlshred \d+\.\d+\.\d+\s*", version.stdout)


def test_one_misspelt_mapping_type_is_one_problem(tmp_path):
    contract = json.loads(EXAMPLE_CONTRACT.read_text())
    key_mapping = next(m for m in contract["mappings"] if "identity_insert" in (m.get("mapping_type") or []))
    key_mapping["mapping_type"] = ["identityinsert"]
    row_mapping = next(m for m in contract["mappings"] if any(
        step.startswith("add_score") for step in m.get("mapping_type") or []))
    row_mapping["mapping_type"] = ["addscore(FICO08)"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(contract))
    result = run_cli("validate-contract", str(broken))
    assert result.returncode == 2
    problems = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) == 2, result.stderr
    assert "did you mean 'identity_insert'" in problems[0] and "did you mean 'add_score'" in problems[1]


def test_json_logs_go_to_the_file_and_the_console_stays_human(tmp_path):
    make_source(tmp_path / "src.db", 5, seed=19)
    # Without a log file: JSON has nowhere to go, and the console must not turn into JSON.
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 't.db'}",
                             log__json=True, log__file="")
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 0, result.stderr
    console = [line for line in result.stderr.splitlines() if line.strip()]
    assert console and all(TIMESTAMP.match(line) for line in console), console[:3]
    assert "[log] json = true has no effect without [log] file" in result.stderr
    # With a log file: JSON there, human on the console.
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 't2.db'}",
                             log__json=True)
    result = run_cli("migrate", "--config", str(config))
    assert all(TIMESTAMP.match(line) for line in result.stderr.splitlines() if line.strip())
    records = [json.loads(line) for line in (tmp_path / "run.log").read_text().splitlines()]
    assert any("summary run=" in record["text"] for record in records)


def test_progress_lines_are_short_and_the_summary_never_says_in_0s(tmp_path):
    make_source(tmp_path / "src.db", 800, seed=20, edge_share=0.1)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 't.db'}",
                             log__report_every_s=0.1, flush__max_records=50)
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 3, result.stderr[-2000:]
    progress = [line.split(" | ", 3)[3] for line in result.stderr.splitlines() if "| progress " in line]
    assert progress, result.stderr[-2000:]
    assert max(len(line) for line in progress) <= 120, max(progress, key=len)

    make_source(tmp_path / "tiny.db", 2, seed=21)
    tiny = run_cli("migrate", "--config", str(config), "--source", f"sqlite:///{tmp_path / 'tiny.db'}",
                   "--target", f"sqlite:///{tmp_path / 'tiny-t.db'}")
    summary = next(line for line in tiny.stderr.splitlines() if "summary run=" in line)
    assert "in 0s" not in summary and ("in <1s" in summary or "rec/min" in summary)


def test_build_folder_is_ignored_by_git():
    result = subprocess.run(["git", "check-ignore", "-q", "build/lib/cli.py"], cwd=ROOT, check=False)
    assert result.returncode == 0
