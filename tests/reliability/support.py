"""Tools for the fault-injection suite: running CLIs, process sessions, deadlines, probes.

Every wait here has a deadline and polls a condition; nothing sleeps and hopes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests import helpers
from tests.helpers import WAIT_S, TargetReader, contract_schema, log_count, start_cli, wait_until  # noqa: F401

POLL_S = 0.02


class CliRun:
    """A `cli.py` process in its own session, with its output drained so it never blocks on a pipe."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.process: subprocess.Popen = start_cli(*args, env=env)
        self.sid = self.process.pid  # start_new_session=True: the CLI leads its own session/group
        self.started = time.monotonic()
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._drains = [
            threading.Thread(target=self._drain, args=(self.process.stdout, self._stdout), daemon=True),
            threading.Thread(target=self._drain, args=(self.process.stderr, self._stderr), daemon=True),
        ]
        for thread in self._drains:
            thread.start()

    @staticmethod
    def _drain(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = WAIT_S) -> int:
        """Wait for the exit code; kill the session and fail the test at the deadline."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_session()
            pytest.fail(f"cli.py did not exit within {timeout:.0f}s\n{self.stderr[-3000:]}")
        for thread in self._drains:
            # Worker processes share the pipes; they close them when they exit.
            thread.join(timeout=30)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    @property
    def stdout(self) -> str:
        return "".join(self._stdout)

    def workers(self) -> list[psutil.Process]:
        """The mapper worker processes of the CLI process: forked at the start (the CLI's own
        command line) or spawned (``spawn_main``: replacements, and runs that could not fork)."""
        try:
            parent = psutil.Process(self.pid)
            children = parent.children(recursive=True)
            own = parent.cmdline()
        except psutil.NoSuchProcess:
            return []
        found = []
        for child in children:
            try:
                line = child.cmdline()
                if "spawn_main" in " ".join(line) or line == own:
                    found.append(child)
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return found

    def session_members(self) -> list[psutil.Process]:
        return session_processes(self.sid)

    def kill_session(self) -> None:
        """SIGKILL the whole process group: the CLI and every worker it started."""
        try:
            os.killpg(self.sid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the process group, as a terminal's Ctrl-C does."""
        os.killpg(self.sid, signum)

    def ensure_dead(self) -> None:
        """Cleanup for a ``finally``: no process of this run may outlive its test."""
        if self.running() or session_processes(self.sid):
            self.kill_session()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass


def server_answers(dsn: str) -> bool:
    """Whether the server ``dsn`` names takes a connection and answers ``SELECT 1`` right now."""
    import pyodbc

    try:
        connection = pyodbc.connect(dsn, autocommit=True, timeout=3)
    except pyodbc.Error:
        return False
    try:
        connection.execute("SELECT 1").fetchall()
        return True
    except pyodbc.Error:
        return False
    finally:
        connection.close()


