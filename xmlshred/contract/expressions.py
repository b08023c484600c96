"""The calculated-field expression language: parse once, evaluate per row.

A hand-written tokenizer and recursive-descent parser build a small AST;
``expression_source`` generates one Python function per expression from it
(the only evaluator), which calls the value-level functions here (``compare_values``,
``as_number``, ``call_value`` ...): each rule of the language is written once.
No text of the expression or of a document is ever passed to ``eval``/``exec``.

The parser knows two kinds of expression: *conditions* (comparisons,
``AND``/``OR``/``NOT``, ``IS NULL``, ``LIKE``, ``IN``), which evaluate to a
Python bool, and *values* (literals, attributes, arithmetic, functions,
``CASE``), which evaluate to None, Decimal, str, datetime or date. Mixing
them up (``CASE WHEN x THEN …`` with a bare value ``x``, or a whole
expression that is a condition) is a parse error, found when the contract is
validated rather than on some row.

Semantics (CONTRACT.md, "Calculated-field expressions"):

- a missing, empty or all-blank attribute is NULL, and so is the empty
  string: ``IS NULL`` and ``IS EMPTY`` are one test;
- arithmetic is exact decimal; a NULL or non-numeric operand, or a division
  by zero, gives NULL;
- two values compare as numbers when both are numbers (text such as ``"59"``
  or ``"1,500"`` is a number), as datetimes when one side is a date or
  datetime, otherwise as case-insensitive strings;
- a comparison with NULL is false, and the logic is two-valued: ``NOT``
  simply negates, so ``NOT a = 1`` (and ``a NOT IN (…)``, ``a NOT LIKE …``)
  is true when ``a`` is NULL, while ``a != 1`` is false.
"""

from __future__ import annotations

import calendar
import difflib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import ClassVar

from xmlshred.contract.values import ValueRangeError, convert_value, parse_datetime
from xmlshred.vocab.errors import DataError
from xmlshred.vocab.schema import Column

__all__ = [
    "ExpressionError",
    "Expression",
    "parse_expression",
    "result_to_text",
    "FUNCTIONS",
]

Value = None | Decimal | str | datetime | date
Lookup = Callable[[str | None, str], str | None]
Evaluator = Callable[[Lookup, datetime], object]

MAX_NESTING = 40
"""Deepest nesting of parentheses, function calls, CASE, NOT or unary minus.
Keeps parsing and evaluation far from Python's recursion limit."""


class ExpressionError(DataError, ValueError):
    """A malformed expression; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        """What is wrong, without the position."""
        self.position = position
        """0-based offset into the expression text where the problem is."""

    def __reduce__(self):
        # Exceptions pickle as cls(*args); args holds the formatted text only.
        return (type(self), (self.message, self.position))


# --- tokens ------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>')
  | (?P<op><>|!=|<=|>=|[=<>+\-*/(),.])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    """``number``, ``name``, ``string``, ``op`` or ``end``."""
    text: str
    """Source text (for ``string``: the value, quotes removed and unescaped)."""
    position: int
    """0-based offset of the token's first character."""
    upper: str = ""
    """``text`` upper-cased, for ``name`` tokens (keywords are case-insensitive)."""


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    length = len(source)
    while position < length:
        match = _TOKEN.match(source, position)
        if match is None:
            raise ExpressionError(f"unexpected character {source[position]!r}", position)
        kind = match.lastgroup
        if kind == "string":
            start = position
            parts = []
            position += 1
            while True:
                quote = source.find("'", position)
                if quote < 0:
                    raise ExpressionError("unterminated string (missing closing ')", start)
                parts.append(source[position:quote])
                if source.startswith("''", quote):
                    parts.append("'")
                    position = quote + 2
                else:
                    position = quote + 1
                    break
            tokens.append(_Token("string", "".join(parts), start))
            continue
        text = match.group()
        if kind == "name":
            tokens.append(_Token("name", text, position, text.upper()))
        elif kind != "space":
            tokens.append(_Token(kind, text, position))
        position = match.end()
    tokens.append(_Token("end", "", length))
    return tokens


# --- runtime helpers ---------------------------------------------------------

# Arithmetic uses its own context so results never depend on whatever decimal
# context the calling thread happens to have set.
ARITHMETIC_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)
_LARGEST_COUNT = Decimal(10) ** 9
# ROUND keeps every digit it is given (a 30-digit value rounds without loss).
_ROUNDING = Context(prec=200, rounding=ROUND_HALF_UP)

