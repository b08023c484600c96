"""Tools for the fault-injection suite: running CLIs, process sessions, deadlines, probes.

Every wait here has a deadline and polls a condition; nothing sleeps and hopes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

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
