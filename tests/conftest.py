"""Shared fixtures: real databases, and no actor left running after a test."""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from xmlshred.db.spec import libpq_url

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


def _dsn_or_skip(variable: str, what: str) -> str:
    """The connection string in environment variable ``variable``; the test is skipped, saying so, without it."""
    dsn = os.environ.get(variable)
    if not dsn:
        pytest.skip(f"{variable} is not set: no {what} configured for tests")
    return dsn


@pytest.fixture
def pg_dsn() -> str:
    """The ODBC connection string of the test PostgreSQL server (skips without one)."""
    return _dsn_or_skip(PG_DSN_ENV, "PostgreSQL server")


@pytest.fixture
def mssql_dsn() -> str:
    """The ODBC connection string of the test SQL Server / Babelfish (TDS) server (skips without one;
    .ci/run sets it when a Babelfish install is at /opt/xmlshred-babelfish)."""
    return _dsn_or_skip(MSSQL_DSN_ENV, "SQL Server (TDS) server")


def _replace_database(dsn: str, database: str) -> str:
    parts = [p for p in dsn.split(";") if p and not p.upper().startswith("DATABASE=")]
    parts.append(f"DATABASE={database}")
    return ";".join(parts)


@contextmanager
def fresh_pg_database(pg_dsn: str, before_drop=None):
    """Create a fresh, empty PostgreSQL database; yield its DSN; drop it afterwards (its sessions
    terminated first). The admin connection is opened for each use, so it survives a test that
    restarts the cluster; ``before_drop`` (e.g. starting the cluster again) runs before the drop."""
    import pyodbc

    name = f"xs_{uuid.uuid4().hex[:12]}"
    admin = pyodbc.connect(pg_dsn, autocommit=True)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    try:
        yield _replace_database(pg_dsn, name)
    finally:
        if before_drop is not None:
            before_drop()
        admin = pyodbc.connect(pg_dsn, autocommit=True)
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?", name)
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        finally:
            admin.close()


@pytest.fixture
def pg_database(pg_dsn):
    """A fresh, empty PostgreSQL database for one test; its DSN; dropped afterwards."""
    with fresh_pg_database(pg_dsn) as dsn:
        yield dsn


@pytest.fixture
def second_pg_database(pg_dsn):
    """Another fresh PostgreSQL database beside ``pg_database``, for tests that compare two targets."""
    with fresh_pg_database(pg_dsn) as dsn:
        yield dsn


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
                    "(bbf_admin on Babelfish)")
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


@pytest.fixture(params=["sqlite", "postgres", "postgres-psycopg", "mssql"])
def target_url(request, tmp_path):
    """A fresh target: a SQLite file, or a fresh database on the test PostgreSQL server reached
    through pyodbc/psqlODBC (``odbc:``) or through psycopg (``postgresql://``, COPY), or on the
    test SQL Server (TDS: Babelfish here) server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    if request.param == "postgres-psycopg":
        pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
        return libpq_url(request.getfixturevalue("pg_database"))
    if request.param == "mssql":
        return f"odbc:{request.getfixturevalue('mssql_database')}"
    return f"odbc:{request.getfixturevalue('pg_database')}"