# Text that counts as a number: plain, or with well-formed thousands commas.
_NUMBER_TEXT = re.compile(
    r"\s*[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*"
)


def as_number(value: object) -> Decimal | None:
    if type(value) is Decimal:
        return value
    if type(value) is str:
        # Plain digits with at most one point (the usual attribute) need no pattern.
        if value.isascii() and value.replace(".", "", 1).isdigit():
            return Decimal(value)
        if _NUMBER_TEXT.fullmatch(value) is not None:
            return Decimal(value.replace(",", ""))
    return None


def _as_datetime(value: object) -> datetime | None:
    if type(value) is datetime:
        return value
    if type(value) is date:
        return datetime(value.year, value.month, value.day)
    if type(value) is str:
        return parse_datetime(value)
    return None


def result_to_text(value: object) -> str:
    """The text of an evaluation result, as a column's value pipeline reads it.

    None → ``''``; Decimal → plain notation without exponent or trailing
    zeros (``27``, ``3.5``); datetime → ``YYYY-MM-DD HH:MM:SS[.ffffff]``;
    date → ``YYYY-MM-DD``; text unchanged. Never raises.
    """
    if value is None:
        return ""
    value_type = type(value)
    if value_type is str:
        return value
    if value_type is Decimal:
        if not value:
            return "0"
        if not value.is_finite():
            return ""
        # Trailing zeros are stripped textually: Decimal.normalize would
        # round to the context's precision and lose digits of long values.
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    if value_type is datetime:
        return value.isoformat(" ")
    if value_type is date:
        return value.isoformat()
    return str(value)


def compare_values(left: object, right: object) -> int | None:
    """-1/0/1, or None when either side is NULL or the two cannot be compared."""
    if left is None or right is None:
        return None
    left_number = as_number(left)
    if left_number is not None:
        right_number = as_number(right)
        if right_number is not None:
            return (left_number > right_number) - (left_number < right_number)
    if isinstance(left, date) or isinstance(right, date):
        left_time = _as_datetime(left)
        right_time = _as_datetime(right)
        if left_time is None or right_time is None:
            return None
        return (left_time > right_time) - (left_time < right_time)
    if type(left) is str and type(right) is str:
        # Two texts that both read as dates compare as datetimes
        # (regb_date > '2020-01-01' with regb_date '03/01/2021').
        left_time = parse_datetime(left)
        if left_time is not None:
            right_time = parse_datetime(right)
            if right_time is not None:
                return (left_time > right_time) - (left_time < right_time)
    left_text = result_to_text(left).casefold()
    right_text = result_to_text(right).casefold()
    return (left_text > right_text) - (left_text < right_text)


def compare_to_constant(constant: object) -> Callable[[object], int | None]:
    """``compare_values(left, constant)`` as a one-argument function, the constant classified once.

    A literal's number, date and folded text are worked out here rather than on
    every comparison; in particular a text that is not a date never makes the
    other side go through ``parse_datetime``. Gives exactly what ``compare_values`` gives.
    """
    if constant is None:
        return lambda left: None
    number = as_number(constant)
    is_date = isinstance(constant, date)
    moment = _as_datetime(constant) if is_date else None
    text_moment = parse_datetime(constant) if type(constant) is str else None
    folded = result_to_text(constant).casefold()

    def compare(left: object) -> int | None:
        if left is None:
            return None
        if number is not None:
            left_number = as_number(left)
            if left_number is not None:
                return (left_number > number) - (left_number < number)
        if is_date or isinstance(left, date):
            left_time = _as_datetime(left)
            right_time = moment if is_date else _as_datetime(constant)
            if left_time is None or right_time is None:
                return None
            return (left_time > right_time) - (left_time < right_time)
        if text_moment is not None and type(left) is str:
            left_time = parse_datetime(left)
            if left_time is not None:
                return (left_time > text_moment) - (left_time < text_moment)
        left_text = result_to_text(left).casefold()
        return (left_text > folded) - (left_text < folded)

    return compare


@functools.lru_cache(maxsize=256)
def like_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    """``calendar.monthrange(year, month)[1]``, without building the weekday too."""
    if month == 2 and calendar.isleap(year):
        return 29
    return _MONTH_DAYS[month]


def _add_months(moment: date, months: int) -> date:
    # Month arithmetic clamps to the last day of the target month, as SQL
    # Server's DATEADD does: Jan 31 + 1 month is Feb 28 (29 in leap years).
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise ValueError("the year is out of range")  # date_add: no such date, NULL
    day = min(moment.day, _days_in_month(year, month))
    kind = type(moment)
    # The constructors take positional arguments: cheaper than replace()'s keywords.
    if kind is datetime and moment.tzinfo is None:
        return datetime(year, month, day, moment.hour, moment.minute, moment.second, moment.microsecond)
    if kind is date:
        return date(year, month, day)
    return moment.replace(year=year, month=month, day=day)


