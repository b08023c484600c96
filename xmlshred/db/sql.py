"""SQL statement builders. Names are checked and quoted; values are always ``?``.

Each builder takes the ``Dialect`` record; where databases need a different
statement shape, the dialect record names the builder to use (``create_table``,
``upsert``, ``first_n`` …), so no code here asks which database it is.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from xmlshred.db.dialect_types import Dialect, LockStatements
from xmlshred.db.errors import TargetError
from xmlshred.vocab.names import UnsafeIdentifierError, is_identifier
from xmlshred.vocab.names import check_identifier as _check_name
from xmlshred.vocab.schema import Column, Table


class UnsafeTargetNameError(TargetError, UnsafeIdentifierError):
    """A table, column or schema name is not a plain identifier (guarantee 5); a TargetError too.

    Catch it as ``UnsafeIdentifierError`` (``vocab.names``, its base, also
    importable from here) or as ``TargetError``.
    """


def check_identifier(name: str, kind: str = "identifier") -> str:
    """``name`` when it is a plain identifier (the one rule: ``vocab.names``); else UnsafeTargetNameError."""
    try:
        return _check_name(name, kind)
    except UnsafeIdentifierError as exc:
        raise UnsafeTargetNameError(str(exc)) from None


def quote(dialect: Dialect, name: str, kind: str = "identifier") -> str:
    """The checked identifier in the dialect's quotes."""
    return f"{dialect.quote_open}{check_identifier(name, kind)}{dialect.quote_close}"


def table_ref(dialect: Dialect, schema_name: str | None, table: str) -> str:
    """``schema.table`` quoted (just ``table`` when the dialect has no schemas)."""
    if schema_name:
        schema = quote(dialect, schema_name, "schema")  # checked even where it is ignored
        if dialect.supports_schemas:
            return f"{schema}.{quote(dialect, table, 'table')}"
    return quote(dialect, table, "table")


def column_list(dialect: Dialect, names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + quote(dialect, name, "column") for name in names)


def placeholders(count: int) -> str:
    return "(" + ", ".join("?" * count) + ")"


def values_rows(column_count: int, row_count: int) -> str:
    row = placeholders(column_count)
    return ", ".join([row] * row_count)


# ---------------------------------------------------------------- types


def column_type(dialect: Dialect, column: Column) -> str:
    """The SQL type of a contract column in this dialect."""
    if column.data_type == "string":
        length = column.data_length
        if length is None or length > dialect.max_string_length:
            return dialect.long_string_type
        return dialect.string_type.format(length=max(1, length))
    if column.data_type == "decimal":
        scale = column.data_length if column.data_length is not None else dialect.default_decimal_scale
        precision = min(38, max(18, scale + 12))
        return dialect.decimal_type.format(precision=precision, scale=scale)
    try:
        return dialect.type_names[column.data_type]
    except KeyError:
        raise TargetError(
            f"column={column.name} has data_type={column.data_type!r} which targets do not know; "
            "use one of the contract's data types"
        ) from None


def column_definitions(dialect: Dialect, table: Table) -> str:
    keys = set(table.primary_key)
    parts = []
    for column in table.columns:
        null = "NOT NULL" if (not column.nullable or column.name in keys) else "NULL"
        parts.append(f"{quote(dialect, column.name, 'column')} {column_type(dialect, column)} {null}")
    if table.primary_key:
        missing = [name for name in table.primary_key if name not in table.column_names]
        if missing:
            raise TargetError(
                f"table={table.name} primary_key names column={missing[0]} which the table does not have; "
                "fix the contract's tables section"
            )
        parts.append(f"PRIMARY KEY ({column_list(dialect, table.primary_key)})")
    return ", ".join(parts)


# ---------------------------------------------------------------- DDL


def create_schema_if_not_exists(dialect: Dialect, schema_name: str) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {quote(dialect, schema_name, 'schema')}"


def create_schema_tsql(dialect: Dialect, schema_name: str) -> str:
    # CREATE SCHEMA must be the only statement of its batch, hence sp_executesql.
    name = check_identifier(schema_name, "schema")
    return (f"IF SCHEMA_ID(N'{name}') IS NULL BEGIN "
            f"EXEC sp_executesql N'CREATE SCHEMA {quote(dialect, name, 'schema')}' END")


def create_table_if_not_exists(dialect: Dialect, schema_name: str | None, table: Table) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {table_ref(dialect, schema_name, table.name)} "
            f"({column_definitions(dialect, table)})")


