"""Read a mapping contract from JSON and validate all of it at once.

``load_contract``/``check_contract`` read the file; ``validator.py`` checks the
decoded JSON and builds the immutable ``Contract`` (``model.py``: the contract's
values, step names and key sets). Compiling it into something that maps documents is
``compiler.py``'s job; nothing here reads a document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xmlshred.contract.model import Contract, ContractError, ContractReport
from xmlshred.contract.validator import validate

__all__ = ["load_contract", "check_contract", "contract_from_dict"]


def load_contract(path: str | Path, strict: bool = False) -> Contract:
    """Read and validate the contract at ``path``.

    Raises ContractError listing every problem (unreadable file, invalid
    JSON with its line, and each validation error) when it cannot be used;
    with ``strict``, every warning is such a problem too.
    """
    report = check_contract(path, strict)
    if report.contract is None:
        raise ContractError(list(report.problems))
    return report.contract


def check_contract(path: str | Path, strict: bool = False) -> ContractReport:
    """Validate the contract at ``path`` without raising for a bad contract.

    A missing or unreadable file, invalid JSON (with line and column) and
    every validation error become ``problems`` (with ``strict``, every warning
    too: the report then has no contract); never raises for those.
    """
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return ContractReport((f"{label}: file not found",), (), None)
    except (OSError, UnicodeDecodeError) as error:
        return ContractReport((f"{label}: cannot read the file ({type(error).__name__})",), (), None)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return ContractReport(
            (f"{label}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}",),
            (), None,
        )
    return validate(data, label, strict)


def contract_from_dict(data: Any, label: str = "<dict>", strict: bool = False) -> ContractReport:
    """Validate an already decoded contract; same report as ``check_contract``."""
    return validate(data, label, strict)
