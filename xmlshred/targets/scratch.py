"""Scratch targets for ``xmlshred tune``: a schema of its own on a server, dropped afterwards.

``tune`` runs the real pipeline into a schema named ``xmlshred_tune_<id>`` in the user's
database (PostgreSQL or SQL Server); between runs and at the end it drops that schema's
tables (the contract's and every engine table) and the schema. Nothing here touches
another schema: the name must start with ``SCRATCH_PREFIX``, checked before any statement.
"""

from __future__ import annotations

import secrets

from xmlshred.db import sql
from xmlshred.db.errors import TargetError
from xmlshred.db.spec import TargetSpec
from xmlshred.vocab.names import ENGINE_TABLES
from xmlshred.vocab.schema import TargetSchema

SCRATCH_PREFIX = "xmlshred_tune_"
"""Every scratch schema's name starts so; nothing else is ever dropped."""


def scratch_schema_name() -> str:
    """A new scratch schema name, ``xmlshred_tune_<8 hex digits>``."""
    return SCRATCH_PREFIX + secrets.token_hex(4)


def drop_scratch_schema(spec: TargetSpec, schema: TargetSchema) -> None:
    """Drop the scratch schema ``schema.schema_name`` with its tables, if it is there.

    Raises TargetError for a schema that is not a scratch schema (before connecting)
    and when the database refuses (the message names the schema).
    """
    name = schema.schema_name or ""
    if not name.startswith(SCRATCH_PREFIX):
        raise TargetError(f"schema {name!r} is not a scratch schema ({SCRATCH_PREFIX}…); it is never dropped")
    sql.check_identifier(name, "schema")
    from xmlshred.targets import open_target

    target = open_target(spec, schema)
    statements = [f"DROP TABLE IF EXISTS {sql.table_ref(spec.dialect, name, table)}"
                  for table in (*(table.name for table in schema.tables), *ENGINE_TABLES)]
    statements.append(f"DROP SCHEMA IF EXISTS {sql.quote(spec.dialect, name, 'schema')}")
    try:
        target.execute_statements(statements, f"dropping scratch schema {name}")
    finally:
        target.close()

