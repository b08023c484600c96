"""Shared fixtures: real databases, and no actor left running after a test."""

from __future__ import annotations

import os
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
def conformance_dir() -> Path:
    return CONFORMANCE


def pg_url_of(dsn: str) -> str:
    """The ``postgresql://`` URL (libpq form, psycopg) of the same database as ODBC ``dsn``."""
    from urllib.parse import quote

    pairs = dict(part.split("=", 1) for part in dsn.split(";") if "=" in part)
    values = {key.upper(): value.strip("{}") for key, value in pairs.items()}
    user = quote(values.get("UID", ""), safe="")
    password = quote(values.get("PWD", ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = values.get("SERVER", "127.0.0.1")
    port = f":{values['PORT']}" if values.get("PORT") else ""
    return f"postgresql://{credentials}{host}{port}/{quote(values.get('DATABASE', ''), safe='')}"


@pytest.fixture(params=["sqlite", "postgres", "postgres-psycopg"])
def target_url(request, tmp_path):
    """A fresh target: a SQLite file, or a fresh database on the test PostgreSQL server reached
    through pyodbc/psqlODBC (``odbc:``) or through psycopg (``postgresql://``, COPY)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    if request.param == "postgres-psycopg":
        pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
        return pg_url_of(request.getfixturevalue("pg_database"))
    return f"odbc:{request.getfixturevalue('pg_database')}"
