"""A target opened only to read processing_log: for dry runs and ``report``.

Nothing here creates or changes anything: a SQLite file is opened with
``mode=ro`` (a missing file is not created), and a target without
processing_log reads as "nothing done yet" instead of failing. Missing
tables are recognised by the catalogue (SQLite) or by SQLSTATE (42P01
PostgreSQL, 42S02 SQL Server), never by message text.
"""

from __future__ import annotations

import sqlite3

from xmlshred.db import sql
from xmlshred.db.errors import TargetError
from xmlshred.db.spec import TargetSpec
from xmlshred.targets import processing_log
from xmlshred.targets.target import Target
from xmlshred.vocab.schema import TargetSchema

_UNDEFINED_TABLE = ("42P01", "42S02")


def _connect_sqlite_readonly(spec: TargetSpec) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{spec.path}?mode=ro", uri=True, timeout=spec.busy_timeout_s,
                           isolation_level=None)


class ReadOnlyTarget:
    """``done_keys``, ``table_rows``, ``reconnect`` and ``close`` of a Target, without writing.

    ``exists`` is False when the SQLite file is missing; ``has_processing_log``
    when that table is there. Both missing read as empty.
    """

    def __init__(self, spec: TargetSpec, schema: TargetSchema | None) -> None:
        self.spec = spec
        self.schema = schema
        self.dialect = spec.dialect
        self.exists = spec.path is None or spec.path.is_file()
        self._target: Target | None = None
        self.has_processing_log = False
        if not self.exists:
            return
        if spec.path is not None:
            self._target = Target(spec, _connect_sqlite_readonly, schema)
        else:
            from xmlshred.db.connect import connect_server_target

            self._target = Target(spec, connect_server_target, schema)
        self._target.connect()
        self.has_processing_log = self.has_table(processing_log.TABLE_NAME)

    def has_table(self, name: str) -> bool:
        """Is table ``name`` there (in the schema's schema)? False for a target that does not exist."""
        if self._target is None:
            return False
        if self.spec.path is not None:
            rows = self._target._read("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                                      (name,), name)
            return bool(rows)
        schema_name = self.schema.schema_name if self.schema is not None else None
        if self.dialect.table_exists is not None:
            return bool(self._target._read(self.dialect.table_exists(self.dialect, schema_name, name), (), name))
        ref = sql.table_ref(self.dialect, schema_name, name)
        try:
            self._target._read(f"SELECT COUNT(*) FROM {ref} WHERE 1 = 0", (), name)
        except TargetError as exc:
            if getattr(exc, "sqlstate", None) in _UNDEFINED_TABLE:
                return False
            raise
        return True

    def done_keys(self, keys, schema: TargetSchema | None = None) -> dict[int, str]:
        if not self.has_processing_log:
            return {}
        return self._target.done_keys(keys, schema or self.schema)

    def done_records(self, keys, schema: TargetSchema | None = None) -> dict:
        if not self.has_processing_log:
            return {}
        return self._target.done_records(keys, schema or self.schema)

    def known_rejects(self, schema: TargetSchema | None = None) -> dict:
        """source_ref -> (size, mtime_ns) of xmlshred_rejects; empty when the table is not there."""
        from xmlshred.targets import quality
        from xmlshred.vocab.names import REJECTS_TABLE

        if not self.has_table(REJECTS_TABLE):
            return {}
        schema = schema or self.schema
        return quality.known_rejects(quality.read_rejects(self._target, schema.schema_name if schema else None))

    def table_rows(self, table: str, schema_name: str | None = None) -> list[tuple]:
        return self._target.table_rows(table, schema_name)

    def count_rows(self, table: str, schema_name: str | None = None) -> int | None:
        """Rows in ``table``; None when the table (or the target) is not there. For ``status``."""
        if not self.has_table(table):
            return None
        return self._target.count_rows(table, schema_name)

    def status_counts(self) -> dict[str, int]:
        """processing_log rows per status (``success``, ``failed``); empty without a processing_log."""
        if not self.has_processing_log:
            return {}
        schema_name = self.schema.schema_name if self.schema is not None else None
        ref = sql.table_ref(self.dialect, schema_name, processing_log.TABLE_NAME)
        status = sql.quote(self.dialect, "status", "column")
        rows = self._target._read(f"SELECT {status}, COUNT(*) FROM {ref} GROUP BY {status}", (),
                                  processing_log.TABLE_NAME)
        return {str(name): int(count) for name, count in rows}

    def write_flush(self, *args, **kwargs) -> None:
        raise TargetError("a read-only target takes no writes (dry run or report)")

    def reconnect(self) -> None:
        if self._target is not None:
            self._target.reconnect()

    def close(self) -> None:
        if self._target is not None:
            self._target.close()


def open_readonly(spec: TargetSpec, schema: TargetSchema | None = None) -> ReadOnlyTarget:
    """A ReadOnlyTarget; ConnectTargetError when an existing target cannot be opened."""
    return ReadOnlyTarget(spec, schema)
