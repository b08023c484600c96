"""A connected target database: create tables, write flushes, read processing_log.

A Target is used by one thread only (SQLite connections belong to their
thread; pyodbc connections are not shared either). Every method that fails
rolls back what it started and raises a TargetError subclass chained to the
driver's exception; messages name the table/key and never carry row values
or unmasked passwords.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from xmlshred.db import sql
from xmlshred.db.diagnosis import explain
from xmlshred.db.dialect_types import Dialect
from xmlshred.db.errors import (
    ConnectTargetError,
    DataTargetError,
    TargetError,
    TransientTargetError,
    describe_sqlstate,
    odbc_sqlstate,
)
from xmlshred.db.quietly import close_quietly, rollback_quietly
from xmlshred.db.record_rows import delete_rows, key_chunk
from xmlshred.db.spec import TargetSpec
from xmlshred.db.values import column_array, tsql_json_value
from xmlshred.targets import processing_log, quality, runs_table
from xmlshred.targets.processing_log import LogRow
from xmlshred.vocab.lineage import RecordLineage
from xmlshred.vocab.schema import Table, TargetSchema

T = TypeVar("T")

_FIX_HINTS = {
    DataTargetError: "the rows do not fit the table's columns or constraints (the caller splits the flush "
                     "to find the record); check the contract's data_length/nullable against the table",
    TransientTargetError: "the connection or transaction was lost (outage, deadlock, timeout); "
                          "reconnect and retry the same flush",
    TargetError: "check that `{init_db}` created the tables and that the contract matches them",
}

_STATEMENT_CACHE_SIZE = 256


def _fix_hint(kind: type[TargetError]) -> str:
    from xmlshred.vocab.program import command

    return _FIX_HINTS[kind].format(init_db=command("init-db"))


def _error_code(exc: BaseException) -> str | None:
    name = getattr(exc, "sqlite_errorname", None)
    if name:
        return name
    return odbc_sqlstate(exc)  # psycopg's exc.sqlstate, or pyodbc's args[0]


class Target:
    """One connection to a target database, with the dialect that drives it."""

    def __init__(self, spec: TargetSpec, connect: Callable[[TargetSpec], object],
                 schema: TargetSchema | None = None) -> None:
        self.spec = spec
        """Where this target points (``repr`` is masked)."""
        self.dialect: Dialect = spec.dialect
        """The dialect record in use."""
        self.schema = schema
        """The last schema seen; done_keys/count_rows/table_rows default to it."""
        self._connect = connect
        self._connection = None
        self._statements: dict[tuple, str] = {}
        self._log_has_hash: bool | None = None

    # ------------------------------------------------------------ connection

    def connect(self) -> None:
        """Open the connection; ConnectTargetError (masked, with what to check) on failure."""
        try:
            self._connection = self._connect(self.spec)
        except TargetError:
            raise
        except Exception as exc:
            raise ConnectTargetError(self._connect_message(exc), sqlstate=_error_code(exc)) from exc
        self.dialect = usable_dialect(self.spec.dialect, self._connection)

    def reconnect(self) -> None:
        """Drop the connection and open a new one.

        Raises TransientTargetError when the server is still unreachable
        (SQLSTATE 08*, timeouts: back off and call again) and
        ConnectTargetError for anything else (e.g. login refused).
        """
        self.close()
        try:
            self._connection = self._connect(self.spec)
        except TargetError:
            raise
        except Exception as exc:
            kind = self.dialect.classify_error(exc)
            error = TransientTargetError if kind is TransientTargetError else ConnectTargetError
            raise error(self._connect_message(exc), sqlstate=_error_code(exc)) from exc
        self.dialect = usable_dialect(self.spec.dialect, self._connection)

    def close(self) -> None:
        """Close the connection; never raises (a dead connection is simply dropped)."""
        connection, self._connection = self._connection, None
        rollback_quietly(connection)
        close_quietly(connection)

    def _connect_message(self, exc: BaseException) -> str:
        diagnosis = explain(exc, self.spec, connecting=True)
        hint = "" if diagnosis.hint else (
            "; check the server name and port, that the server is running and reachable, "
            "the database name and the credentials ([target] in config.toml)")
        return f"cannot connect to target {self.spec.description}: {diagnosis.sentence()}{hint}"

    def _cursor(self):
        if self._connection is None:
            raise TargetError(f"target {self.spec.description} is not connected; call reconnect()")
        return self._connection.cursor()

    def execute_statements(self, statements: list[str], action: str) -> None:
        """Run ``statements`` (DDL or other statements without parameters) in one transaction and commit.

        Raises the classified TargetError (rolled back) naming ``action`` when one fails.
        """
        try:
            cursor = self._cursor()
            try:
                for statement in statements:
                    cursor.execute(statement)
                self._connection.commit()
            finally:
                cursor.close()
        except Exception as exc:
            raise self._fail(exc, action) from exc

    def in_transaction(self, work: Callable[[Any], T], action: str, table: str | None = None) -> T:
        """``work(cursor)``'s result, in one transaction that is then committed (a read's too: no
        session is left idle in a transaction). Raises the classified TargetError (rolled back)
        naming ``action`` and ``table`` when it fails."""
        cursor = self._cursor()
        try:
            result = work(cursor)
            self._connection.commit()
            return result
        except Exception as exc:
            raise self._fail(exc, action, table=table) from exc
        finally:
            cursor.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------ errors

    def _fail(self, exc: BaseException, action: str, table: str | None = None,
              key: int | None = None) -> TargetError:
        """Roll back and build the classified error for ``exc`` (the caller raises it from exc)."""
        rollback_quietly(self._connection)
        if isinstance(exc, TargetError):
            return exc
        kind = self.dialect.classify_error(exc)
        if kind is TargetError and self._connection_lost():
            # Some drivers report a session the server ended as a general error (psqlODBC:
            # HY000 from its internal SAVEPOINT); a lost connection is transient whatever it said.
            kind = TransientTargetError
        code = _error_code(exc)
        where = "".join(part for part in (
            f" table={table}" if table else "",
            f" key={key}" if key is not None else "",
        ))
        message = (f"{action} failed on {self.dialect.name} target{where}: {describe_sqlstate(code)} "
                   f"({type(exc).__name__}); {_fix_hint(kind)}")
        if kind is not DataTargetError:
            # Data errors' driver words may quote row values; every other error carries them.
            diagnosis = explain(exc, self.spec)
            hint = diagnosis.hint or _fix_hint(kind)
            message = f"{action} failed on {self.dialect.name} target{where}: {diagnosis.sentence()}"
            if not diagnosis.hint:
                message += f"; {hint}"
        return kind(message, sqlstate=code, table=table, key=key)

    def _connection_lost(self) -> bool:
        """Whether the connection is gone, judged by a probe whose error is classified (never by text)."""
        if self._connection is None:
            return True
        try:
            cursor = self._connection.cursor()
            try:
                cursor.execute("SELECT 1").fetchall()
            finally:
                cursor.close()
        except Exception as probe_error:
            return self.dialect.classify_error(probe_error) is TransientTargetError
        finally:
            rollback_quietly(self._connection)
        return False

    # ------------------------------------------------------------ DDL

    def create_tables(self, schema: TargetSchema) -> None:
        """CREATE SCHEMA / TABLE IF NOT EXISTS for every table, processing_log and xmlshred_runs, in one transaction.

        Idempotent. Raises UnsafeIdentifierError for a name that is not a
        plain identifier (before touching the database), TargetError when
        the database refuses (rolled back).
        """
        self.schema = schema
        statements = self._ddl(schema)
        cursor = self._cursor()
        try:
            if self.dialect.begin_sql:
                cursor.execute(self.dialect.begin_sql)
            for statement in statements:
                cursor.execute(statement)
            self._connection.commit()
        except Exception as exc:
            raise self._fail(exc, "create_tables") from exc
        finally:
            cursor.close()
        self.upgrade_bookkeeping(schema)

    def upgrade_bookkeeping(self, schema: TargetSchema) -> list[str]:
        """Add the columns an older processing_log / xmlshred_runs lacks (``targets.upgrade``), in
        one transaction; returns the statements run. Rows already there stay as they were.
        TargetError (rolled back) when the database refuses."""
        from xmlshred.targets import upgrade

        tables = [processing_log.log_table(schema.key_column), runs_table.runs_table()]
        cursor = self._cursor()
        try:
            statements = upgrade.upgrade_statements(cursor, self.dialect, schema.schema_name, tables)
            if statements and self.dialect.begin_sql:
                cursor.execute(self.dialect.begin_sql)
            for statement in statements:
                cursor.execute(statement)
            self._connection.commit()
        except Exception as exc:
            raise self._fail(exc, "upgrade_bookkeeping", table=processing_log.TABLE_NAME) from exc
        finally:
            cursor.close()
        self._log_has_hash = None
        return statements

    def log_has_contract_hash(self, schema: TargetSchema | None = None) -> bool:
        """Whether processing_log has the contract_hash column (False on a target not yet upgraded)."""
        if self._log_has_hash is None:
            names = self.table_columns(processing_log.TABLE_NAME, self._require_schema(schema).schema_name)
            self._log_has_hash = processing_log.CONTRACT_HASH in names
        return self._log_has_hash

    def table_columns(self, table: str, schema_name: str | None) -> list[str]:
        """The column names of an existing ``table``, lowercased; TargetError when it cannot be read."""
        from xmlshred.targets import upgrade

        return self.in_transaction(lambda cursor: upgrade.table_columns(cursor, self.dialect, schema_name, table),
                                   "read columns", table)

    def _ddl(self, schema: TargetSchema) -> list[str]:
        return ddl_statements(self.dialect, schema)

    # ------------------------------------------------------------ writes

    def write_flush(self, schema: TargetSchema, tables: Sequence[tuple[str, Sequence[tuple]]],
                    log_rows: Sequence[LogRow], dedupe: Collection[str] | None = None,
                    quality_rows: Sequence[quality.QualityRow] = (),
                    reject_rows: Sequence[quality.RejectRow] = (),
                    cleared_rejects: Sequence[str] = (),
                    replace: Replacement | None = None) -> None:
        """Write one flush in one transaction: data rows table by table, processing_log, commit.

        ``tables``: (table name, row tuples in Table column order), in insertion
        order, values already in the dialect's ``row_values`` form (the mapper
        workers made them so; nothing is converted here). ``dedupe``: the
        skip/update tables whose rows may repeat a primary key (one row per key
        is kept); None: every skip/update table. ``log_rows``: upserted into processing_log (``attempts`` + 1 for
        a key already there; a ``success`` row is never turned into
        ``failed``: that upsert leaves it untouched). On failure everything is rolled back and
        DataTargetError (SQLSTATE 21*/22*/23*: split the flush),
        TransientTargetError (connection lost, deadlock, timeout: reconnect and
        retry) or TargetError (anything else: stop) is raised from the
        driver's exception. ``quality_rows`` (the writer's running totals in xmlshred_quality)
        and ``reject_rows`` (xmlshred_rejects) are written last, in the same transaction; the
        xmlshred_rejects rows of ``cleared_rejects`` (source refs that now have a key) are deleted.
        ``replace`` (a reprocess): the earlier rows of those
        records are deleted from every contract table first, in the same
        transaction, so a record is wholly old or wholly new.
        """
        self.schema = schema
        single_key = log_rows[0].key if len(log_rows) == 1 else None
        plan = plan_flush(self.dialect, schema, tables, log_rows, self.spec.identity_columns, self._statements,
                          dedupe, quality_rows, reject_rows, cleared_rejects)
        if replace is not None and replace.keys:
            plan = itertools.chain(replace_steps(self.dialect, schema, replace), plan)
        cursor = self._cursor()
        current: str | None = None
        identity_off: str | None = None
        try:
            if self.dialect.begin_sql:
                cursor.execute(self.dialect.begin_sql)
            for step in plan:
                current = step.table
                execute_step(cursor, step, self.dialect)
                if step.kind == "identity_on":
                    identity_off = step.undo
                elif step.kind == "identity_off":
                    identity_off = None
            self._connection.commit()
        except Exception as exc:
            error = self._fail(exc, "write_flush", table=current, key=single_key)
            if identity_off:
                self._quietly(identity_off)  # IDENTITY_INSERT is per session, not undone by rollback
            raise error from exc
        finally:
            cursor.close()

    def _quietly(self, statement: str) -> None:
        try:
            cursor = self._connection.cursor()
            cursor.execute(statement)
            cursor.close()
        except Exception:
            pass

    # ------------------------------------------------------------ reads

    def done_keys(self, keys: Iterable[int], schema: TargetSchema | None = None) -> dict[int, str]:
        """``{key: status}`` for the keys that have a processing_log row.

        Uses ``schema`` or the last one seen (open_target/create_tables/
        write_flush). Raises TargetError (classified) when the table cannot
        be read, e.g. before ``init-db``.
        """
        return {key: status for key, status in self._logged(keys, schema, ("status",))}

    def done_records(self, keys: Iterable[int],
                     schema: TargetSchema | None = None) -> dict[int, processing_log.Settled]:
        """``{key: Settled(status, stage, run_id, contract_hash)}`` for the keys that have a processing_log row
        (what the reader needs to tell records done by earlier runs from those an earlier
        attempt of its own run settled, and a reprocess the stale ones). Raises like ``done_keys``."""
        if not self.log_has_contract_hash(schema):
            return {key: processing_log.Settled(status, stage, run_id)
                    for key, status, stage, run_id in self._logged(keys, schema, ("status", "stage", "run_id"))}
        return {key: processing_log.Settled(status, stage, run_id, contract_hash or "")
                for key, status, stage, run_id, contract_hash
                in self._logged(keys, schema, ("status", "stage", "run_id", processing_log.CONTRACT_HASH))}

    def _logged(self, keys: Iterable[int], schema: TargetSchema | None, columns: tuple[str, ...]) -> list[tuple]:
        """(key, *columns) of the processing_log rows of ``keys``."""
        schema = self._require_schema(schema)
        keys = list(dict.fromkeys(int(key) for key in keys))
        if not keys:
            return []
        ref = sql.table_ref(self.dialect, schema.schema_name, processing_log.TABLE_NAME)

        def read(cursor) -> list[tuple]:
            found: list[tuple] = []
            for chunk in sql.chunks(keys, min(1000, self.dialect.max_params_per_statement)):
                statement = sql.select_in(self.dialect, ref, (schema.key_column, *columns),
                                          schema.key_column, len(chunk))
                found += [(int(row[0]), *row[1:]) for row in cursor.execute(statement, chunk).fetchall()]
            return found

        return self.in_transaction(read, "done_keys", processing_log.TABLE_NAME)

    def known_rejects(self, schema: TargetSchema | None = None) -> dict[str, tuple[int | None, int | None]]:
        """source_ref -> (size, mtime_ns) of every xmlshred_rejects row; TargetError when unreadable."""
        schema = self._require_schema(schema)
        return quality.known_rejects(quality.read_rejects(self, schema.schema_name))

    def count_rows(self, table: str, schema_name: str | None = None) -> int:
        """Number of rows in ``table`` (for tests and reports); TargetError on failure."""
        statement, params = sql.count_rows(self.dialect, self._ref(table, schema_name))
        return int(self._read(statement, params, table)[0][0])

    def table_rows(self, table: str, schema_name: str | None = None) -> list[tuple]:
        """Every row of ``table`` as stored, columns in table order (unordered rows)."""
        statement = f"SELECT * FROM {self._ref(table, schema_name)}"
        return [tuple(row) for row in self._read(statement, (), table)]

    def _ref(self, table: str, schema_name: str | None) -> str:
        if schema_name is None and self.schema is not None:
            schema_name = self.schema.schema_name
        return sql.table_ref(self.dialect, schema_name, table)

    def _read(self, statement: str, params: Sequence, table: str) -> list:
        return self.in_transaction(lambda cursor: cursor.execute(statement, list(params)).fetchall(), "read", table)

    def _require_schema(self, schema: TargetSchema | None) -> TargetSchema:
        schema = schema or self.schema
        if schema is None:
            raise TargetError("the target does not know the contract's schema yet; "
                              "pass schema= to open_target or done_keys")
        self.schema = schema
        return schema


OPENJSON_CHECK = "SELECT COUNT(*) FROM OPENJSON(N'[1]')"
"""Answers 1 where OPENJSON exists (SQL Server 2016+ at compatibility level 130, Babelfish)."""


def usable_dialect(dialect: Dialect, connection) -> Dialect:
    """``dialect``, or for an ``openjson`` dialect whose server cannot read OPENJSON (SQL Server
    before 2016, or a database at a compatibility level below 130) the same dialect writing
    multi-row VALUES. Asks the server once per connection; nothing else changes."""
    if dialect.insert_strategy != "openjson":
        return dialect
    cursor = connection.cursor()
    try:
        cursor.execute(OPENJSON_CHECK).fetchall()
        return dialect
    except Exception:
        from loguru import logger

        logger.bind(actor="target").info(
            "the target cannot read OPENJSON (SQL Server before 2016 or compatibility level below 130); "
            "writing multi-row VALUES statements instead")
        return replace(dialect, insert_strategy="multi_row_values")
    finally:
        rollback_quietly(connection)
        cursor.close()


def ddl_statements(dialect: Dialect, schema: TargetSchema) -> list[str]:
    """CREATE SCHEMA (where schemas exist) and CREATE TABLE IF NOT EXISTS for every table,
    processing_log and xmlshred_runs (the run lease's record)."""
    statements = [dialect.ddl_lock(dialect)] if dialect.ddl_lock is not None else []
    if schema.schema_name:
        sql.check_identifier(schema.schema_name, "schema")
        if dialect.create_schema is not None:
            statements.append(dialect.create_schema(dialect, schema.schema_name))
    for table in (*schema.tables, processing_log.log_table(schema.key_column), runs_table.runs_table(),
                  *quality.engine_tables()):
        _check_conflict_rule(table)
        statements.append(dialect.create_table(dialect, schema.schema_name, table))
    return statements


def execute_step(cursor, step: Step, dialect: Dialect) -> None:
    """Run one flush step on ``cursor`` (flushes and the write probe alike)."""
    if step.kind == "copy":
        cursor.copy_rows(step.sql, step.params)
    elif step.kind == "copy_first":
        _copy_first(cursor, step, dialect)
    elif step.kind == "stage":
        staged = cursor.connection.staged  # a PgConnection: what this session already has
        if step.sql not in staged:
            cursor.execute(step.sql)
            staged.add(step.sql)
    elif step.many:
        if dialect.fast_executemany:
            from xmlshred.db.odbc import set_fast_executemany

            set_fast_executemany(cursor.connection, cursor, dialect)  # only with Microsoft's driver
        cursor.executemany(step.sql, step.params)
    else:
        cursor.execute(step.sql, step.params)


COPY_SAVEPOINT = "xmlshred_copy"


def _copy_first(cursor, step: Step, dialect: Dialect) -> None:
    """A skip/update table's rows (or processing_log's) by a plain COPY into the table, when none of
    their keys is there yet: the usual case (a record's rows are written once; processing_log gets
    new keys), at the cost of a plain COPY. A duplicate key (23505) undoes that COPY (savepoint)
    and the rows go through the staging table and the ON CONFLICT upsert, which gives the table's
    skip/update rule (and the ledger's keep rule) exactly. A table that met one goes straight
    to its staging table for the rest of the session. Any other error stays the flush's."""
    connection = cursor.connection
    if step.sql not in connection.conflicted:
        cursor.execute(f"SAVEPOINT {COPY_SAVEPOINT}")
        try:
            cursor.copy_rows(step.sql, step.params)
        except Exception as exc:
            if odbc_sqlstate(exc) != "23505":
                raise
            cursor.execute(f"ROLLBACK TO SAVEPOINT {COPY_SAVEPOINT}")
            connection.conflicted.add(step.sql)
        else:
            cursor.execute(f"RELEASE SAVEPOINT {COPY_SAVEPOINT}")
            return
    for fallback in step.fallback:
        execute_step(cursor, fallback, dialect)


@dataclass(frozen=True, slots=True)
class Step:
    """One statement of a flush, as the Target will execute it."""

    sql: str
    """The statement text (``?`` placeholders)."""
    params: Sequence
    """Parameters of one execution, or a list of parameter rows when ``many``."""
    table: str
    """The table it concerns (named in error messages)."""
    many: bool = False
    """Execute with executemany (one row per execution)."""
    kind: str = "write"
    """``write`` | ``delete`` (a reprocess's earlier rows) | ``identity_on`` | ``identity_off`` |
    ``copy`` (``params`` are the rows of a ``COPY … FROM STDIN``) | ``copy_first`` (a skip/update
    table's COPY straight into the table, under a savepoint; on a duplicate key, SQLSTATE 23505,
    back to the savepoint and ``fallback``) | ``stage`` (create the session's staging table, once per session)."""
    undo: str | None = None
    """For identity_on: the statement that switches it off again if the flush fails."""
    fallback: tuple = ()
    """For ``copy_first``: the steps that do the same when the plain COPY meets a key already there."""


def plan_flush(dialect: Dialect, schema: TargetSchema, tables: Iterable[tuple[str, Sequence[tuple]]],
               log_rows: Sequence[LogRow], identity_columns: bool = False,
               cache: dict | None = None, dedupe: Collection[str] | None = None,
               quality_rows: Sequence[quality.QualityRow] = (),
               reject_rows: Sequence[quality.RejectRow] = (),
               cleared_rejects: Sequence[str] = ()) -> Iterator[Step]:
    """The statements of one flush, lazily: each table's rows in order, then processing_log.

    Data rows are sent as they are (already in ``dialect.row_values`` form);
    ``dedupe`` names the skip/update tables that need one row per primary key
    (None: all of them). processing_log rows are converted here. Pure (no
    I/O), so the exact SQL Server statements are testable without a server.
    Raises UnsafeIdentifierError for an unsafe name and TargetError for an
    unknown table or a row of the wrong width.
    """
    cache = {} if cache is None else cache
    staged: set[str] = set()  # copy strategy: staging tables already filled in this flush
    log_table = processing_log.log_table(schema.key_column)
    log_ref = sql.table_ref(dialect, schema.schema_name, log_table.name)
    for table_name, rows in tables:
        if not rows:
            continue
        table = _schema_table(schema, table_name)
        ref = sql.table_ref(dialect, schema.schema_name, table.name)
        identity = identity_columns and any(column.identity for column in table.columns)
        on = sql.identity_insert(dialect, ref, True) if identity else None
        off = sql.identity_insert(dialect, ref, False) if on else None
        if on:
            yield Step(on, (), table.name, kind="identity_on", undo=off)
        if dedupe is None or table.name in dedupe:
            rows = _dedupe(table, rows)
        yield from _row_steps(dialect, ref, table, rows, (), cache, staged=staged)
        if off:
            yield Step(off, (), table.name, kind="identity_off")
    values = processing_log.log_values(log_rows)
    if values:
        yield from _row_steps(dialect, log_ref, log_table, _log_converter(dialect, log_table, cache)(values),
                              processing_log.INCREMENTED, cache, processing_log.KEEP_RULES, staged=staged)
    for table, rows in ((quality.quality_table(), quality_rows), (quality.rejects_table(), reject_rows)):
        for statement, params in quality.upsert_steps(dialect, schema.schema_name, table, rows):
            yield Step(statement, params, table.name)
    for statement, params in quality.delete_steps(dialect, schema.schema_name, cleared_rejects):
        yield Step(statement, params, quality.REJECTS_TABLE)


@dataclass(frozen=True, slots=True)
class Replacement:
    """A reprocess's part of a flush: the records whose earlier rows go before their new ones."""

    lineage: RecordLineage
    """How each contract table's rows of a record are reached (``contract.record_lineage``)."""
    keys: tuple[int, ...]
    """The record keys whose earlier rows are deleted."""


def replace_steps(dialect: Dialect, schema: TargetSchema, replace: Replacement) -> Iterator[Step]:
    """DELETE statements removing the earlier rows of ``replace.keys`` from every contract table,
    children (reached through their parents) before the parents. Pure, like ``plan_flush``."""
    keys = list(dict.fromkeys(int(key) for key in replace.keys))
    for path in replace.lineage.delete_order:
        for chunk in sql.chunks(keys, key_chunk(dialect)):
            yield Step(delete_rows(dialect, schema.schema_name, path, replace.lineage.key_column, len(chunk)),
                       list(chunk), path.table, kind="delete")


def _log_converter(dialect: Dialect, log_table: Table, cache: dict):
    cache_key = ("log_values", dialect.name, log_table.columns)
    convert = cache.get(cache_key)
    if convert is None:
        convert = cache[cache_key] = dialect.row_values(log_table.columns)
    return convert


def _row_steps(dialect: Dialect, ref: str, table: Table, rows: Sequence[tuple], increments: Sequence[str],
               cache: dict, keep: tuple = (), staged: set[str] | None = None) -> Iterator[Step]:
    width = len(table.columns)
    for row in rows:
        if len(row) != width:
            raise TargetError(
                f"table={table.name} got a row of {len(row)} values for {width} columns; "
                "the mapped rows do not match the schema (a bug in the mapper)", table=table.name
            )

    strategy = dialect.insert_strategy

    def statement(row_count: int, shape: str = strategy) -> str:
        cache_key = (dialect.name, shape, ref, table.name, table.on_conflict, row_count,
                     tuple(increments), keep)
        text = cache.get(cache_key)
        if text is None:
            text = insert_statement(dialect, ref, table, row_count, increments, keep, shape)
            if len(cache) < _STATEMENT_CACHE_SIZE:  # odd remainders would otherwise pile up
                cache[cache_key] = text
        return text

    def values_steps(chunk: Sequence[tuple]) -> Iterator[Step]:
        # A statement may read its rows more than once (T-SQL's UPDATE then INSERT): each copy has
        # the rows' parameters, and the copies together stay within the parameter limit.
        uses = sql.source_uses(statement(1, "multi_row_values"), width)
        for part in sql.chunks(chunk, sql.rows_per_statement(dialect, width * uses)):
            params = [value for row in part for value in row]
            yield Step(statement(len(part), "multi_row_values"), params * uses, table.name)

    if strategy == "copy":
        yield from _copy_steps(dialect, ref, table, rows, increments, keep, cache,
                               set() if staged is None else staged)
        return
    if strategy == "column_arrays":
        sql.rows_per_statement(dialect, width)  # refuses a table wider than the parameter limit
        for chunk in sql.chunks(rows, dialect.max_rows_per_statement):
            # Transposed in C (zip); the usual columns joined in C too (db.values.column_array).
            yield Step(statement(0), [column_array(column) for column in zip(*chunk, strict=True)], table.name)
        return
    if strategy == "openjson":
        text = statement(0)
        uses = sql.source_uses(text, 1)  # an upsert that updates reads the rows twice
        long_text = sql.json_long_text_columns(table.columns)
        limit = sql.JSON_TEXT_LIMIT
        for chunk in sql.chunks(rows, dialect.rows_per_json):
            if long_text and any(type(row[index]) is str and len(row[index]) >= limit
                                 for row in chunk for index in long_text):
                # A value OPENJSON would cut (Babelfish): this chunk goes as multi-row VALUES.
                yield from values_steps(chunk)
            else:
                yield Step(text, [json_rows(chunk, table)] * uses, table.name)
        return
    if strategy == "executemany":
        uses = sql.source_uses(statement(1), width)
        sql.rows_per_statement(dialect, width * uses)
        for chunk in sql.chunks(rows, dialect.max_rows_per_statement):
            yield Step(statement(1), chunk if uses == 1 else [row * uses for row in chunk], table.name, many=True)
        return
    yield from values_steps(rows)


def json_rows(rows: Sequence[tuple], table: Table) -> str:
    """The rows as one JSON array of row arrays, the parameter ``sql.json_source`` reads.

    The rows are database-ready (ints, floats, text, None); a value JSON cannot carry (NaN,
    infinity, an unconverted object) is a DataTargetError naming the table, so the flush is split
    to find its record, as the server's own refusal would be.
    """
    try:
        return json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                          default=tsql_json_value)
    except (TypeError, ValueError) as exc:
        raise DataTargetError(
            f"table={table.name} has a value JSON cannot carry ({type(exc).__name__}: not a finite number, "
            "text or NULL); the record is failed as the server would refuse it", table=table.name) from None


