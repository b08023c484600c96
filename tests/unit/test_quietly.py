"""db.quietly: ending a connection that is already gone never raises; a live one is ended."""

from __future__ import annotations

import sqlite3

import pytest

from xmlshred.db.quietly import close_quietly, rollback_quietly


def test_a_closed_connection_is_ended_quietly(tmp_path):
    connection = sqlite3.connect(tmp_path / "gone.db")
    connection.close()
    with pytest.raises(sqlite3.ProgrammingError):
        connection.rollback()  # what the helpers swallow
    rollback_quietly(connection)
    close_quietly(connection)
    rollback_quietly(None)
    close_quietly(None)


def test_a_live_connection_is_rolled_back_and_closed(tmp_path):
    connection = sqlite3.connect(tmp_path / "live.db", isolation_level=None)
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.execute("BEGIN")
    connection.execute("INSERT INTO t VALUES (1)")
    rollback_quietly(connection)
    assert connection.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)
    close_quietly(connection)
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")
