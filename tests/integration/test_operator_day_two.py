"""Issue 29, "the operator's day, part two": each finding as a user meets it, through the CLI.

Real databases (SQLite files, the real PostgreSQL server), a real small
filesystem for the full disk, the CLI as a subprocess. Each test failed on
main before its change.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.helpers import ROOT, pipeline_config, run_cli

SAMPLE = ROOT / "examples" / "sample"


def _with(dsn: str, keyword: str, value: str) -> str:
    parts = [part for part in dsn.split(";") if part and not part.upper().startswith(f"{keyword.upper()}=")]
    parts.append(f"{keyword}={value}")
    return ";".join(parts)


def _migrate(tmp_path: Path, target: str, *extra: str) -> subprocess.CompletedProcess:
    config = pipeline_config(tmp_path, str(SAMPLE), target)
    return run_cli("migrate", "--config", str(config), *extra)


# ---------------------------------------------------------------- 1. the database's words


def test_a_wrong_postgresql_password_gives_the_drivers_words_and_the_login_hint(tmp_path, pg_dsn):
    secret = f"wrong-{uuid.uuid4().hex[:8]}"
    result = _migrate(tmp_path, f"odbc:{_with(pg_dsn, 'PWD', secret)}")
    assert result.returncode == 1, result.stderr
    assert "password authentication failed" in result.stderr  # libpq's own words
    assert "SQLSTATE 08001" in result.stderr
    assert "authentication:" in result.stderr and "check [target] username and the password" in result.stderr
    assert secret not in result.stderr and secret not in (tmp_path / "run.log").read_text()
    assert "Traceback" not in result.stderr


def test_an_unknown_postgresql_database_is_told_from_a_wrong_password(tmp_path, pg_dsn):
    result = _migrate(tmp_path, f"odbc:{_with(pg_dsn, 'DATABASE', 'xs_no_such_database')}")
    assert result.returncode == 1, result.stderr
    assert "unknown database:" in result.stderr and "does not exist" in result.stderr
    assert "CREATE DATABASE" in result.stderr


def test_a_missing_odbc_driver_gives_the_driver_managers_words_and_the_installed_drivers(tmp_path):
    pytest.importorskip("pyodbc")
    result = _migrate(tmp_path, "odbc:DRIVER={ODBC Driver 18 for SQL Server};SERVER=db;DATABASE=x;UID=u;PWD=pw123")
    assert result.returncode == 1, result.stderr
    assert "Can't open lib 'ODBC Driver 18 for SQL Server'" in result.stderr  # unixODBC's words
    assert "missing driver:" in result.stderr and "installed:" in result.stderr
    assert "pw123" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def small_filesystem(tmp_path):
    """A real tmpfs of 400 KB (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_stops_the_run_with_sqlite_full_the_disk_hint_and_no_traceback(tmp_path, small_filesystem):
    target = small_filesystem / "target.db"
    result = _migrate(tmp_path, f"sqlite:///{target}")
    assert result.returncode == 1, result.stderr
    assert "database or disk is full" in result.stderr  # SQLite's own words
    assert "SQLITE_FULL" in result.stderr and "disk full:" in result.stderr
    assert "free space or grow it" in result.stderr
    assert "init-db" not in result.stderr  # the old, wrong hint
    assert "Traceback" not in result.stderr and "ActorDeadError" not in result.stderr
    # once space is freed, the same command finishes the run
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_filesystem)], check=True)
    again = _migrate(tmp_path, f"sqlite:///{target}")
    assert again.returncode in (0, 3), again.stderr


def test_masking_a_message_that_quotes_a_masked_target_keeps_the_rest():
    from xmlshred.db.secrets import mask_secrets

    said = "cannot connect to target postgresql:DRIVER={x};UID=u;PWD=***: authentication: refused"
    assert mask_secrets(said) == said
    assert mask_secrets("UID=u;PWD=hunter2;X=1") == "UID=u;PWD=***;X=1"