def session_processes(sid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes whose session id is ``sid``."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getsid(process.pid) == sid and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
            continue
    return found


def assert_session_gone(run: CliRun, timeout: float = 30.0) -> None:
    """Every process of the run's session exits within ``timeout`` (no orphan workers)."""
    deadline = time.monotonic() + timeout
    while True:
        left = run.session_members()
        if not left:
            return
        if time.monotonic() >= deadline:
            described = []
            for process in left:
                try:
                    described.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
                except psutil.Error:
                    described.append(str(process.pid))
            run.kill_session()
            pytest.fail(f"{len(left)} process(es) of the killed run still alive after {timeout:.0f}s "
                        f"(orphans): {described}")
        time.sleep(POLL_S)


# ---------------------------------------------------------------- target probes

def assert_partial_state_consistent(target_url: str, schema) -> int:
    """After an interruption: the root table holds exactly the `success` keys, each once.

    Returns how many records the processing_log settles.
    """
    reader = TargetReader(target_url)
    try:
        key = schema.key_column
        root = schema.tables[0].name
        root_keys = [int(k) for (k,) in reader.connection.execute(
            f'SELECT "{key}" FROM {reader.name(schema, root)}').fetchall()]
        log = reader.log(schema)  # asserts no key twice
    finally:
        reader.close()
    assert len(root_keys) == len(set(root_keys)), f"{root} holds a key twice"
    success = {k for k, row in log.items() if row[0] == "success"}
    assert set(root_keys) == success, (
        f"{root} and processing_log disagree: {len(set(root_keys) - success)} rows without a success "
        f"row, {len(success - set(root_keys))} success rows without data")
    return len(log)


def read_log(target_url: str, schema) -> dict[int, tuple]:
    reader = TargetReader(target_url)
    try:
        return reader.log(schema)
    finally:
        reader.close()


# ---------------------------------------------------------------- memory

class TreeRssSampler:
    """Samples the summed RSS of a process and all its descendants every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                members = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in members:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            if total:
                self.peak = max(self.peak, total)
                self.samples += 1
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def planted_values_absent(texts: dict[str, str], planted: list[str]) -> list[str]:
    """Which planted values appear in which text (empty when none leaked)."""
    return [f"{value!r} in {where}" for where, text in texts.items() for value in planted if value in text]


def file_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def target_kind(target_url: str) -> str:
    """``sqlite``, ``postgres`` or ``mssql``: a label for printed figures."""
    if target_url.startswith("sqlite:"):
        return "sqlite"
    return "postgres" if "postgres" in target_url.lower() else "mssql"


# --------------------------------------------------------------------------
# the corpus and the run most tests of the suite start from

SMALL_FLUSHES = {"flush__max_records": 50, "actors__max_in_flight": 200}
"""Flushes of 50 records, at most 200 in flight: many commits to interrupt, never the run in one go."""


@dataclass(frozen=True)
class Corpus:
    """The documents of ``tmp_path/source.db`` and what an uninterrupted run of them leaves in the
    target (``tests.helpers.expected_tables`` of the example contract)."""

    docs: list
    schema: object
    expected: dict
    ok: set
    failed: dict

    def assert_target_matches(self, target_url: str, failed: dict | None = None) -> None:
        """The target holds exactly these rows and processing_log rows, each record once; ``failed``
        (key -> stage) replaces the expected failures where the test makes more."""
        helpers.assert_target_matches(target_url, self.schema, self.expected, self.ok,
                                      self.failed if failed is None else failed)


def make_corpus(tmp_path: Path, count: int, *, seed: int, edge_share: float = 0.0, transform=None,
                left_out=()) -> Corpus:
    """``count`` documents written to ``tmp_path/source.db`` (``tests.helpers.make_source``) and their
    expected rows; the keys in ``left_out`` (documents the test makes fail) are not expected."""
    docs = helpers.make_source(tmp_path / "source.db", count, seed=seed, edge_share=edge_share, transform=transform)
    schema, expected, ok, failed = helpers.expected_tables(helpers.EXAMPLE_CONTRACT,
                                                          [d for d in docs if d.key not in left_out])
    return Corpus(docs, schema, expected, ok, failed)


def source_config(tmp_path: Path, target_url: str, *, init_db: bool = False, **overrides) -> Path:
    """A config that reads ``tmp_path/source.db`` into ``target_url`` (``tests.helpers.pipeline_config``
    with ``overrides``); with ``init_db``, the target's tables are created first (``init-db``)."""
    config = helpers.pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url, **overrides)
    if init_db:
        result = helpers.run_cli("init-db", "--config", str(config))
        assert result.returncode == 0, result.stderr[-3000:]
    return config


def held_migrate(tmp_path: Path, target_url: str, count: int, *, seed: int, edge_share: float,
                 allowance: int) -> tuple[CliRun, helpers.PauseGate, Path, Corpus]:
    """The suite's usual interrupted run: a corpus (``make_corpus``), a config with SMALL_FLUSHES
    and the tables created, and ``migrate`` started with each mapper worker held by a pause gate
    after ``allowance`` records (the test releases the gate). Returns the run, the gate, the config
    and the corpus."""
    corpus = make_corpus(tmp_path, count, seed=seed, edge_share=edge_share)
    config = source_config(tmp_path, target_url, init_db=True, **SMALL_FLUSHES)
    gate = helpers.PauseGate(tmp_path / "pause", allowance)
    return CliRun("migrate", "--config", str(config), env=gate.env), gate, config, corpus
