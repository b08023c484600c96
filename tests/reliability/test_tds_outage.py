"""SQL Server (TDS) outages mid-run: the Babelfish server stopped with its pg_ctl and started again.

Runs when XMLSHRED_MSSQL_DSN names the local Babelfish server and its install is at
XMLSHRED_BABELFISH (default /opt/xmlshred-babelfish, where .ci/run looks); skipped, saying so,
otherwise. The server runs as OS user ``bbf`` (PostgreSQL refuses root), so it is stopped and
started as that user, with the install's own pg_ctl.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import MSSQL_DSN_ENV
from tests.helpers import (
    EXAMPLE_CONTRACT,
    PauseGate,
    assert_target_matches,
    expected_tables,
    make_source,
    pipeline_config,
    run_cli,
)
from tests.reliability.support import CliRun, log_count, server_answers, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.mssql]

RECORDS = 600
STEP = 60
OUTAGE_S = 4.0
SERVER_UP_S = 120.0


class BabelfishServer:
    """The local Babelfish server, which a test may stop; always started again by the fixture."""

    def __init__(self, install: Path, dsn: str) -> None:
        self.install = install
        self.dsn = dsn

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        command = " ".join([str(self.install / "pg" / "bin" / "pg_ctl"), "-D", str(self.install / "data"), *args])
        return subprocess.run(["su", "bbf", "-s", "/bin/sh", "-c", command], capture_output=True, text=True,
                              timeout=180)

    def stop(self) -> None:
        result = self._pg_ctl("stop", "-m", "fast")
        assert result.returncode == 0, f"pg_ctl stop failed: {result.stderr}"

    def start(self) -> None:
        """Start the server if it is down and wait until it answers over TDS."""
        if self._pg_ctl("status").returncode != 0:
            result = self._pg_ctl("-l", str(self.install / "logs" / "postgres.log"), "-w", "-t", "120", "start")
            assert result.returncode == 0, f"pg_ctl start failed: {result.stderr}"
        deadline = time.monotonic() + SERVER_UP_S
        while not server_answers(self.dsn):
            assert time.monotonic() < deadline, f"Babelfish did not answer within {SERVER_UP_S:.0f}s"
            time.sleep(0.2)


@pytest.fixture
def babelfish(mssql_dsn):
    install = Path(os.environ.get("XMLSHRED_BABELFISH", "/opt/xmlshred-babelfish"))
    if not (install / "pg" / "bin" / "pg_ctl").exists():
        pytest.skip(f"no Babelfish install at {install} to stop and start ({MSSQL_DSN_ENV} may name a "
                    "server this test cannot control)")
    if os.geteuid() != 0:
        pytest.skip("stopping the Babelfish server needs `su bbf` (root)")
    server = BabelfishServer(install, mssql_dsn)
    try:
        yield server
    finally:
        server.start()


def test_tds_server_stopped_for_seconds_then_the_run_retries_and_completes(tmp_path, babelfish, mssql_database):
    docs = make_source(tmp_path / "source.db", RECORDS, seed=44, edge_share=0.03)
    target_url = f"odbc:{mssql_database}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target_url,
                             flush__max_records=50, actors__max_in_flight=200, target__connect_retries=10,
                             target__retry_backoff_s=0.5, target__retry_backoff_max_s=2.0)
    assert run_cli("init-db", "--config", str(config)).returncode == 0
    schema, expected, ok, failed = expected_tables(EXAMPLE_CONTRACT, docs)
    gate = PauseGate(tmp_path / "pause", 2 * STEP)
    run = CliRun("migrate", "--config", str(config), env=gate.env)
    try:
        wait_until(lambda: not run.running() or log_count(target_url, schema) >= 100, "the first commits")
        assert run.running(), run.stderr[-3000:]  # held by the gate: it cannot have finished
        babelfish.stop()
        gate.release()  # the run goes on into the outage
        stopped_at = time.monotonic()
        wait_until(lambda: not run.running() or (
            "transient database error" in run.stderr and time.monotonic() >= stopped_at + OUTAGE_S),
            "the run to meet the outage")
        outage_s = time.monotonic() - stopped_at
        babelfish.start()
        code = run.wait()
    finally:
        gate.release()
        babelfish.start()
        run.ensure_dead()
    assert code in (0, 3), f"exit {code}: {run.stderr[-3000:]}"
    retries = run.stderr.count("transient database error")
    assert retries >= 1, run.stderr[-3000:]
    assert_target_matches(target_url, schema, expected, ok, failed)
    print(f"\n[tds server stopped] records={RECORDS} ok={len(ok)} failed={len(failed)} outage={outage_s:.1f}s "
          f"retries logged={retries} exit={code}")