def test_sqlite_and_errno_codes_are_sorted_without_reading_the_text(tmp_path):
    import errno
    import sqlite3

    from xmlshred.db.diagnosis import DISK_FULL, READ_ONLY, diagnose

    db = tmp_path / "ro.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as raised:
        connection.execute("INSERT INTO t VALUES (1)")
    connection.close()
    assert diagnose(raised.value, "sqlite").cause == READ_ONLY
    assert diagnose(OSError(errno.ENOSPC, "No space left on device"), "sqlite").cause == DISK_FULL
    assert re.search(r"ENOSPC", diagnose(OSError(errno.ENOSPC, "x"), "sqlite").codes())


# ---------------------------------------------------------------- 3. hints that work


def test_the_dry_runs_report_hint_names_the_other_target_and_runs_as_printed(tmp_path):
    import shlex

    configured = tmp_path / "configured.db"
    other = tmp_path / "elsewhere" / "other.db"
    other.parent.mkdir()
    config = pipeline_config(tmp_path, str(SAMPLE), f"sqlite:///{configured}")
    result = run_cli("migrate", "--config", str(config), "--dry-run", "--target", f"sqlite:///{other}")
    assert result.returncode in (0, 3), result.stderr
    match = re.search(r"DRY RUN: .*\((.* report --run \S+.*)\)\s*$", result.stderr, re.MULTILINE)
    assert match, result.stderr
    hint = match.group(1)
    assert f"--target sqlite:///{other}" in hint and "--config" in hint
    assert "cli.py" in hint  # the program as this test ran it
    shown = subprocess.run(shlex.split(hint), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert "would fail" in shown.stdout or "DRY RUN" in shown.stdout.upper()


def test_hints_name_the_program_the_user_ran():
    from xmlshred.vocab.program import program_name

    assert program_name("/opt/venv/bin/xmlshred") == "xmlshred"
    assert program_name("cli.py").endswith(" cli.py")
    assert program_name("/src/xmlshred/__main__.py").endswith(" -m xmlshred")


# ---------------------------------------------------------------- 5. one spelling per target


def test_a_run_and_its_report_name_the_target_one_way(tmp_path):
    target = tmp_path / "one" / ".." / "one" / "target.db"
    (tmp_path / "one").mkdir()
    config = pipeline_config(tmp_path, str(SAMPLE), f"sqlite:///{target}")
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode in (0, 3), result.stderr
    spellings = set(re.findall(r"sqlite:/+[^\s,;)]*target\.db", result.stderr))
    assert spellings == {f"sqlite:{os.path.abspath(target)}"}, spellings
    report = run_cli("report", "--config", str(config))
    assert report.returncode == 0, report.stderr
    assert set(re.findall(r"sqlite:/+[^\s,;)]*target\.db", report.stdout)) == spellings


# ---------------------------------------------------------------- 8. report of a target that is not there


def test_report_of_a_missing_target_in_an_empty_folder_says_the_target_does_not_exist(tmp_path):
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "report", "--target", "sqlite:///nope.db"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"target sqlite:{tmp_path / 'nope.db'} does not exist" in result.stderr
    assert "metrics file not found" not in result.stderr
    assert not (tmp_path / "nope.db").exists()


# ---------------------------------------------------------------- 6. clean files


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_clean_exit_leaves_no_wal_or_shm_files_beside_the_databases(tmp_path, dry_run):
    import sqlite3

    from tests.helpers import make_source

    source, target = tmp_path / "source.db", tmp_path / "target.db"
    make_source(source, 30)
    connection = sqlite3.connect(source)
    assert connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    connection.close()
    config = pipeline_config(tmp_path, f"sqlite:///{source}", f"sqlite:///{target}")
    if dry_run:  # a dry run reads a target that exists
        assert run_cli("migrate", "--config", str(config), "--limit", "5").returncode in (0, 3)
    result = run_cli("migrate", "--config", str(config), *(["--dry-run"] if dry_run else []))
    assert result.returncode in (0, 3), result.stderr
    left = sorted(path.name for path in tmp_path.iterdir() if path.name.endswith(("-wal", "-shm")))
    assert left == []


# ---------------------------------------------------------------- 7. a starting point


def _cli_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    import sys

    from tests.helpers import cli_env

    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=folder, env=cli_env(),
                          capture_output=True, text=True, timeout=300)