def table_exists_tsql(dialect: Dialect, schema_name: str | None, table: str) -> str:
    """One row when the table exists (SQL Server and Babelfish alike)."""
    return f"SELECT 1 WHERE OBJECT_ID(N'{table_ref(dialect, schema_name, table)}', N'U') IS NOT NULL"


def create_table_tsql(dialect: Dialect, schema_name: str | None, table: Table) -> str:
    ref = table_ref(dialect, schema_name, table.name)
    return (f"IF OBJECT_ID(N'{ref}', N'U') IS NULL "
            f"CREATE TABLE {ref} ({column_definitions(dialect, table)})")


# ---------------------------------------------------------------- inserts


def insert_values(dialect: Dialect, ref: str, columns: Sequence[str], row_count: int) -> str:
    """Plain ``INSERT … VALUES (…), (…)`` of ``row_count`` rows."""
    return (f"INSERT INTO {ref} ({column_list(dialect, columns)}) "
            f"VALUES {values_rows(len(columns), row_count)}")


def array_source(dialect: Dialect, columns: Sequence[Column]) -> str:
    """``SELECT * FROM unnest(CAST(? AS type[]), …)``: one array parameter per column (PostgreSQL).

    Strings are cast to the unbounded string type: an explicit cast to
    VARCHAR(n) would cut an overlong value silently, while the assignment into
    the column refuses it (SQLSTATE 22001) as a VALUES insert does.
    """
    casts = []
    for column in columns:
        element = dialect.long_string_type if column.data_type == "string" else column_type(dialect, column)
        casts.append(f"CAST(? AS {element}[])")
    return f"SELECT * FROM unnest({', '.join(casts)})"


def insert_select(dialect: Dialect, ref: str, columns: Sequence[str], source: str) -> str:
    """``INSERT … SELECT`` of the rows ``source`` (e.g. ``array_source``) gives."""
    return f"INSERT INTO {ref} ({column_list(dialect, columns)}) {source}"


def copy_from_stdin(dialect: Dialect, ref: str, columns: Sequence[str]) -> str:
    """``COPY ref (columns) FROM STDIN``: rows streamed in COPY's text format (PostgreSQL)."""
    return f"COPY {ref} ({column_list(dialect, columns)}) FROM STDIN"


def stage_name(ref: str) -> str:
    """The temporary staging table of the table ``ref`` (a quoted reference): ``xmlshred_stage_<hash>``,
    a plain identifier of fixed length whatever the table's name and schema."""
    return "xmlshred_stage_" + format(zlib.crc32(ref.encode()), "08x")


def create_stage(dialect: Dialect, stage: str, ref: str) -> str:
    """``CREATE TEMP TABLE IF NOT EXISTS stage (LIKE ref INCLUDING DEFAULTS) ON COMMIT DELETE ROWS``:
    a session's staging table with the target table's columns, types and NOT NULLs (so a value the
    table refuses is refused by the COPY into it, SQLSTATE 22*/23*), emptied at every commit."""
    return (f"CREATE TEMP TABLE IF NOT EXISTS {quote(dialect, stage, 'table')} "
            f"(LIKE {ref} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")


def stage_source(dialect: Dialect, stage: str, columns: Sequence[str]) -> str:
    """``SELECT columns FROM stage``: the staged rows as an upsert's row source."""
    return f"SELECT {column_list(dialect, columns)} FROM {quote(dialect, stage, 'table')}"


def _update_columns(columns: Sequence[str], keys: Sequence[str]) -> list[str]:
    return [name for name in columns if name not in keys]


def _literal(dialect: Dialect, text: str) -> str:
    """A constant of our own code (never a document value) as a SQL string literal."""
    if not is_identifier(text):
        raise TargetError(f"literal={text!r} is not a plain word; only fixed words may be inlined in SQL")
    return f"{dialect.string_literal_prefix}'{text}'"


def keep_condition(dialect: Dialect, keep, existing: str, incoming: str) -> str:
    """``NOT (existing.col = 'kept' AND incoming.col = 'refused')`` for each KeepRule, joined by AND."""
    parts = []
    for rule in keep:
        column = quote(dialect, rule.column, "column")
        parts.append(f"NOT ({existing}.{column} = {_literal(dialect, rule.kept)} "
                     f"AND {incoming}.{column} = {_literal(dialect, rule.refused)})")
    return " AND ".join(parts)