def _copy_steps(dialect: Dialect, ref: str, table: Table, rows: Sequence[tuple], increments: Sequence[str],
                keep: tuple, cache: dict, staged: set[str]) -> Iterator[Step]:
    """PostgreSQL by COPY: a plain table's rows straight in (``COPY ref FROM STDIN``); a skip/update
    table's (and processing_log's) straight in too while none of their keys is there (``copy_first``),
    else into the session's temporary staging table, then one ``INSERT … SELECT … FROM stage ON
    CONFLICT …`` (the same upsert, keep rules and increments as every other path). Any table of the
    schema and any engine table goes the same way."""
    _check_conflict_rule(table)
    columns = table.column_names
    if table.on_conflict == "error" and not increments and not keep:
        key = ("copy", ref, columns)
        text = cache.get(key) or cache.setdefault(key, sql.copy_from_stdin(dialect, ref, columns))
        yield Step(text, rows, table.name, kind="copy")
        return
    key = ("copy-upsert", ref, columns, table.primary_key, table.on_conflict, tuple(increments), keep)
    statements = cache.get(key)
    if statements is None:
        stage = sql.stage_name(ref)
        quoted = sql.quote(dialect, stage, "table")
        statements = cache[key] = (
            stage,
            sql.create_stage(dialect, stage, ref),
            sql.copy_from_stdin(dialect, quoted, columns),
            dialect.upsert(dialect, ref, columns, table.primary_key, 0, table.on_conflict == "update",
                           increments, keep, row_source=sql.stage_source(dialect, stage, columns)),
            f"DELETE FROM {quoted}",
        )
    stage, create, copy, upsert, empty = statements
    direct = cache.get(("copy", ref, columns)) or cache.setdefault(("copy", ref, columns),
                                                                   sql.copy_from_stdin(dialect, ref, columns))
    fallback = [Step(create, (), table.name, kind="stage")]
    if stage in staged:  # the same table twice in one flush: the stage may still hold the first rows
        fallback.append(Step(empty, (), table.name))
    staged.add(stage)
    fallback += [Step(copy, rows, table.name, kind="copy"), Step(upsert, (), table.name)]
    yield Step(direct, rows, table.name, kind="copy_first", fallback=tuple(fallback))