_DATE_UNITS = {
    "YEAR": "year", "YY": "year", "YYYY": "year",
    "QUARTER": "quarter", "QQ": "quarter", "Q": "quarter",
    "MONTH": "month", "MM": "month", "M": "month",
    "WEEK": "week", "WK": "week", "WW": "week",
    "DAY": "day", "DD": "day", "D": "day",
    "HOUR": "hour", "HH": "hour",
    "MINUTE": "minute", "MI": "minute", "N": "minute",
    "SECOND": "second", "SS": "second", "S": "second",
}
_TIME_UNIT_SECONDS = {"hour": 3600, "minute": 60, "second": 1}
_MONTHS_PER_UNIT = {"year": 12, "quarter": 3, "month": 1}
_DAYS_PER_UNIT = {"day": 1, "week": 7}


def date_add(unit: str, amount: object, moment: object) -> Value:
    number = amount if type(amount) is Decimal else as_number(amount)
    if number is None or moment is None or abs(number) > _LARGEST_COUNT:
        return None
    if type(moment) is str:
        moment = parse_datetime(moment)
        if moment is None:
            return None
    elif not isinstance(moment, date):
        return None
    try:
        # SQL Server truncates a fractional amount toward zero.
        count = int(number)
        months = _MONTHS_PER_UNIT.get(unit)
        if months is not None:
            return _add_months(moment, count * months)
        days = _DAYS_PER_UNIT.get(unit)
        if days is not None:
            return moment + timedelta(days=count * days)
        if type(moment) is date:
            moment = datetime(moment.year, moment.month, moment.day)
        return moment + timedelta(seconds=count * _TIME_UNIT_SECONDS[unit])
    except (ValueError, OverflowError):
        return None


# CAST target types: SQL spelling → the contract data type it behaves like.
_CAST_TYPES = {
    "STRING": "string", "VARCHAR": "string", "NVARCHAR": "string", "CHAR": "string",
    "NCHAR": "string", "TEXT": "string", "NTEXT": "string",
    "INT": "int", "INTEGER": "int", "SMALLINT": "smallint", "BIGINT": "bigint",
    "TINYINT": "tinyint",
    "DECIMAL": "decimal", "NUMERIC": "decimal", "MONEY": "decimal",
    "FLOAT": "float", "REAL": "float", "DOUBLE": "float",
    "DATETIME": "datetime", "DATETIME2": "datetime", "SMALLDATETIME": "datetime",
    "TIMESTAMP": "datetime", "DATE": "date",
    "BIT": "bit", "BOOLEAN": "boolean", "BOOL": "boolean",
}


def cast_value(value: object, column: Column) -> Value:
    if value is None:
        return None
    text = result_to_text(value).strip()
    if not text:
        return None
    try:
        converted, _ = convert_value(text, column)
    except ValueRangeError:
        return None
    if converted is None:
        return None
    converted_type = type(converted)
    if converted_type is int:
        return Decimal(converted)
    if converted_type is float:
        return Decimal(repr(converted))
    return converted


# --- AST ---------------------------------------------------------------------
#
# Each node knows its source position (for messages); ``expression_source``
# generates the code that evaluates the tree. Condition nodes evaluate to bool.


@dataclass(slots=True, eq=False)
class ExpressionNode:
    """A node of the parsed tree; ``expression_source`` generates the code that evaluates it.
    A node class lists its fields (after ``position``); nodes compare by identity."""

    position: int
    is_condition: ClassVar[bool] = False


@dataclass(slots=True, eq=False)
class ConditionNode(ExpressionNode):
    """A node whose value is a bool (a comparison, LIKE, IN, IS NULL, NOT, AND/OR ...)."""

    is_condition = True


@dataclass(slots=True, eq=False)
class LiteralNode(ExpressionNode):
    value: Value

    def __post_init__(self) -> None:
        if self.value == "":  # '' is NULL: the language has no distinct empty string.
            self.value = None


@dataclass(slots=True, eq=False)
class AttributeNode(ExpressionNode):
    element: str | None
    name: str


@dataclass(slots=True, eq=False)
class NegateNode(ExpressionNode):
    operand: ExpressionNode


