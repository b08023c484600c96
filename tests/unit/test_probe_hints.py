"""The write probe's hint follows what the driver's code says: a lost session is not a refusal."""

from __future__ import annotations

import pyodbc

from xmlshred.db.spec import parse_target_url
from xmlshred.targets import probe

PG = parse_target_url("odbc:DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;DATABASE=x;UID=u;PWD=secret")
GRANT = "grant this login CREATE and INSERT/UPDATE"


def test_a_terminated_session_is_not_told_to_grant_permissions():
    lost = pyodbc.OperationalError("57P01", "[57P01] FATAL: terminating connection due to administrator command (35)")
    text = probe._explained(lost, GRANT, PG)
    assert "not refused: run it again" in text and GRANT not in text
    assert "57P01" in text and "secret" not in text


def test_an_error_without_a_known_cause_keeps_the_fallback_hint():
    other = pyodbc.ProgrammingError("42P17", "[42P17] ERROR: some refusal (1)")
    assert GRANT in probe._explained(other, GRANT, PG)