def test_init_writes_a_config_and_the_examples_and_never_overwrites(tmp_path):
    import tomllib

    result = _cli_in(tmp_path, "init", "start")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "start"
    config = (folder / "config.toml").read_text()
    assert "# Where the XML documents come from." in config and tomllib.loads(config)["target"]
    assert (folder / "examples" / "credit_card" / "contract.json").is_file()
    assert (folder / "examples" / "recreational_lending" / "contract.json").is_file()
    assert len(list((folder / "examples" / "sample").glob("*.xml"))) == 200
    # a second init refuses, and a folder holding one of its files gets nothing at all
    again = _cli_in(tmp_path, "init", "start")
    assert again.returncode == 2 and "never overwrites" in again.stderr
    partial = tmp_path / "partial" / "examples" / "credit_card"
    partial.mkdir(parents=True)
    (partial / "contract.json").write_text("{}")
    refused = _cli_in(tmp_path, "init", "partial")
    assert refused.returncode == 2 and "examples/credit_card/contract.json" in refused.stderr
    assert not (tmp_path / "partial" / "config.toml").exists()
    assert (partial / "contract.json").read_text() == "{}"


def test_help_says_where_the_built_in_example_contract_is():
    from xmlshred import data_root

    result = run_cli("--help")
    assert result.returncode == 0
    flat = " ".join(result.stdout.split())
    assert str(data_root() / "examples" / "credit_card" / "contract.json") in flat


def test_the_rendered_config_holds_every_key_at_its_default(tmp_path):
    from xmlshred.settings import describe_settings, load_settings
    from xmlshred.settings.template import render_config

    text = render_config()
    for info in describe_settings():
        assert f"\n{info.key} = {info.default}\n" in text, info
    (tmp_path / "config.toml").write_text(text)
    settings = load_settings(tmp_path / "config.toml", {}, {})
    assert settings.target.url == f"sqlite:///{tmp_path / 'out' / 'target.db'}"
    assert settings.contract.path == str(tmp_path / "examples" / "credit_card" / "contract.json")


def _status_checks(output: str, label: str) -> None:
    assert output.startswith(f"Target {label}\n")
    assert re.search(r"^Records: 199 \(success 199\)$", output, re.MULTILINE), output
    assert re.search(r"^Last run: \S+, started .* finished at ", output, re.MULTILINE), output
    assert "Lease: free" in output
    assert re.search(r"^  app_base\s+199$", output, re.MULTILINE), output
    assert re.search(r"^  processing_log\s+199$", output, re.MULTILINE), output


def test_status_of_a_sqlite_target_is_read_only(tmp_path):
    result = _read_only_on_sqlite(tmp_path, "status")
    _status_checks(result.stdout, f"sqlite:{tmp_path / 'target.db'}")


def _read_only_on_sqlite(tmp_path, command: str):
    """Migrate the samples into a SQLite target, then run ``command`` on it: it must succeed, leave the
    target's bytes as they were and no -wal/-shm file beside it. Its result."""
    import hashlib

    target = tmp_path / "target.db"
    config = pipeline_config(tmp_path, str(SAMPLE), f"sqlite:///{target}")
    assert run_cli("migrate", "--config", str(config)).returncode == 3  # one sample fails validation
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    result = run_cli(command, "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    assert not [path.name for path in tmp_path.iterdir() if path.name.endswith(("-wal", "-shm"))]
    return result
    missing = run_cli("status", "--config", str(config), "--target", f"sqlite:///{tmp_path / 'nope.db'}")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "nope.db").exists()


