"""Checking a target before a run: can it be reached, and will it take writes?

``check_target`` runs before any table is created and before any document is
read, so a read-only file, a read-only folder, a read-only database or a
missing privilege stops the run with one line instead of failing at the first
flush. The write probe does what the run's first steps do (create the tables
if missing, upsert one processing_log row) inside a transaction that is
rolled back, so nothing remains.

A dry run never creates a SQLite file: its check only looks (file and folder
permissions, a read-only open). ODBC targets get the rolled-back probe in
both cases, since a rolled-back transaction leaves nothing behind.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

from xmlshred.db.errors import TargetError, TransientTargetError, odbc_sqlstate
from xmlshred.db.quietly import close_quietly, rollback_quietly
from xmlshred.db.secrets import mask_secrets
from xmlshred.db.spec import TargetSpec
from xmlshred.targets.processing_log import LogRow
from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.schema import TargetSchema

PROBE_KEY = -1
"""processing_log key of the probe row (never committed)."""


class TargetCheckError(TargetError, TerminalError):
    """The target cannot be used for this run; the message is one line saying what to do."""


def check_target(spec: TargetSpec, schema: TargetSchema, *, dry_run: bool = False) -> None:
    """Raise TargetCheckError unless the target can be reached and written (nothing is left behind)."""
    if spec.path is not None:
        _check_sqlite(spec, dry_run)
        return
    _check_odbc(spec, schema)


def _said(exc: BaseException) -> str:
    """What the database said, on one line, secrets masked."""
    args = getattr(exc, "args", ())
    text = str(args[1] if len(args) > 1 and isinstance(args[1], str) else exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return mask_secrets(first)


def _explained(exc: BaseException, fallback_hint: str, spec: TargetSpec | None = None) -> str:
    """The driver's words, codes, cause and hint (``fallback_hint`` when no cause applies)."""
    from xmlshred.db.diagnosis import diagnose
    from xmlshred.db.dialects import SQLITE

    dialect = spec.dialect if spec else SQLITE
    diagnosis = diagnose(exc, dialect.name)
    if diagnosis.hint:
        return diagnosis.sentence()
    if issubclass(dialect.classify_error(exc), TransientTargetError):
        # the session was lost (server restarting, backend terminated, timeout): not a permission
        return diagnosis.sentence() + "; the connection was lost or timed out, not refused: run it again " \
                                      "once the server answers"
    return diagnosis.sentence() + f"; {fallback_hint}"


def _code(exc: BaseException) -> str | None:
    name = getattr(exc, "sqlite_errorname", None)
    if name:
        return name
    return odbc_sqlstate(exc)


def _check_sqlite(spec: TargetSpec, dry_run: bool) -> None:
    path = Path(spec.path)
    where = f"target {spec.description}"
    if path.exists():
        if path.is_dir():
            raise TargetCheckError(f"{where} is a folder, not a database file; point [target] url at a file")
        if not os.access(path, os.W_OK):
            raise TargetCheckError(
                f"{where} is read-only (the file cannot be written); make it writable "
                "(chmod u+w, chattr -i) or point [target] url at another file")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise TargetCheckError(
                f"{where}: its folder {path.parent} is read-only, and SQLite must create its "
                f"journal ({path.name}-wal) there; make the folder writable or move the database")
        _sqlite_probe(path, where, dry_run, spec.busy_timeout_s)
        return
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise TargetCheckError(f"{where} cannot be created: {ancestor} is not a folder; fix [target] url")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise TargetCheckError(
            f"{where} cannot be created: the folder {ancestor} is read-only; make it writable "
            "or point [target] url somewhere writable")


def _sqlite_probe(path: Path, where: str, dry_run: bool, timeout_s: float) -> None:
    try:
        if dry_run:
            # Read-only: a dry run must not change the file, not even its journal mode.
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout_s)
        else:
            connection = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        raise TargetCheckError(f"{where} cannot be opened: {_explained(exc, 'check the file and its folder')}") from exc
    try:
        if dry_run:
            connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()
            return
        connection.execute("BEGIN IMMEDIATE")
        connection.execute('CREATE TABLE "xmlshred_write_probe" (x INTEGER)')
        connection.execute('INSERT INTO "xmlshred_write_probe" VALUES (1)')
        connection.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise TargetCheckError(f"{where} refuses writes: " + _explained(
            exc, "make the file and its folder writable, or stop the other process that holds it")) from exc
    finally:
        connection.close()


def _upgrades(cursor, dialect, schema: TargetSchema) -> list[str]:
    """The ALTER TABLEs ``Target.upgrade_bookkeeping`` will run, so the probe writes the row shape it will."""
    from xmlshred.targets import processing_log, runs_table, upgrade

    tables = [processing_log.log_table(schema.key_column), runs_table.runs_table()]
    return upgrade.upgrade_statements(cursor, dialect, schema.schema_name, tables)


def _check_odbc(spec: TargetSpec, schema: TargetSchema) -> None:
    from xmlshred.targets import open_target
    from xmlshred.targets.target import ddl_statements, execute_step, plan_flush

    target = open_target(spec, schema)  # ConnectTargetError already says what to check
    where = f"target {spec.description}"
    dialect = target.dialect  # as connected: the statement shape this server reads
    try:
        connection = target._connection
        cursor = connection.cursor()
        failure: BaseException | None = None
        try:
            if dialect.begin_sql:
                cursor.execute(dialect.begin_sql)
            for statement in ddl_statements(dialect, schema):
                cursor.execute(statement)
            for statement in _upgrades(cursor, dialect, schema):  # an older target's missing columns
                cursor.execute(statement)
            probe = LogRow(PROBE_KEY, "failed", "probe", "write probe", "probe", datetime(2000, 1, 1))
            for step in plan_flush(dialect, schema, [], [probe], spec.identity_columns, {}):
                execute_step(cursor, step, dialect)
        except Exception as exc:
            failure = exc
        finally:
            _end_quietly(connection, cursor)
        if failure is not None:
            # One line, without the driver's exception chained: what the server said and what to do.
            raise TargetCheckError(f"{where} refuses writes: " + _explained(
                failure, "grant this login CREATE and INSERT/UPDATE on the contract's schema (or run init-db as "
                "a user who may), and check that the database is not read-only", spec)) from None
    finally:
        target.close()


def _end_quietly(connection, cursor) -> None:
    """Roll the probe back and close its cursor; never raises. A server that already ended the
    transaction (Babelfish answers ROLLBACK outside one with an error) has nothing left to undo."""
    rollback_quietly(connection)
    close_quietly(cursor)