def _apply(operator: str, left: Decimal, right: Decimal) -> Decimal | None:
    try:
        if operator == "+":
            return ARITHMETIC_CONTEXT.add(left, right)
        if operator == "-":
            return ARITHMETIC_CONTEXT.subtract(left, right)
        if operator == "*":
            return ARITHMETIC_CONTEXT.multiply(left, right)
        if not right:
            return None
        return ARITHMETIC_CONTEXT.divide(left, right)
    except ArithmeticError:
        # Overflow or an undefined result of exotic magnitudes: no value.
        return None


def chain_values(first: object, rest: tuple[tuple[str, object], ...]) -> Decimal | None:
    """``first op operand op operand …`` left to right, on values: NULL as soon as an
    operand is no number or a step has no value (division by zero, overflow)."""
    total = as_number(first)
    for operator, operand in rest:
        if total is None:
            return None
        number = as_number(operand)
        if number is None:
            return None
        total = _apply(operator, total, number)
    return total


@dataclass(slots=True, eq=False)
class ArithmeticNode(ExpressionNode):
    """``first op operand op operand …`` at one precedence level, left to right."""

    first: ExpressionNode
    rest: list[tuple[str, ExpressionNode]]


_COMPARISONS = frozenset({"=", "!=", "<>", "<", ">", "<=", ">="})
"""The comparison operators (``expression_source`` writes each as Python's)."""


@dataclass(slots=True, eq=False)
class ComparisonNode(ConditionNode):
    operator: str
    left: ExpressionNode
    right: ExpressionNode


def between_values(value: object, low: object, high: object) -> bool:
    """``value BETWEEN low AND high``: both comparisons hold (none with NULL does)."""
    above = compare_values(value, low)
    if above is None or above < 0:
        return False
    below = compare_values(value, high)
    return below is not None and below <= 0


@dataclass(slots=True, eq=False)
class BetweenNode(ConditionNode):
    operand: ExpressionNode
    low: ExpressionNode
    high: ExpressionNode


def like_values(value: object, pattern: object) -> bool:
    """``value LIKE pattern`` (``%``, ``_``, case-insensitive); false with a NULL side."""
    if value is None or pattern is None:
        return False
    return like_regex(result_to_text(pattern)).fullmatch(result_to_text(value)) is not None


@dataclass(slots=True, eq=False)
class LikeNode(ConditionNode):
    operand: ExpressionNode
    pattern: ExpressionNode


@dataclass(slots=True, eq=False)
class IsNullNode(ConditionNode):
    operand: ExpressionNode


def is_member(value: object, items: tuple) -> bool:
    """``value IN (items)``: equal to one of them (never with NULL)."""
    if value is None:
        return False
    return any(compare_values(value, item) == 0 for item in items)


@dataclass(slots=True, eq=False)
class InNode(ConditionNode):
    operand: ExpressionNode
    items: list[ExpressionNode]


@dataclass(slots=True, eq=False)
class NotNode(ConditionNode):
    operand: ExpressionNode


@dataclass(slots=True, eq=False)
class LogicalNode(ConditionNode):
    """``a AND b AND …`` or ``a OR b OR …``, short-circuiting."""

    operator: str
    operands: list[ExpressionNode]


def first_branch(branches: tuple, otherwise: object) -> object:
    """A CASE's value from every branch's (condition, value): the first whose condition holds."""
    for holds, value in branches:
        if holds:
            return value
    return otherwise


@dataclass(slots=True, eq=False)
class CaseNode(ExpressionNode):
    branches: list[tuple[ExpressionNode, ExpressionNode]]
    otherwise: ExpressionNode | None


@dataclass(slots=True, eq=False)
class CallNode(ExpressionNode):
    """A function call (``call_value`` gives its value from its arguments' values)."""

    name: str
    arguments: list[ExpressionNode]
    detail: object = None
    """DATEADD's unit, CAST's target column; None for other functions."""
    """DATEADD's unit, CAST's target column; None for other functions."""


NOT_CONSTANT = object()


def constant_of(node: ExpressionNode) -> object:
    """The value of a node that reads no attribute and not the clock, worked out once.

    A literal, or a function of literals only (``DATE('2025-01-01')``); every
    function but GETUTCDATE is pure. A call that fails is left to fail (or
    give its result) at evaluation, as written. ``NOT_CONSTANT`` otherwise.
    """
    if isinstance(node, LiteralNode):
        return node.value
    if isinstance(node, CallNode) and node.name != "GETUTCDATE" \
            and all(isinstance(argument, LiteralNode) for argument in node.arguments):
        try:
            return call_value(node.name, node.detail, [argument.value for argument in node.arguments])
        except Exception:  # noqa: BLE001 - left to fail per row, where the error belongs
            return NOT_CONSTANT
    return NOT_CONSTANT


# --- functions ---------------------------------------------------------------
#
# Each function is a function of its arguments' values (``call_value``); the
# generated code calls these or writes their usual cases in line. Arity is
# checked by the parser from FUNCTIONS.


def _text_apply(apply: Callable[[str], str]) -> Callable[[object], Value]:
    return lambda value: apply(result_to_text(value)) or None


def _date_of(value: object) -> Value:
    moment = _as_datetime(value)
    return None if moment is None else moment.date()


def coalesce_values(values: tuple) -> Value:
    """The first value that is not NULL (COALESCE, ISNULL), else NULL."""
    for value in values:
        if value is not None:
            return value
    return None


def round_value(number: Decimal | None, places: Decimal | None) -> Value:
    """ROUND(number, places) of two numbers (or None), half away from zero."""
    if number is None or places is None or not -38 <= places <= 38:
        return None
    try:
        return number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP,
                               context=_ROUNDING)
    except InvalidOperation:
        return None


def substring_of(value: object, start: Decimal | None, length: Decimal | None) -> Value:
    """SUBSTRING of a value, start and length already numbers (or None)."""
    if value is None or start is None or length is None or length < 0:
        return None
    if abs(start) > _LARGEST_COUNT or length > _LARGEST_COUNT:
        start = _LARGEST_COUNT.copy_sign(start) if abs(start) > _LARGEST_COUNT else start
        length = min(length, _LARGEST_COUNT)
    # SQL Server semantics: positions start..start+length-1 (1-based),
    # clipped to the text, so a start before 1 shortens the result.
    first = int(start)
    last = first + int(length)
    text = result_to_text(value)
    return text[max(first, 1) - 1:max(last - 1, 0)] or None


def _length(value: object) -> Value:
    # SQL Server's LEN ignores trailing blanks.
    return Decimal(len(result_to_text(value).rstrip(" ")))


def _absolute(value: object) -> Value:
    number = as_number(value)
    return None if number is None else abs(number)


@dataclass(frozen=True, slots=True)
class _Function:
    min_arguments: int
    max_arguments: int | None


TEXT_METHODS: dict[str, Callable[[str], str]] = {
    "UPPER": str.upper, "LOWER": str.lower, "TRIM": str.strip, "LTRIM": str.lstrip,
    "RTRIM": str.rstrip,
}
"""The text functions: the ``str`` method each applies to its argument's text."""
UNARY_VALUES: dict[str, Callable[[object], Value]] = {
    "DATE": _date_of, "LEN": _length, "ABS": _absolute,
    **{name: _text_apply(method) for name, method in TEXT_METHODS.items()},
}
"""One-argument functions as functions of a non-NULL value (NULL gives NULL)."""

FUNCTIONS: dict[str, _Function] = {
    **{name: _Function(1, 1) for name in UNARY_VALUES},
    "COALESCE": _Function(1, None),
    "ISNULL": _Function(2, 2),
    "ROUND": _Function(2, 2),
    "SUBSTRING": _Function(3, 3),
    "GETUTCDATE": _Function(0, 0),
}
"""Functions with ordinary arguments (DATEADD and CAST have their own syntax)."""


def call_value(name: str, detail: object, values: list, now: datetime | None = None) -> Value:
    """A function's value from its arguments' values (``detail``: DATEADD's unit, CAST's
    column; ``now``: what GETUTCDATE gives). The one statement of what each function does;
    the generated code calls it, or the helpers it names, for every call."""
    if name in UNARY_VALUES:
        (value,) = values
        return None if value is None else UNARY_VALUES[name](value)
    if name in ("COALESCE", "ISNULL"):
        return coalesce_values(tuple(values))
    if name == "ROUND":
        return round_value(as_number(values[0]), as_number(values[1]))
    if name == "SUBSTRING":
        return substring_of(values[0], as_number(values[1]), as_number(values[2]))
    if name == "DATEADD":
        return date_add(detail, values[0], values[1])
    if name == "CAST":
        return cast_value(values[0], detail)
    if name == "GETUTCDATE":
        return now
    raise ValueError(f"unknown function {name}")  # the parser knows every name

_SPECIAL_FUNCTIONS = ("DATEADD", "CAST")
_KEYWORDS = frozenset({
    "CASE", "WHEN", "THEN", "ELSE", "END", "AND", "OR", "NOT", "IS", "NULL",
    "EMPTY", "IN", "LIKE", "AS", "BETWEEN",
})


