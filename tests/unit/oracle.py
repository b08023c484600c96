"""Reference evaluators for parity tests: plain, slow, obviously right.

The package has one run-time implementation of each rule: code generated per
contract (``contract/expression_source.py`` for expressions,
``contract/row_source.py`` for rows). This module restates the rules as the
simplest tree walk, straight from CONTRACT.md, so the tests can check the
generated code's in-line specialisations against it. It is never imported by
the package.

``evaluate(expression, lookup, now)``: an expression's value, node by node,
with the language's value-level functions (``_compare``, ``_as_number``,
``call_value`` ...), whose own rules the expression tests pin down directly.
"""

from __future__ import annotations

from datetime import datetime

from xmlshred.contract import expressions as ex

__all__ = ["evaluate"]


def evaluate(expression: ex.Expression, lookup, now: datetime):
    """``expression``'s value for one row, by walking its tree."""
    return _value(expression.root, lookup, now)


def _value(node, lookup, now):  # noqa: PLR0911 - one branch per node type
    kind = type(node)
    if kind is ex._Literal:
        return node.value
    if kind is ex._Attribute:
        text = lookup(node.element, node.name)
        return (text.strip() or None) if text else None
    if kind is ex._Negate:
        number = ex._as_number(_value(node.operand, lookup, now))
        return None if number is None else -number
    if kind is ex._Arithmetic:
        total = ex._as_number(_value(node.first, lookup, now))
        for operator, operand in node.rest:
            number = ex._as_number(_value(operand, lookup, now))
            if total is None or number is None:
                return None
            total = ex._apply(operator, total, number)
        return total
    if kind is ex._Case:
        for condition, result in node.branches:
            if _value(condition, lookup, now):
                return _value(result, lookup, now)
        return None if node.otherwise is None else _value(node.otherwise, lookup, now)
    if kind is ex._Call:
        if node.name in ("COALESCE", "ISNULL"):  # lazily, as SQL does
            for argument in node.arguments:
                value = _value(argument, lookup, now)
                if value is not None:
                    return value
            return None
        values = [_value(argument, lookup, now) for argument in node.arguments]
        return ex.call_value(node.name, node.detail, values, now)
    return _condition(node, lookup, now)


def _condition(node, lookup, now) -> bool:  # noqa: PLR0911 - one branch per node type
    kind = type(node)
    if kind is ex._Comparison:
        order = ex._compare(_value(node.left, lookup, now), _value(node.right, lookup, now))
        if order is None:
            return False
        return {"=": order == 0, "!=": order != 0, "<>": order != 0, "<": order < 0,
                ">": order > 0, "<=": order <= 0, ">=": order >= 0}[node.operator]
    if kind is ex._Between:
        value = _value(node.operand, lookup, now)
        low = ex._compare(value, _value(node.low, lookup, now))
        high = ex._compare(value, _value(node.high, lookup, now))
        return low is not None and low >= 0 and high is not None and high <= 0
    if kind is ex._Like:
        value, pattern = _value(node.operand, lookup, now), _value(node.pattern, lookup, now)
        if value is None or pattern is None:
            return False
        return ex._like_regex(ex.result_to_text(pattern)).fullmatch(ex.result_to_text(value)) is not None
    if kind is ex._IsNull:
        return _value(node.operand, lookup, now) is None
    if kind is ex._In:
        value = _value(node.operand, lookup, now)
        return value is not None and any(ex._compare(value, _value(item, lookup, now)) == 0
                                         for item in node.items)
    if kind is ex._Not:
        return not _value(node.operand, lookup, now)
    if kind is ex._Logical:
        if node.operator == "AND":
            return all(_value(operand, lookup, now) for operand in node.operands)
        return any(_value(operand, lookup, now) for operand in node.operands)
    raise TypeError(f"no rule for {kind.__name__}")