def upsert_on_conflict(dialect: Dialect, ref: str, columns: Sequence[str], keys: Sequence[str],
                       row_count: int, update: bool, increments: Sequence[str] = (), keep=(),
                       row_source: str | None = None) -> str:
    """PostgreSQL/SQLite ``INSERT … ON CONFLICT (keys) DO NOTHING | DO UPDATE``.

    ``increments`` are columns that become ``existing + 1`` on conflict
    (processing_log's attempts) instead of taking the new value. ``keep``:
    KeepRules (see targets.processing_log) under which an existing row is
    left as it is (``DO UPDATE … WHERE NOT (…)``): the database itself
    refuses the overwrite, whoever sends it. ``row_source``: a SELECT giving
    the rows (``array_source``) instead of ``row_count`` VALUES rows.
    """
    existing = quote(dialect, "existing_row", "alias")
    rows = row_source if row_source is not None else f"VALUES {values_rows(len(columns), row_count)}"
    head = (f"INSERT INTO {ref} AS {existing} ({column_list(dialect, columns)}) {rows} "
            f"ON CONFLICT ({column_list(dialect, keys)}) ")
    targets = _update_columns(columns, keys)
    if not update or not targets:
        return head + "DO NOTHING"
    sets = []
    for name in targets:
        quoted = quote(dialect, name, "column")
        if name in increments:
            sets.append(f"{quoted} = {existing}.{quoted} + 1")
        else:
            sets.append(f"{quoted} = EXCLUDED.{quoted}")
    statement = head + "DO UPDATE SET " + ", ".join(sets)
    if keep:
        statement += " WHERE " + keep_condition(dialect, keep, existing, "EXCLUDED")
    return statement


# ---------------------------------------------------------------- T-SQL without MERGE


JSON_INTEGER_TYPES = frozenset({"int", "smallint", "bigint", "tinyint", "bit", "boolean"})
"""Contract types whose ready values are JSON numbers read as BIGINT; the assignment into the
column then checks its range, as it does for a parameter."""


JSON_TEXT_LIMIT = 4000
"""Babelfish 4.3's OPENJSON cuts an NVARCHAR(MAX) value at 4,000 characters without a word. A chunk
holding a value that long in a string column that allows it goes as multi-row VALUES instead
(a longer value in a shorter column is still too long once cut, and refused)."""


def json_long_text_columns(columns: Sequence[Column]) -> list[int]:
    """Positions of the string columns that may hold a value OPENJSON would cut (``JSON_TEXT_LIMIT``)."""
    return [index for index, column in enumerate(columns) if column.data_type == "string"
            and (column.data_length is None or column.data_length >= JSON_TEXT_LIMIT)]


def json_source(dialect: Dialect, columns: Sequence[Column]) -> str:
    """``SELECT … FROM OPENJSON(?) WITH (…)``: the rows of one JSON parameter, an array of row arrays
    (SQL Server 2016+ at database compatibility level 130, and Babelfish).

    Each column is read by position (``'$[i]'``). Integers and bits are read as BIGINT and floats as
    FLOAT; every other value (strings, and the decimals, dates and datetimes the T-SQL row converter
    made text) as NVARCHAR(MAX), so the assignment into the column converts, refuses an overlong
    string (no silent cut) or an out-of-range number exactly as it does for a bound parameter.
    """
    names = [column.name for column in columns]
    schema = []
    for index, column in enumerate(columns):
        if column.data_type in JSON_INTEGER_TYPES:
            kind = "BIGINT"
        elif column.data_type == "float":
            kind = "FLOAT"
        else:
            kind = "NVARCHAR(MAX)"
        schema.append(f"{quote(dialect, column.name, 'column')} {kind} '$[{index}]'")
    return f"SELECT {column_list(dialect, names)} FROM OPENJSON(?) WITH ({', '.join(schema)})"


UPSERT_HINTS = "WITH (UPDLOCK, HOLDLOCK)"
"""Key-range locks on the rows an upsert reads, so two writers cannot both find a key missing
(SQL Server; Babelfish accepts and ignores them: there the run lease serialises writers)."""


