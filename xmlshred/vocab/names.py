"""Names the engine owns, and the one rule every SQL name must follow."""

from __future__ import annotations

import re

from xmlshred.vocab.errors import TerminalError

PROCESSING_LOG = "processing_log"
"""The engine's ledger table (one row per record); a contract may list it but never maps into it."""

RUNS_TABLE = "xmlshred_runs"
"""The engine's record of runs and their lease; never a contract table."""

QUALITY_TABLE = "xmlshred_quality"
"""The engine's counts of values the contract's rules changed, per run, table, column and kind."""

REJECTS_TABLE = "xmlshred_rejects"
"""The engine's record of documents that failed before their key was known (file sources)."""

ENGINE_TABLES = (PROCESSING_LOG, RUNS_TABLE, QUALITY_TABLE, REJECTS_TABLE)

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What every table, column and schema name must match in full (they end up in SQL).
Use :func:`is_identifier` or :func:`check_identifier`; this is the only copy of the rule."""


class UnsafeIdentifierError(TerminalError, ValueError):
    """A table, column or schema name is not a plain identifier (guarantee 5)."""


def is_identifier(name: object) -> bool:
    """True when ``name`` is a str matching ``[A-Za-z_][A-Za-z0-9_]*`` in full."""
    return isinstance(name, str) and IDENTIFIER.fullmatch(name) is not None


def check_identifier(name: str, kind: str = "identifier",
                     fix: str = "rename it in the contract or the configuration") -> str:
    """``name`` when it is a plain identifier; else UnsafeIdentifierError naming ``kind`` and how to fix it."""
    if not is_identifier(name):
        raise UnsafeIdentifierError(f"{kind}={name!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*); {fix}")
    return name