def test_status_of_a_postgresql_target(tmp_path, pg_database):
    config = pipeline_config(tmp_path, str(SAMPLE), f"odbc:{pg_database}")
    assert run_cli("migrate", "--config", str(config)).returncode == 3
    result = run_cli("status", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "PWD=***" in result.stdout.splitlines()[0]
    _status_checks(result.stdout, result.stdout.splitlines()[0][len("Target "):])


def test_after_pip_install_init_then_migrate_works_in_an_empty_folder(tmp_path):
    import shutil
    import sys

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps",
                          "--quiet", str(ROOT)], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    program = venv / "bin" / "xmlshred"
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("XMLSHRED__") and key != "PYTHONPATH"}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"

    def run(*args):
        return subprocess.run([str(program), *args], cwd=empty, env=env, capture_output=True, text=True,
                              timeout=300)

    init = run("init")
    assert init.returncode == 0, init.stderr
    assert "next: xmlshred migrate" in init.stdout  # the program the user has
    migrate = run("migrate")
    assert migrate.returncode == 3, migrate.stderr  # 199 succeed, one sample lacks its key
    assert (empty / "out" / "target.db").is_file()
    status = run("status")
    assert status.returncode == 0 and "Records: 199 (success 199)" in status.stdout
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import xmlshred; print(xmlshred.__file__)"],
                               cwd=empty, env=env, capture_output=True, text=True)
    assert str(venv) in installed.stdout  # the installed copy ran, not the checkout
    shutil.rmtree(venv)


# ---------------------------------------------------------------- 9. table coverage

RL_CONTRACT = ROOT / "examples" / "recreational_lending" / "contract.json"


def _rl_documents_with_contacts_outside_the_application(folder: Path, count: int) -> None:
    """Generated RL documents whose IL_contact elements sit beside IL_application, not inside it."""
    from lxml import etree

    from xmlshred.generator.writers import run_generate

    generated = folder / "generated"
    run_generate(count, str(generated), seed=5, profile="small", edge_share=0.0, product="rl")
    folder.mkdir(exist_ok=True)
    moved = 0
    for path in sorted(generated.glob("*.xml")):
        tree = etree.parse(str(path))
        application = tree.find("Request/CustData/IL_application")
        for contact in application.findall("IL_contact"):
            application.addnext(contact)  # a sibling of IL_application: outside the application
            moved += 1
        tree.write(str(folder / path.name), xml_declaration=True, encoding="UTF-8")
        path.unlink()
    generated.rmdir()
    assert moved >= count


def test_coverage_names_the_rl_contact_table_when_contacts_sit_outside_the_application(tmp_path):
    documents = tmp_path / "docs"
    _rl_documents_with_contacts_outside_the_application(documents, 29)
    config = pipeline_config(tmp_path, str(documents), f"sqlite:///{tmp_path / 'target.db'}",
                             contract__path=str(RL_CONTRACT))
    dry = run_cli("migrate", "--config", str(config), "--dry-run")
    assert dry.returncode in (0, 3), dry.stderr
    assert "coverage: table app_contact_base: rows from 0 of 29 records" in dry.stderr
    assert re.search(r"coverage: mapping path /Provenir/Request/CustData/IL_application/IL_contact "
                     r"\(app_contact_base\.\w+.*\) matched no element in the \d+ records checked", dry.stderr)
    assert not (tmp_path / "target.db").exists()  # the dry run wrote nothing
    run = run_cli("migrate", "--config", str(config))
    assert run.returncode in (0, 3), run.stderr
    assert "coverage: table app_contact_base: rows from 0 of 29 records" in run.stderr
    assert "coverage: table app_base" not in run.stderr  # every record gave app_base rows
    report = run_cli("report", "--config", str(config))
    assert report.returncode == 0, report.stderr
    assert "table app_contact_base: rows from 0 of 29 records" in report.stdout
    assert "mapping path /Provenir/Request/CustData/IL_application/IL_contact " in report.stdout
    for name in ("first_name", "Zephyr"):  # names of columns may appear, never values
        assert name == "first_name" or name not in run.stderr + report.stdout


def test_a_run_whose_tables_all_fill_says_nothing_about_coverage(tmp_path):
    config = pipeline_config(tmp_path, str(SAMPLE), f"sqlite:///{tmp_path / 'target.db'}")
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 3, result.stderr
    assert "coverage:" not in result.stderr