def upsert_update_insert(dialect: Dialect, ref: str, columns: Sequence[str], keys: Sequence[str],
                         row_count: int, update: bool, increments: Sequence[str] = (), keep=(),
                         row_source: str | None = None) -> str:
    """SQL Server and Babelfish without MERGE: ``UPDATE … FROM`` the incoming rows, then
    ``INSERT … SELECT … WHERE NOT EXISTS``, one batch in the flush's transaction.

    The UPDATE runs first, so the rows the INSERT adds are never updated (``attempts`` counts
    once). ``keep``: KeepRules under which an existing row is left as it is (the UPDATE's
    WHERE). ``row_source``: a SELECT giving the rows (``json_source``) instead of ``row_count``
    VALUES rows. When the UPDATE is needed the batch reads the rows twice, so its parameters are
    the rows' parameters twice over (``source_uses`` says how many times).
    """
    rows = row_source if row_source is not None else f"VALUES {values_rows(len(columns), row_count)}"
    target, source = quote(dialect, "t", "alias"), quote(dialect, "s", "alias")
    derived = f"({rows}) AS {source} ({column_list(dialect, columns)})"
    match = " AND ".join(
        f"{target}.{quote(dialect, key, 'column')} = {source}.{quote(dialect, key, 'column')}" for key in keys
    )
    insert = (f"INSERT INTO {ref} ({column_list(dialect, columns)}) "
              f"SELECT {column_list(dialect, columns, source + '.')} FROM {derived} "
              f"WHERE NOT EXISTS (SELECT 1 FROM {ref} AS {target} {UPSERT_HINTS} WHERE {match});")
    targets = _update_columns(columns, keys)
    if not update or not targets:
        return insert
    sets = []
    for name in targets:
        quoted = quote(dialect, name, "column")
        sets.append(f"{quoted} = {target}.{quoted} + 1" if name in increments else f"{quoted} = {source}.{quoted}")
    condition = f" WHERE {keep_condition(dialect, keep, target, source)}" if keep else ""
    update_sql = (f"UPDATE {target} SET {', '.join(sets)} FROM {ref} AS {target} {UPSERT_HINTS} "
                  f"JOIN {derived} ON {match}{condition};")
    return f"{update_sql} {insert}"


def source_uses(statement: str, params_per_source: int) -> int:
    """How many times ``statement`` reads its rows: its placeholders over one copy's parameters."""
    count = statement.count("?")
    if params_per_source < 1 or count % params_per_source or count == 0:
        raise TargetError(f"a statement with {count} placeholders does not read whole copies of "
                          f"{params_per_source} row parameters (a bug in a statement builder)")
    return count // params_per_source


def identity_insert(dialect: Dialect, ref: str, on: bool) -> str | None:
    """``SET IDENTITY_INSERT … ON|OFF`` where the dialect has it, else None."""
    if dialect.identity_insert_template is None:
        return None
    return dialect.identity_insert_template.format(table=ref, state="ON" if on else "OFF")


# ---------------------------------------------------------------- run lease


ADVISORY_LOCK_CLASS = 0x786D6C73
"""First key of xmlshred's PostgreSQL advisory locks ('xmls'), so other applications' locks never collide."""


def lock_resource(schema_name: str | None) -> str:
    """The lock's name for a target: one lock per database and schema (where processing_log lives)."""
    if schema_name:
        check_identifier(schema_name, "schema")
    return f"xmlshred.run.{schema_name or 'default'}"


def advisory_lock_pg(dialect: Dialect, schema_name: str | None) -> LockStatements:
    """PostgreSQL: a session advisory lock (held until unlocked or the session ends, whatever
    transactions do), keyed by (ADVISORY_LOCK_CLASS, crc32 of the resource name)."""
    objid = zlib.crc32(lock_resource(schema_name).encode()) & 0x7FFFFFFF
    keys = f"{ADVISORY_LOCK_CLASS}, {objid}"
    return LockStatements(
        acquire=f"SELECT CASE WHEN pg_try_advisory_lock({keys}) THEN 1 ELSE 0 END",
        release=f"SELECT pg_advisory_unlock({keys})",
    )


def ddl_lock_pg(dialect: Dialect) -> str:
    """PostgreSQL: a transaction advisory lock taken before CREATE ... IF NOT EXISTS, so two runs
    creating the same tables at once wait for each other (concurrent IF NOT EXISTS can otherwise
    fail with 23505 on the system catalogs); released at commit or rollback."""
    objid = zlib.crc32(b"xmlshred.ddl") & 0x7FFFFFFF
    return f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_CLASS}, {objid})"


def ddl_lock_tsql(dialect: Dialect) -> str:
    """SQL Server: the same, an exclusive applock owned by the DDL's transaction (waits up to 60 s)."""
    return ("EXEC sp_getapplock @Resource = N'xmlshred.ddl', @LockMode = N'Exclusive', "
            "@LockOwner = N'Transaction', @LockTimeout = 60000;")


