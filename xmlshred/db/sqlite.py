"""Opening a SQLite target file (stdlib sqlite3; no ODBC needed).

A connection belongs to the thread that opened it, so each Target (and so
each actor) opens its own. WAL lets the reader check processing_log while the
insert actor writes.
"""

from __future__ import annotations

import sqlite3

from xmlshred.db.spec import TargetSpec


def connect_sqlite(spec: TargetSpec) -> sqlite3.Connection:
    """An autocommit-mode connection (transactions are opened explicitly) in WAL mode.

    Raises sqlite3.Error or OSError when the file cannot be created or opened;
    the Target turns that into ConnectTargetError.
    """
    assert spec.path is not None
    if spec.path.parent and not spec.path.parent.exists():
        spec.path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(spec.path), timeout=spec.busy_timeout_s, isolation_level=None)
    try:
        # Switching the journal mode needs the file to itself; ask first, so that
        # connections to a file already in WAL (every one but the first) never compete for it.
        if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            connection.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL survives a killed process (not a power cut) and is much faster.
        connection.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error:
        connection.close()
        raise
    return connection
