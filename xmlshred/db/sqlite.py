"""Opening a SQLite target file (stdlib sqlite3; no ODBC needed).

A connection belongs to the thread that opened it, so each Target (and so
each actor) opens its own. WAL lets the reader check processing_log while the
insert actor writes.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

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


def tidy_wal(path: str | Path) -> bool:
    """Checkpoint, then close, so no empty ``-wal``/``-shm`` file stays beside a database a run opened.

    A read-only connection (sources, dry runs) cannot remove a WAL database's
    ``-wal`` and ``-shm`` files when it closes last; a read-write connection
    that closes last checkpoints and removes them. Opened only when one of
    the files is there and the database file and its folder are writable; a
    checkpoint only moves committed pages into the file. Never waits on
    another connection and never raises; returns whether the files are gone.
    """
    path = Path(path)
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if not (wal.exists() or shm.exists()) or not path.is_file():
        return False
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
        return False
    try:
        connection = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            connection.close()  # the last connection to close removes -wal and -shm
    except (sqlite3.Error, OSError):
        return False
    return not wal.exists() and not shm.exists()
