"""contract/ stays readable: no function or method longer than 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

CONTRACT = Path(__file__).resolve().parents[2] / "xmlshred" / "contract"
LONGEST = 80


def test_no_function_in_contract_is_longer_than_80_lines():
    modules = sorted(CONTRACT.glob("*.py"))
    assert len(modules) >= 8
    long = []
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST:
                    long.append(f"{module.name}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []
