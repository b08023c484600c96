"""Reference evaluators for parity tests: plain, slow, obviously right.

The package has one run-time implementation of each rule: code generated per
contract (``contract/expression_source.py`` for expressions,
``contract/row_source.py`` for rows). This module restates the rules as the
simplest walk, straight from CONTRACT.md, so the tests can check the
generated code's in-line specialisations against it. It is never imported by
the package.

- ``evaluate(expression, lookup, now)``: an expression's value, node by node,
  with the language's value-level functions (``compare_values``, ``as_number``,
  ``call_value`` ...), whose own rules the expression tests pin down directly.
- ``compiled(path, **options)``: a contract compiled as usual, then each table's
  row builder, finisher and foreign-key reader replaced by the plain loops
  below (one field at a time: locate, read, steps, convert; the null rule),
  which find elements through the mapper's document index (``_Document``).
"""

from __future__ import annotations

from datetime import datetime

from tests.contract_support import compiled_for
from xmlshred.contract import expressions as ex
from xmlshred.contract import mapper
from xmlshred.contract.plans import (
    BOOLEAN_TO_BIT,
    CALCULATED,
    CHAR_TO_BIT,
    DEFAULTED,
    ENUM,
    EXTRACT_DATE,
    EXTRACT_NUMERIC,
    GROUPS,
    HISTORY_EMPTY,
    NO_DEFAULT,
    NUMBERS_ONLY,
    NUMERIC_TYPES,
    POLICY,
    REPEAT,
    ROOT,
    ROWS,
    SINGLE,
    UTC_IF_NULL,
    ZERO,
)
from xmlshred.contract.values import convert_value, extract_numeric, numbers_only, parse_datetime

__all__ = ["compiled", "evaluate"]


def evaluate(expression: ex.Expression, lookup, now: datetime):
    """``expression``'s value for one row, by walking its tree."""
    return _value(expression.root, lookup, now)


def _value(node, lookup, now):  # noqa: PLR0911 - one branch per node type
    kind = type(node)
    if kind is ex.LiteralNode:
        return node.value
    if kind is ex.AttributeNode:
        text = lookup(node.element, node.name)
        return (text.strip() or None) if text else None
    if kind is ex.NegateNode:
        number = ex.as_number(_value(node.operand, lookup, now))
        return None if number is None else -number
    if kind is ex.ArithmeticNode:
        total = ex.as_number(_value(node.first, lookup, now))
        for operator, operand in node.rest:
            number = ex.as_number(_value(operand, lookup, now))
            if total is None or number is None:
                return None
            total = ex._apply(operator, total, number)
        return total
    if kind is ex.CaseNode:
        for condition, result in node.branches:
            if _value(condition, lookup, now):
                return _value(result, lookup, now)
        return None if node.otherwise is None else _value(node.otherwise, lookup, now)
    if kind is ex.CallNode:
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
    if kind is ex.ComparisonNode:
        order = ex.compare_values(_value(node.left, lookup, now), _value(node.right, lookup, now))
        if order is None:
            return False
        return {"=": order == 0, "!=": order != 0, "<>": order != 0, "<": order < 0,
                ">": order > 0, "<=": order <= 0, ">=": order >= 0}[node.operator]
    if kind is ex.BetweenNode:
        value = _value(node.operand, lookup, now)
        low = ex.compare_values(value, _value(node.low, lookup, now))
        high = ex.compare_values(value, _value(node.high, lookup, now))
        return low is not None and low >= 0 and high is not None and high <= 0
    if kind is ex.LikeNode:
        value, pattern = _value(node.operand, lookup, now), _value(node.pattern, lookup, now)
        if value is None or pattern is None:
            return False
        return ex.like_regex(ex.result_to_text(pattern)).fullmatch(ex.result_to_text(value)) is not None
    if kind is ex.IsNullNode:
        return _value(node.operand, lookup, now) is None
    if kind is ex.InNode:
        value = _value(node.operand, lookup, now)
        return value is not None and any(ex.compare_values(value, _value(item, lookup, now)) == 0
                                         for item in node.items)
    if kind is ex.NotNode:
        return not _value(node.operand, lookup, now)
    if kind is ex.LogicalNode:
        if node.operator == "AND":
            return all(_value(operand, lookup, now) for operand in node.operands)
        return any(_value(operand, lookup, now) for operand in node.operands)
    raise TypeError(f"no rule for {kind.__name__}")


# --- rows --------------------------------------------------------------------


def compiled(path, **options):
    """The contract at ``path`` compiled, its row code replaced by this module's loops."""
    contract = compiled_for(path, **options)
    for plan in contract.plans:
        _install(plan)
    return contract


def _install(plan) -> None:
    kind = plan.kind
    if kind in (ROOT, SINGLE, REPEAT):
        plan.row_values = lambda doc, row: _values(doc, plan, row)
        plan.finish_row = lambda doc, element, values: _finish(doc, plan, element, values)
    elif kind == ROWS:
        plan.row_values = lambda doc, row: _key_value_rows(doc, plan)
    elif kind == POLICY:
        plan.row_values = lambda doc, row: _policy_rows(doc, plan)
    elif kind == GROUPS:
        plan.row_values = lambda doc, row: _group_rows(doc, plan)
    for column in plan.columns:
        if column.value_of is not None:
            column.value_of = _column_value(column)


def _column_value(column):
    def value_of(doc, row):  # a foreign key's value: its warnings were counted with its row
        counted, doc.warnings = doc.warnings, {}
        try:
            for field in column.fields:
                found, _ = value(doc, field, doc.locate(field, row), row)
                if found is not None:
                    return found
            return None
        finally:
            doc.warnings = counted
    return value_of


def lookup(doc, own):
    """``lookup(element_name_or_None, attribute)`` for an expression starting at ``own``."""
    return lambda name, attribute: doc.resolve(own, name, attribute)


def text(doc, field, element, row=None) -> tuple[str, bool]:
    """The field's text after its steps, and whether it is a real value (CONTRACT.md's value
    pipeline: a selector that found nothing is absent and runs no step)."""
    if element is None:
        if field.selector:
            return "", False
        raw = None
    elif field.attribute is None:
        raw = element.text
    else:
        raw = doc.attr(element, field.attribute, field.attribute_lower)
    text = raw.strip() if raw else ""
    real = field.counts_as_real
    for position, (code, payload) in enumerate(field.steps):
        if code == CALCULATED:
            start = element if element is not None else doc.start_of(field, row)
            result = ex.result_to_text(evaluate(field.expression, lookup(doc, start),
                                                doc.compiled.now)).strip()
            if result:  # the value; the steps after it are a fallback for an empty result
                return result, not field.is_key
            if position == len(field.steps) - 1:
                return "", False
            continue
        text, real = _step(doc, field, code, payload, text, real)
    return text, real and bool(text)


def _step(doc, field, code, payload, text: str, real: bool) -> tuple[str, bool]:  # noqa: PLR0911, PLR0912
    if code in (ENUM, CHAR_TO_BIT):
        table, folded, empty = payload
        if not text:
            if code == ENUM:
                return ("" if empty is None else str(empty)), False
            return (str(empty), False) if empty is not None else (text, real)
        value = table.get(text)
        if value is None:
            value = folded.get(text.casefold())
        if value is None:
            doc.warn(field.unmapped_warning)
            if code == ENUM:
                return ("" if empty is None else str(empty)), False
            value = 0
        return str(value), real
    if code == BOOLEAN_TO_BIT:
        folded, empty = payload
        if not text:
            return (str(empty), False) if empty is not None else (text, real)
        value = folded.get(text.casefold())
        if value is None:
            doc.warn(field.unmapped_warning)
            value = 0
        return str(value), real
    if code == UTC_IF_NULL:
        return (text, real) if text else (doc.compiled.now_text, False)
    if not text:
        return text, real
    if code in (NUMBERS_ONLY, EXTRACT_NUMERIC):
        text = numbers_only(text) if code == NUMBERS_ONLY else extract_numeric(text)
        if not text:
            doc.warn(field.not_a_number_warning)
        return text, real
    if code == EXTRACT_DATE:
        moment = parse_datetime(text)
        if moment is None:
            doc.warn(field.bad_date_warning)
            return "", real
        return moment.isoformat(" "), real
    raise ValueError(f"no step {code}")


def value(doc, field, element, row=None) -> tuple[object, bool]:
    """The field's converted value (None when empty) and whether it is real."""
    found, real = text(doc, field, element, row)
    if not found:
        return None, False
    converted, truncated = convert_value(found, field.column)
    if truncated:
        doc.warn(field.truncated_warning)
    if converted is None:
        doc.warn(field.unconvertible_warning)
        return None, False
    return converted, real


def _values(doc, plan, element) -> tuple[list, bool]:
    values, has_real = [], False
    for column in plan.columns:
        found = None
        for field in column.fields:
            found, real = value(doc, field, doc.locate(field, element), element)
            if found is not None:
                has_real = has_real or real
                break
        values.append(found)
    return values, has_real


def _finish(doc, plan, element, values: list) -> tuple:
    for position, column in plan.finishing:
        if column.parent_key:
            values[position] = mapper._parent_value(doc, plan, element)
        if values[position] is None:
            if column.default is not NO_DEFAULT:
                values[position] = column.default
                doc.warn(column.defaulted_warning)
            elif not column.column.nullable:
                mapper._missing_value(column.label)
    return tuple(values)


def _key_value_rows(doc, plan) -> list[tuple]:
    rows = []
    for field in plan.fields:
        found, _ = text(doc, field, doc.locate(field, None))
        if found:
            row = mapper._key_value_row(doc, field, found)
            if row is not None:
                rows.append(row)
    return rows


def _policy_rows(doc, plan) -> list[tuple]:
    def cut(field, found):
        converted, truncated = convert_value(found, field.column)
        if truncated:
            doc.warn(field.truncated_warning)
        return converted

    def real(found):
        return bool(found) and found.casefold() not in HISTORY_EMPTY

    notes = None
    if plan.notes is not None:
        found, _ = text(doc, plan.notes, doc.locate(plan.notes, None))
        if real(found):
            notes = cut(plan.notes, found)
    rows = []
    for field in plan.fields:
        found, _ = text(doc, field, doc.locate(field, None))
        if real(found):
            rows.append((doc.key, field.row_argument, cut(field, found), notes))
    return rows


def _group_rows(doc, plan) -> list[tuple]:
    rows = []
    for group in plan.groups:
        values, makes_row = [], False
        for field, column, _ in group.cells:
            found = None
            if field is not None:
                found, real = value(doc, field, doc.locate(field, None))
                if real and field.reads_document and not makes_row:
                    makes_row = mapper._makes_row(found, column)
            values.append(found)
        if not makes_row:
            continue
        for position, (_field, column, default) in enumerate(group.cells):
            if values[position] is not None:
                continue
            if default is not NO_DEFAULT:
                values[position] = default
                doc.warn(f"{DEFAULTED}:{plan.table.name}.{column.name}")
            elif not column.nullable:
                if column.data_type not in NUMERIC_TYPES:
                    mapper._missing_cell(plan, column)
                values[position] = ZERO.get(column.data_type, 0)
                doc.warn(f"{DEFAULTED}:{plan.table.name}.{column.name}")
        rows.append((doc.key, group.argument, *values))
    return rows