# --- parser ------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0
        self.references: set[tuple[str | None, str]] = set()

    # token helpers

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.tokens[self.index]
        return token.kind == "name" and token.upper in words

    def at_op(self, *ops: str) -> bool:
        token = self.tokens[self.index]
        return token.kind == "op" and token.text in ops

    def expect_keyword(self, word: str, context: str) -> _Token:
        if not self.at_keyword(word):
            raise ExpressionError(f"expected {word} {context}, found {self.describe()}",
                                  self.token.position)
        return self.advance()

    def expect_op(self, op: str, context: str) -> _Token:
        if not self.at_op(op):
            raise ExpressionError(f"expected '{op}' {context}, found {self.describe()}",
                                  self.token.position)
        return self.advance()

    def describe(self) -> str:
        token = self.token
        if token.kind == "end":
            return "the end of the expression"
        if token.kind == "string":
            return "a string"
        return repr(token.text)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(f"expression is nested more than {MAX_NESTING} deep",
                                  self.token.position)

    # kinds

    def value(self, node: ExpressionNode) -> ExpressionNode:
        if node.is_condition:
            raise ExpressionError(
                "a condition cannot be used as a value here; "
                "write CASE WHEN <condition> THEN … ELSE … END", node.position)
        return node

    def condition(self, node: ExpressionNode) -> ExpressionNode:
        if not node.is_condition:
            raise ExpressionError(
                "expected a condition (a comparison, IS NULL, LIKE, IN, …), found a value",
                node.position)
        return node

    # grammar, loosest binding first

    def parse(self) -> tuple[ExpressionNode, frozenset[tuple[str | None, str]]]:
        if self.token.kind == "end":
            raise ExpressionError("empty expression", 0)
        node = self.expression()
        if self.token.kind != "end":
            raise ExpressionError(f"unexpected {self.describe()} after a complete expression",
                                  self.token.position)
        return self.value(node), frozenset(self.references)

    def expression(self) -> ExpressionNode:
        self.enter()
        node = self.disjunction()
        self.depth -= 1
        return node

    def disjunction(self) -> ExpressionNode:
        return self.logical("OR", self.conjunction)

    def conjunction(self) -> ExpressionNode:
        return self.logical("AND", self.negation)

    def logical(self, keyword: str, operand: Callable[[], ExpressionNode]) -> ExpressionNode:
        """``operand keyword operand …`` (one ``LogicalNode`` node), or the lone operand."""
        first = operand()
        if not self.at_keyword(keyword):
            return first
        operands = [self.condition(first)]
        while self.at_keyword(keyword):
            self.advance()
            operands.append(self.condition(operand()))
        return LogicalNode(first.position, keyword, operands)

    def negation(self) -> ExpressionNode:
        if self.at_keyword("NOT"):
            token = self.advance()
            self.enter()
            operand = self.condition(self.negation())
            self.depth -= 1
            return NotNode(token.position, operand)
        return self.predicate()

    def predicate(self) -> ExpressionNode:
        left = self.additive()
        token = self.token
        if token.kind == "op" and token.text in _COMPARISONS:
            self.advance()
            right = self.value(self.additive())
            return ComparisonNode(token.position, token.text, self.value(left), right)
        if self.at_keyword("IS"):
            self.advance()
            negated = self.at_keyword("NOT")
            if negated:
                self.advance()
            if not self.at_keyword("NULL", "EMPTY"):
                raise ExpressionError(f"expected NULL or EMPTY after IS, found {self.describe()}",
                                      self.token.position)
            self.advance()
            node: ExpressionNode = IsNullNode(token.position, self.value(left))
            return NotNode(token.position, node) if negated else node
        negated = False
        if self.at_keyword("NOT") and self.tokens[self.index + 1].kind == "name" and \
                self.tokens[self.index + 1].upper in ("LIKE", "IN", "BETWEEN"):
            self.advance()
            negated = True
            token = self.token
        if self.at_keyword("LIKE"):
            self.advance()
            node = LikeNode(token.position, self.value(left), self.value(self.additive()))
        elif self.at_keyword("IN"):
            self.advance()
            node = InNode(token.position, self.value(left), self.in_list())
        elif self.at_keyword("BETWEEN"):
            self.advance()
            low = self.value(self.additive())
            self.expect_keyword("AND", "between the bounds of BETWEEN")
            high = self.value(self.additive())
            node = BetweenNode(token.position, self.value(left), low, high)
        else:
            return left
        return NotNode(token.position, node) if negated else node

    def in_list(self) -> list[ExpressionNode]:
        self.expect_op("(", "after IN")
        self.enter()
        items = [self.value(self.expression())]
        while self.at_op(","):
            self.advance()
            items.append(self.value(self.expression()))
        self.expect_op(")", "to close the IN list")
        self.depth -= 1
        return items

    def additive(self) -> ExpressionNode:
        return self.arithmetic(("+", "-"), self.multiplicative)

    def multiplicative(self) -> ExpressionNode:
        return self.arithmetic(("*", "/"), self.unary)

    def arithmetic(self, operators: tuple[str, str], operand: Callable[[], ExpressionNode]) -> ExpressionNode:
        """``operand op operand …`` at one precedence level (one ``ArithmeticNode`` node), or the lone operand."""
        first = operand()
        if not self.at_op(*operators):
            return first
        rest = []
        while self.at_op(*operators):
            operator = self.advance().text
            rest.append((operator, self.value(operand())))
        return ArithmeticNode(first.position, self.value(first), rest)

    def unary(self) -> ExpressionNode:
        if self.at_op("-", "+"):
            token = self.advance()
            self.enter()
            operand = self.value(self.unary())
            self.depth -= 1
            if token.text == "+":
                return ArithmeticNode(token.position, operand, [])
            if isinstance(operand, LiteralNode) and type(operand.value) is Decimal:
                return LiteralNode(token.position, -operand.value)
            return NegateNode(token.position, operand)
        return self.primary()

    def primary(self) -> ExpressionNode:
        token = self.token
        if token.kind == "number":
            self.advance()
            return LiteralNode(token.position, Decimal(token.text))
        if token.kind == "string":
            self.advance()
            return LiteralNode(token.position, token.text)
        if token.kind == "op" and token.text == "(":
            self.advance()
            node = self.expression()
            self.expect_op(")", "to close '('")
            return node
        if token.kind == "name":
            word = token.upper
            next_token = self.tokens[self.index + 1]
            if next_token.kind == "op" and next_token.text == "(":
                return self.call()
            if word == "NULL":
                self.advance()
                return LiteralNode(token.position, None)
            if word == "CASE":
                return self.case()
            if word in _KEYWORDS:
                raise ExpressionError(f"unexpected keyword {token.text}", token.position)
            return self.attribute()
        raise ExpressionError(f"expected a value, found {self.describe()}", token.position)

    def attribute(self) -> ExpressionNode:
        token = self.advance()
        if not self.at_op("."):
            self.references.add((None, token.text))
            return AttributeNode(token.position, None, token.text)
        self.advance()
        attribute = self.token
        if attribute.kind != "name":
            raise ExpressionError(
                f"expected an attribute name after '{token.text}.', found {self.describe()}",
                attribute.position)
        self.advance()
        if self.at_op("."):
            raise ExpressionError("a reference is element.attribute; paths are not allowed",
                                  self.token.position)
        self.references.add((token.text, attribute.text))
        return AttributeNode(token.position, token.text, attribute.text)

    def case(self) -> ExpressionNode:
        start = self.advance()
        self.enter()
        branches = []
        if not self.at_keyword("WHEN"):
            raise ExpressionError(f"expected WHEN after CASE, found {self.describe()}",
                                  self.token.position)
        while self.at_keyword("WHEN"):
            self.advance()
            condition = self.condition(self.expression())
            self.expect_keyword("THEN", "after the WHEN condition")
            result = self.value(self.expression())
            branches.append((condition, result))
        otherwise = None
        if self.at_keyword("ELSE"):
            self.advance()
            otherwise = self.value(self.expression())
        self.expect_keyword("END", f"to close the CASE at position {start.position}")
        self.depth -= 1
        return CaseNode(start.position, branches, otherwise)

    def call(self) -> ExpressionNode:
        name_token = self.advance()
        name = name_token.upper
        self.advance()  # '('
        self.enter()
        if name == "DATEADD":
            node = self.dateadd(name_token)
        elif name == "CAST":
            node = self.cast(name_token)
        else:
            function = FUNCTIONS.get(name)
            if function is None:
                known = sorted([*FUNCTIONS, *_SPECIAL_FUNCTIONS])
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(known)}"
                raise ExpressionError(f"unknown function {name_token.text}{hint}",
                                      name_token.position)
            arguments = []
            if not self.at_op(")"):
                arguments.append(self.value(self.expression()))
                while self.at_op(","):
                    self.advance()
                    arguments.append(self.value(self.expression()))
            self.expect_op(")", f"to close {name}(")
            count = len(arguments)
            if count < function.min_arguments or (
                    function.max_arguments is not None and count > function.max_arguments):
                if function.max_arguments is None:
                    wanted = f"at least {function.min_arguments}"
                elif function.min_arguments == function.max_arguments:
                    wanted = str(function.min_arguments)
                else:
                    wanted = f"{function.min_arguments} to {function.max_arguments}"
                raise ExpressionError(
                    f"{name} takes {wanted} argument(s), got {count}", name_token.position)
            node = CallNode(name_token.position, name, arguments)
        self.depth -= 1
        return node

    def dateadd(self, name_token: _Token) -> ExpressionNode:
        unit_token = self.token
        if unit_token.kind == "name":
            unit = _DATE_UNITS.get(unit_token.upper)
        elif unit_token.kind == "string":
            unit = _DATE_UNITS.get(unit_token.text.upper())
        else:
            unit = None
        if unit is None:
            raise ExpressionError(
                "DATEADD's first argument must be a unit: year, quarter, month, week, day, "
                "hour, minute or second", unit_token.position)
        self.advance()
        self.expect_op(",", "after the DATEADD unit")
        amount = self.value(self.expression())
        self.expect_op(",", "after the DATEADD amount (DATEADD(unit, n, date))")
        moment = self.value(self.expression())
        self.expect_op(")", "to close DATEADD(")
        return CallNode(name_token.position, "DATEADD", [amount, moment], unit)

    def cast(self, name_token: _Token) -> ExpressionNode:
        operand = self.value(self.expression())
        self.expect_keyword("AS", "in CAST(x AS type)")
        type_token = self.token
        data_type = _CAST_TYPES.get(type_token.upper) if type_token.kind == "name" else None
        if data_type is None:
            close = difflib.get_close_matches(type_token.upper, list(_CAST_TYPES), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ExpressionError(f"unknown CAST type {self.describe()}{hint}",
                                  type_token.position)
        self.advance()
        length: int | None = None
        if self.at_op("("):
            self.advance()
            sizes = [self.size()]
            if self.at_op(","):
                self.advance()
                sizes.append(self.size())
            self.expect_op(")", "to close the type's size")
            # VARCHAR(n) → length n; DECIMAL(p, s) → s places; DECIMAL(p) → 0.
            if data_type == "string":
                length = sizes[0]
            elif data_type == "decimal":
                length = sizes[1] if len(sizes) > 1 else 0
        elif data_type == "decimal" and type_token.upper != "MONEY":
            length = 0  # SQL's bare DECIMAL is DECIMAL(18, 0)
        elif type_token.upper == "MONEY":
            length = 4
        self.expect_op(")", "to close CAST(")
        column = Column(name="CAST", data_type=data_type, data_length=length)
        return CallNode(name_token.position, "CAST", [operand], column)

    def size(self) -> int | None:
        token = self.token
        if token.kind == "name" and token.upper == "MAX":
            self.advance()
            return None
        if token.kind != "number" or not token.text.isdigit() or len(token.text) > 6:
            raise ExpressionError(f"expected a whole number size, found {self.describe()}",
                                  token.position)
        self.advance()
        return int(token.text)


# --- public API --------------------------------------------------------------


class Expression:
    """A parsed expression; evaluate it once per row."""

    __slots__ = ("text", "references", "root", "code")

    def __init__(self, text: str, root: ExpressionNode,
                 references: frozenset[tuple[str | None, str]]) -> None:
        self.text = text
        """The source text, as written in the contract."""
        self.references = references
        """(element name or None for a bare name, attribute name) pairs read."""
        self.root = root
        """The parsed tree (``expression_source`` generates Python source from it)."""
        self.code = None
        """Its generated functions, made at first use by ``expression_source.generated_for``
        (evaluation lives there only: this module parses)."""

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __reduce__(self):
        # Generated functions do not pickle; the text parses to the same expression.
        return (parse_expression, (self.text,))


def parse_expression(text: str) -> Expression:
    """Parse and compile ``text``.

    Raises ExpressionError (with ``.position``) for any malformed input:
    unterminated string, unknown function or CAST type (with a did-you-mean),
    missing THEN/END/')', wrong argument count, a condition where a value
    belongs or the reverse, trailing tokens, or nesting deeper than
    MAX_NESTING. Never raises anything else.
    """
    if not isinstance(text, str):
        raise ExpressionError("an expression must be text", 0)
    root, references = _Parser(text).parse()
    return Expression(text, root, references)