def test_path_coverage_stops_looking_once_every_path_is_seen():
    from xmlshred.contract.coverage import PathCoverage

    coverage = PathCoverage(["/A/B", "/A/C/D"], None, limit=10)
    coverage.observe(b"<A><B/></A>")
    assert list(coverage.unseen) == ["/A/C/D"] and coverage.checked == 1
    coverage.observe(b"<A><C><D/></C></A>")
    assert coverage.done and not coverage.unseen
    coverage.observe(b"<A/>")
    assert coverage.checked == 2  # nothing left to look for: not parsed again
    capped = PathCoverage(["/X"], None, limit=2)
    for _ in range(5):
        capped.observe(b"<A/>")
    assert capped.checked == 2 and capped.done


# ---------------------------------------------------------------- 2. shutdown order, no traceback


def test_a_late_reply_to_a_stopped_actor_is_dropped_at_debug():
    import pykka
    from loguru import logger

    from xmlshred.actors.lifecycle import tell_quietly

    class Listener(pykka.ThreadingActor):
        def on_receive(self, message):
            return message

    ref = Listener.start()
    ref.stop()
    records = []
    sink = logger.add(records.append, level="DEBUG", format="{level} {message}")
    try:
        assert tell_quietly(ref, "late", logger) is False
    finally:
        logger.remove(sink)
    assert [record.split(" ", 1)[0] for record in records] == ["DEBUG"]
    assert "dropped a late str" in records[0]


def test_a_diagnosed_error_that_pykka_logs_as_unhandled_shows_no_traceback():
    import logging

    from loguru import logger

    from xmlshred.reporting.logs import InterceptHandler
    from xmlshred.sources.errors import SourceError

    records = []
    sink = logger.add(records.append, level="INFO", format="{level} {message}\n{exception}")
    handler = InterceptHandler()
    pykka_log = logging.getLogger("pykka.test")
    pykka_log.addHandler(handler)
    pykka_log.propagate = False
    try:
        try:
            raise SourceError("source table=app_xml cannot be read")
        except SourceError:
            pykka_log.error("Unhandled exception in MapperActor:", exc_info=True)
        try:
            raise KeyError("a bug")
        except KeyError:
            pykka_log.error("Unhandled exception in MapperActor:", exc_info=True)
    finally:
        pykka_log.removeHandler(handler)
        logger.remove(sink)
    shown = [(message.record["level"].name, message.record["exception"]) for message in records]
    assert len(shown) == 1  # the diagnosed one went to DEBUG (line) and TRACE (traceback)
    level, exception = shown[0]
    assert level == "ERROR" and exception is not None and exception.type is KeyError  # a bug keeps its traceback


@pytest.mark.parametrize("stage", ["contract", "source", "target", "lease"])
def test_a_fatal_stop_at_each_stage_logs_no_traceback(tmp_path, stage):
    import fcntl

    target = tmp_path / "target.db"
    config = pipeline_config(tmp_path, str(SAMPLE), f"sqlite:///{target}")
    args = ["migrate", "--config", str(config)]
    held = None
    if stage == "contract":
        (tmp_path / "bad.json").write_text('{"mappings": 1}')
        args += ["--contract", str(tmp_path / "bad.json")]
    elif stage == "source":
        args += ["--source", str(tmp_path / "no-such-folder")]
    elif stage == "target":
        (tmp_path / "ro").mkdir()
        (tmp_path / "ro").chmod(0o500)
        args += ["--target", f"sqlite:///{tmp_path / 'ro' / 'sub' / 't.db'}"]
        if os.geteuid() == 0:
            args[-1] = f"sqlite:///{SAMPLE / '0000000001.xml'}/t.db"  # a file where a folder must be
    else:
        assert run_cli("migrate", "--config", str(config), "--limit", "1").returncode in (0, 3)
        held = open(f"{target}.lease", "a+")  # noqa: SIM115 - held across the run below
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        result = run_cli(*args)
    finally:
        if held is not None:
            held.close()
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in (tmp_path / "run.log").read_text() if (tmp_path / "run.log").exists() else True


def test_report_of_a_sqlite_target_leaves_it_as_it_was(tmp_path):
    """``report`` only reads: the target's bytes are unchanged and no -wal/-shm file stays."""
    _read_only_on_sqlite(tmp_path, "report")