def applock_tsql(dialect: Dialect, schema_name: str | None) -> LockStatements:
    """SQL Server: ``sp_getapplock`` owned by the session (released when the session ends),
    exclusive, without waiting (@LockTimeout = 0). Any negative return status means not granted:
    SQL Server says -1 (timeout), Babelfish -999 when another session holds it."""
    resource = f"N'{lock_resource(schema_name)}'"
    return LockStatements(
        acquire=("SET NOCOUNT ON; DECLARE @granted INT; "
                 f"EXEC @granted = sp_getapplock @Resource = {resource}, @LockMode = N'Exclusive', "
                 "@LockOwner = N'Session', @LockTimeout = 0; "
                 "SELECT CASE WHEN @granted >= 0 THEN 1 ELSE 0 END AS granted;"),
        # Only when held: Babelfish raises (instead of returning -999) on releasing a lock not held.
        release=(f"IF APPLOCK_MODE(N'public', {resource}, N'Session') <> N'NoLock' BEGIN "
                 f"EXEC sp_releaseapplock @Resource = {resource}, @LockOwner = N'Session'; END"),
    )


# ---------------------------------------------------------------- reads


def first_n_limit(dialect: Dialect, select_list: str, rest: str, limit: int) -> str:
    return f"SELECT {select_list} {rest} LIMIT {_positive(limit)}"


def first_n_top(dialect: Dialect, select_list: str, rest: str, limit: int) -> str:
    return f"SELECT TOP ({_positive(limit)}) {select_list} {rest}"


def _positive(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise TargetError(f"limit={limit!r} must be a positive integer")
    return limit


def key_range(dialect: Dialect, key: str, after: int | None, key_start: int | None,
              key_end: int | None) -> tuple[str, tuple]:
    """``WHERE`` text and parameters for a keyset page or a count."""
    quoted = quote(dialect, key, "column")
    clauses, params = [], []
    for operator, value in ((">", after), (">=", key_start), ("<=", key_end)):
        if value is not None:
            clauses.append(f"{quoted} {operator} ?")
            params.append(int(value))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def keyset_page(dialect: Dialect, ref: str, key: str, after: int | None, limit: int,
                key_start: int | None = None, key_end: int | None = None) -> tuple[str, tuple]:
    """Keys after ``after`` in ascending order, at most ``limit``: never OFFSET."""
    where, params = key_range(dialect, key, after, key_start, key_end)
    quoted = quote(dialect, key, "column")
    return dialect.first_n(dialect, quoted, f"FROM {ref}{where} ORDER BY {quoted}", limit), params


def count_rows(dialect: Dialect, ref: str, key: str | None = None, key_start: int | None = None,
               key_end: int | None = None) -> tuple[str, tuple]:
    where, params = ("", ()) if key is None else key_range(dialect, key, None, key_start, key_end)
    return f"SELECT {dialect.count_expression} FROM {ref}{where}", params


def select_in(dialect: Dialect, ref: str, columns: Sequence[str], key: str, count: int) -> str:
    """``SELECT columns FROM ref WHERE key IN (?, …)`` for ``count`` keys."""
    return (f"SELECT {column_list(dialect, columns)} FROM {ref} "
            f"WHERE {quote(dialect, key, 'column')} IN {placeholders(count)}")


def select_prefixes_in(dialect: Dialect, ref: str, key: str, column: str, length: int, count: int) -> str:
    """The first ``length`` characters of ``column`` for ``count`` keys, with stored sizes.

    ``SELECT key, prefix, stored size of the prefix, stored size of the value FROM ref
    WHERE key IN (?, …)``: the value is whole when both sizes are equal.
    """
    if dialect.substring_function is None or dialect.stored_length_function is None:
        raise TargetError(f"{dialect.name} has no prefix reads (substring_function, stored_length_function)")
    value = quote(dialect, column, "column")
    prefix = f"{dialect.substring_function}({value}, 1, {_positive(length)})"
    size = dialect.stored_length_function
    return (f"SELECT {quote(dialect, key, 'column')}, {prefix}, {size}({prefix}), {size}({value}) FROM {ref} "
            f"WHERE {quote(dialect, key, 'column')} IN {placeholders(count)}")


def rows_per_statement(dialect: Dialect, column_count: int) -> int:
    """How many rows of ``column_count`` parameters one statement may carry."""
    if column_count < 1:
        raise TargetError("a statement needs at least one column")
    if column_count > dialect.max_params_per_statement:
        raise TargetError(
            f"{column_count} columns exceed {dialect.name}'s {dialect.max_params_per_statement} "
            "parameters per statement; split the table in the contract"
        )
    return max(1, min(dialect.max_rows_per_statement, dialect.max_params_per_statement // column_count))


def chunks(items: Sequence, size: int):
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
