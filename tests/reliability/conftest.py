"""Fixtures of the fault-injection suite: targets, and a PostgreSQL cluster that may be stopped."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.conftest import fresh_pg_database
from tests.reliability.support import server_answers

PG_VERSION, PG_CLUSTER = "15", "main"
PG_CTL = ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, PG_CLUSTER]
CLUSTER_UP_S = 90.0


class PgCluster:
    """The local PostgreSQL cluster, which a test may stop; always started again by the fixture."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True
        result = subprocess.run([*PG_CTL, "stop", "--mode", "fast"], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, f"pg_ctlcluster stop failed: {result.stderr}"

    def start(self) -> None:
        """Start the cluster (if it is down) and wait until it accepts connections."""
        result = subprocess.run([*PG_CTL, "start"], capture_output=True, text=True, timeout=60)
        # Exit 2 means 'already running': fine.
        assert result.returncode in (0, 2), f"pg_ctlcluster start failed: {result.stderr}"
        self.wait_ready()
        self.stopped = False

    def wait_ready(self, timeout: float = CLUSTER_UP_S) -> None:
        deadline = time.monotonic() + timeout
        while not server_answers(self.admin_dsn):
            if time.monotonic() >= deadline:
                raise AssertionError(f"PostgreSQL did not accept connections within {timeout:.0f}s")
            time.sleep(0.1)

    def is_down(self) -> bool:
        return not server_answers(self.admin_dsn)


@pytest.fixture
def pg_cluster(pg_dsn):
    """Control of the PostgreSQL cluster; whatever the test did, it is running again afterwards."""
    cluster = PgCluster(pg_dsn)
    try:
        yield cluster
    finally:
        cluster.start()


@pytest.fixture
def pg_outage_database(pg_cluster, pg_dsn):
    """A fresh database that survives a cluster restart; the cluster is up again before the drop."""
    with fresh_pg_database(pg_dsn, before_drop=pg_cluster.start) as dsn:
        yield dsn
