"""Shared fixtures: real databases, and no actor left running after a test."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT / "tests" / "conformance"
"""The repository's own copy of the conformance suites: every test reads this one."""
SHARED_CONFORMANCE = ROOT.parent / "shared" / "conformance"
"""The suites as published beside the checkout, when they are (the copy must equal them)."""

PG_DSN_ENV = "XMLSHRED_PG_DSN"
MSSQL_DSN_ENV = "XMLSHRED_MSSQL_DSN"


@pytest.fixture(autouse=True)
def _stop_all_actors():
    yield
    import pykka

    pykka.ActorRegistry.stop_all(timeout=10)


@pytest.fixture
def pg_dsn() -> str:
    """The ODBC connection string of the test PostgreSQL server (skips without one)."""
    dsn = os.environ.get(PG_DSN_ENV)
    if not dsn:
        pytest.skip(f"{PG_DSN_ENV} is not set: no PostgreSQL server configured for tests")
    return dsn


def _replace_database(dsn: str, database: str) -> str:
    parts = [p for p in dsn.split(";") if p and not p.upper().startswith("DATABASE=")]
    parts.append(f"DATABASE={database}")
    return ";".join(parts)


@pytest.fixture
def pg_database(pg_dsn):
    """A fresh, empty PostgreSQL database for one test; its DSN; dropped afterwards."""
    import pyodbc

    name = f"xs_{uuid.uuid4().hex[:12]}"
    admin = pyodbc.connect(pg_dsn, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _replace_database(pg_dsn, name)
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?", name
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def mssql_dsn() -> str:
    """The ODBC connection string of the test SQL Server / Babelfish (TDS) server (skips without one)."""
    dsn = os.environ.get(MSSQL_DSN_ENV)
    if not dsn:
        pytest.skip(f"{MSSQL_DSN_ENV} is not set: no SQL Server (TDS) server configured for tests "
                    "(.ci/run sets it when a Babelfish install is at /opt/xmlshred-babelfish)")
    return dsn


@pytest.fixture
def mssql_database(mssql_dsn):
    """A fresh, empty database on the TDS server for one test; its DSN; dropped afterwards.

    The login of XMLSHRED_MSSQL_DSN must be allowed to CREATE DATABASE (on Babelfish: bbf_admin).
    """
    import pyodbc

    name = f"xs_{uuid.uuid4().hex[:12]}"
    admin = pyodbc.connect(mssql_dsn, autocommit=True)
    try:
        admin.execute(f"CREATE DATABASE [{name}]")
    except pyodbc.Error as exc:
        admin.close()
        pytest.skip(f"the login of {MSSQL_DSN_ENV} may not CREATE DATABASE ({exc.args[0]}); use one that may "
                    "(bbf_admin on Babelfish, see ../shared/tools/BABELFISH.md)")
    admin.close()
    try:
        yield _replace_database(mssql_dsn, name)
    finally:
        # A connection of its own: the test may have restarted the server meanwhile. The sessions of
        # a run's processes (killed ones too) may take a moment to end; the name is unique, so a
        # database that still cannot be dropped harms no other test.
        for _attempt in range(10):
            try:
                admin = pyodbc.connect(mssql_dsn, autocommit=True, timeout=10)
                try:
                    admin.execute(f"IF DB_ID(N'{name}') IS NOT NULL DROP DATABASE [{name}]")
                    break
                finally:
                    admin.close()
            except pyodbc.Error:
                time.sleep(1)


@pytest.fixture
def conformance_dir() -> Path:
    return CONFORMANCE


@pytest.fixture(params=["sqlite", "postgres", "mssql"])
def target_url(request, tmp_path):
    """A fresh target: a SQLite file, or a fresh database on the test PostgreSQL server, or on the
    test SQL Server (TDS: Babelfish here) server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    if request.param == "mssql":
        return f"odbc:{request.getfixturevalue('mssql_database')}"
    return f"odbc:{request.getfixturevalue('pg_database')}"