def insert_statement(dialect: Dialect, ref: str, table: Table, row_count: int,
                     increments: Sequence[str] = (), keep: tuple = (), strategy: str | None = None) -> str:
    """The INSERT (or upsert) for ``row_count`` rows of ``table`` (with the ``column_arrays`` and
    ``openjson`` strategies: for one parameter per column / per chunk, whatever ``row_count``).

    ``keep``: processing_log KeepRules; an existing row they protect is left as it is.
    ``strategy``: the statement shape, when not the dialect's own (``multi_row_values`` for a
    chunk OPENJSON cannot carry whole).
    """
    _check_conflict_rule(table)
    source = None
    strategy = strategy or dialect.insert_strategy
    if strategy == "column_arrays":
        source = sql.array_source(dialect, table.columns)
    elif strategy == "openjson":
        source = sql.json_source(dialect, table.columns)
    if table.on_conflict == "error":
        if source is not None:
            return sql.insert_select(dialect, ref, table.column_names, source)
        return sql.insert_values(dialect, ref, table.column_names, row_count)
    return dialect.upsert(dialect, ref, table.column_names, table.primary_key, row_count,
                          table.on_conflict == "update", increments, keep, row_source=source)


def _check_conflict_rule(table: Table) -> None:
    if table.on_conflict not in ("error", "skip", "update"):
        raise TargetError(f"table={table.name} has on_conflict={table.on_conflict!r}; use error, skip or update")
    if table.on_conflict != "error" and not table.primary_key:
        raise TargetError(
            f"table={table.name} has on_conflict={table.on_conflict} but no primary_key; "
            "add \"primary_key\": [...] for it in the contract's tables section"
        )


def _schema_table(schema: TargetSchema, name: str) -> Table:
    try:
        return schema.table(name)
    except KeyError:
        raise TargetError(f"table={name} is not in the contract's schema; the flush names an unknown table",
                          table=name) from None


def _dedupe(table: Table, rows: Sequence[tuple]) -> Sequence[tuple]:
    """For skip/update tables: one row per primary key (skip keeps the first, update the last).

    One statement may not touch a key twice (PostgreSQL refuses; T-SQL's INSERT … WHERE NOT EXISTS
    would insert it twice); the outcome equals writing the rows one after another.
    """
    if table.on_conflict == "error":
        return rows
    positions = [table.column_names.index(name) for name in table.primary_key]
    chosen: dict[tuple, tuple] = {}
    for row in rows:
        key = tuple(row[position] for position in positions)
        if table.on_conflict == "update":
            chosen.pop(key, None)
            chosen[key] = row
        elif key not in chosen:
            chosen[key] = row
    return list(chosen.values()) if len(chosen) != len(rows) else rows
