"""The value layer: text from a document turned into typed column values.

Everything here is a pure function of its arguments. ``convert_value`` runs
about 200 times per document, so the common shapes (plain digits, ISO dates)
take a fast path without exceptions; the lenient paths only run when the
text is unusual.

Numbers never go through ``float`` unless the column is a ``float``; decimals
are exact ``Decimal`` values rounded half-up (away from zero on a tie).
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal

from xmlshred.vocab.errors import DataError
from xmlshred.vocab.schema import Column

__all__ = [
    "BIT_SPELLINGS",
    "ValueRangeError",
    "numbers_only",
    "extract_numeric",
    "parse_datetime",
    "find_datetime",
    "parse_number",
    "convert_value",
    "format_canonical",
    "INTEGER_RANGES",
    "MAX_DECIMAL_DIGITS",
]


class ValueRangeError(DataError, ValueError):
    """A value does not fit its column's type (integer range, decimal size).

    The message names the column and the rule, never the value: values come
    from documents and may be personal data.
    """

    def __init__(self, column: str, rule: str) -> None:
        super().__init__(f"column={column}: value is out of range ({rule})")
        self.column = column
        """The column the value was meant for."""
        self.rule = rule
        """The rule that was broken, e.g. ``tinyint 0..255``."""

    def __reduce__(self):
        # Exceptions pickle as cls(*args); args holds the formatted text only.
        return (type(self), (self.column, self.rule))


INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "tinyint": (0, 255),
    "smallint": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}

MAX_DECIMAL_DIGITS = 38
"""SQL Server's and the usual DECIMAL(p, s) ceiling on p: a value needing more
significant digits (after rounding) cannot be stored exactly anywhere."""

# --- numbers -----------------------------------------------------------------

_NON_DIGITS = re.compile(r"[^0-9]+")

# A sign counts only when it is not glued to a word or number before it, so
# "ABC-123" and "5-10" do not yield negative numbers. Commas count only as
# well-formed thousands separators ("1,500" but not "1,5" or "1,5000").
_FIRST_NUMBER = re.compile(
    r"(?:(?<![0-9A-Za-z.])[-+])?"
    r"(?:[0-9]+(?:,[0-9]{3}(?![0-9]))*(?:\.[0-9]+)?|\.[0-9]+)"
)
# A whole text that is exactly a number (exponent allowed: "1.5E3").
_PLAIN_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def numbers_only(text: str) -> str:
    """Keep the ASCII digits of ``text``: ``(801) 555-1212`` → ``8015551212``.

    Never fails; text without digits gives ``''``.
    """
    if text.isascii():
        return text.translate(_ASCII_NON_DIGITS)  # the same, without the pattern
    return _NON_DIGITS.sub("", text)


_ASCII_NON_DIGITS = dict.fromkeys(code for code in range(128) if not 48 <= code <= 57)
"""``str.translate`` table deleting every ASCII character but the digits."""


def extract_numeric(text: str) -> str:
    """The first number in ``text``, with its sign and decimal point.

    ``Up to $40.50`` → ``40.50``; ``-3.999 fee`` → ``-3.999``. Commas between
    digit groups of three are thousands separators and are dropped
    (``1,500.25`` → ``1500.25``); any other comma ends the number
    (``1,5`` → ``1``). A sign counts only when it directly precedes the digits
    and does not follow a letter or digit (``A-5`` → ``5``); ``+`` is dropped.
    Never fails; text without a number gives ``''``.
    """
    match = _FIRST_NUMBER.search(text)
    if match is None:
        return ""
    number = match.group().replace(",", "")
    if number[0] == "+":
        number = number[1:]
    if number[0] == ".":
        number = "0" + number
    elif number.startswith("-."):
        number = "-0" + number[1:]
    return number


_STRICT_NUMBER = re.compile(
    r"([-+]?)\$?((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)"
)
"""A whole text that is a number: sign, optional ``$``, digits with optional
well-formed thousands commas, optional fraction (``-1,500.25``, ``$40``, ``.5``)."""


def parse_number(text: str) -> Decimal | None:
    """The number a value's whole text stands for, as an exact ``Decimal``.

    The whole text must be a number (``-1,500.25``, ``$40``, ``.5``); anything
    else (``abc``, ``12 months``, ``1.5E3``, an object's printed name with
    digits in it) gives None: pulling a number out of text is the job of the
    ``extract_numeric`` and ``numbers_only`` steps, never of a data type.
    Never raises.
    """
    if text.isascii() and text.replace(".", "", 1).isdigit():
        return Decimal(text)  # plain digits with at most one point: what the pattern keeps as is
    match = _STRICT_NUMBER.fullmatch(text)
    if match is None:
        return None
    sign, digits = match.groups()
    if "," in digits:
        digits = digits.replace(",", "")
    return Decimal(sign + digits if sign == "-" else digits)


# --- dates -------------------------------------------------------------------

_TIME = (
    r"(?:(?:T| +)([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2})(?:[.,]([0-9]+))?)?"
    r"(?:\s*([AaPp][Mm]))?)?"
    r"\s*(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_ISO_DATETIME = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})" + _TIME)
_US_DATETIME = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})" + _TIME)
# For searching inside free text: the same shapes, not glued to other digits.
_ISO_SEARCH = re.compile(r"(?<![0-9])" + _ISO_DATETIME.pattern + r"(?![0-9])")
_US_SEARCH = re.compile(r"(?<![0-9])" + _US_DATETIME.pattern + r"(?![0-9])")


def _build_datetime(
    year: str, month: str, day: str, hour: str | None, minute: str | None,
    second: str | None, fraction: str | None, meridiem: str | None, zone: str | None,
) -> datetime | None:
    """A naive UTC datetime from matched parts; None when the parts are no date."""
    hour_value = int(hour) if hour else 0
    if meridiem:
        # 12-hour clock: 12 AM is midnight, 12 PM is noon; "13:00 PM" is no time.
        if not 1 <= hour_value <= 12:
            return None
        hour_value = hour_value % 12 + (12 if meridiem[0] in "pP" else 0)
    microsecond = 0
    carry = False
    if fraction:
        # Round half-up to microseconds (datetime2 keeps 7 digits, Python 6).
        digits = (fraction + "000000")[:7]
        microsecond = (int(digits) + 5) // 10
        if microsecond == 1_000_000:
            microsecond = 0
            carry = True
    try:
        value = datetime(
            int(year), int(month), int(day), hour_value,
            int(minute) if minute else 0, int(second) if second else 0, microsecond,
        )
        if carry:
            value += timedelta(seconds=1)
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            offset = zone[1:].replace(":", "")
            value -= sign * timedelta(hours=int(offset[:2]), minutes=int(offset[2:]))
    except (ValueError, OverflowError):
        return None
    return value


@functools.lru_cache(maxsize=4096)
def parse_datetime(text: str) -> datetime | None:
    """Parse a whole text as a date or datetime; naive, in UTC.

    Accepts ``YYYY-MM-DD[( |T)HH:MM[:SS[.fff…]]]`` and
    ``MM/DD/YYYY[ HH:MM[:SS[.fff…]]]``, single-digit parts
    (``2025-10-14 20:9:54.0``), an optional ``AM``/``PM``, and an optional
    ``Z`` or ``±HH:MM`` offset (converted to UTC). Fractions are rounded
    half-up to microseconds. Surrounding white space is ignored.
    Returns None for anything else, including impossible dates
    (``2025-13-45``); never raises. Results are cached (datetimes are
    immutable): a document reads the same date in several expressions.
    """
    text = text.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        # The commonest shape, YYYY-MM-DD, without the pattern: what _build_datetime
        # makes of a date without a time.
        year, month, day = text[:4], text[5:7], text[8:]
        if year.isdigit() and month.isdigit() and day.isdigit():
            try:
                return datetime(int(year), int(month), int(day))
            except ValueError:
                return None
    match = _ISO_DATETIME.fullmatch(text)
    if match is not None:
        year, month, day, *rest = match.groups()
        return _build_datetime(year, month, day, *rest)
    match = _US_DATETIME.fullmatch(text)
    if match is not None:
        month, day, year, *rest = match.groups()
        return _build_datetime(year, month, day, *rest)
    return None


def find_datetime(text: str) -> datetime | None:
    """The first date or datetime found inside free text (``extract_date``).

    Same formats as ``parse_datetime``; candidates are tried in text order
    and the first that is a real date wins. Returns None when there is none;
    never raises.
    """
    candidates = [
        (match.start(), match.group())
        for pattern in (_ISO_SEARCH, _US_SEARCH)
        for match in pattern.finditer(text)
    ]
    for _, candidate in sorted(candidates):
        value = parse_datetime(candidate)
        if value is not None:
            return value
    return None


# --- conversion to a column's type -------------------------------------------

_TRUE_WORDS = frozenset({"1", "y", "yes", "true", "t"})
_FALSE_WORDS = frozenset({"0", "n", "no", "false", "f"})
BIT_SPELLINGS: dict[str, int] = {
    spelling: bit for words, bit in ((_TRUE_WORDS, 1), (_FALSE_WORDS, 0))
    for word in words for spelling in (word, word.upper(), word.capitalize())}
"""The usual spellings of the bit words and what a bit column makes of them (the same
as ``convert_value``), for converting them without a call."""


def _to_integer(text: str, column: Column) -> tuple[object, bool]:
    if len(text) < 19 and text.isdigit() and text.isascii():
        value = int(text)
    else:
        number = parse_number(text)
        if number is None:
            return None, False
        low, high = INTEGER_RANGES[column.data_type]
        # Checked before rounding so a huge exponent ("1E999999") never turns
        # into a huge Python int.
        if number.adjusted() > 19:
            raise ValueRangeError(column.name, f"{column.data_type} {low}..{high}")
        value = int(number.to_integral_value(rounding=ROUND_HALF_UP))
    low, high = INTEGER_RANGES[column.data_type]
    if value < low or value > high:
        raise ValueRangeError(column.name, f"{column.data_type} {low}..{high}")
    return value, False


def _integer_converter(data_type: str):
    """``_to_integer`` for one integer type, plain digits checked against its bound only."""
    high = INTEGER_RANGES[data_type][1]

    def to_integer(text: str, column: Column) -> tuple[object, bool]:
        if len(text) < 19 and text.isdigit() and text.isascii():
            value = int(text)
            if value <= high:  # plain digits are never below a type's low bound
                return value, False
        return _to_integer(text, column)  # every other text, and the range error

    return to_integer


QUANTUMS = {places: Decimal(1).scaleb(-places) for places in range(0, 39)}
"""Places -> the Decimal a value is quantized to (``Decimal("0.01")`` for 2)."""
# Wide enough for any value that passes the 38-digit check: the default
# context (28 digits) would make quantize fail on large valid decimals.
DECIMAL_CONTEXT = Context(prec=MAX_DECIMAL_DIGITS + 2, rounding=ROUND_HALF_UP)


def _quantize(number: Decimal, places: int) -> Decimal:
    quantum = QUANTUMS.get(places)
    if quantum is None:
        quantum = Decimal(1).scaleb(-places)
    result = number.quantize(quantum, rounding=ROUND_HALF_UP, context=DECIMAL_CONTEXT)
    if not result and result.is_signed():
        # -0.001 rounds to -0.00; a database stores plain zero.
        result = result.copy_abs()
    return result


def _to_decimal(text: str, column: Column) -> tuple[object, bool]:
    number = parse_number(text)
    if number is None:
        return None, False
    places = column.data_length
    # Integer digits plus places must fit in 38 digits; without a scale, an
    # exponent form such as 1E-999 must not become a thousand-digit value.
    if number.adjusted() + 1 + (places or 0) > MAX_DECIMAL_DIGITS or (
            places is None and number.as_tuple().exponent < -MAX_DECIMAL_DIGITS):
        raise ValueRangeError(column.name, f"decimal of at most {MAX_DECIMAL_DIGITS} digits")
    if places is None:
        return number, False
    return _quantize(number, places), False


def _to_float(text: str, column: Column) -> tuple[object, bool]:
    number = parse_number(text)
    if number is None:
        return None, False
    value = float(number)
    if value in (float("inf"), float("-inf")):
        raise ValueRangeError(column.name, "float must be finite")
    return value, False


def _to_datetime(text: str, column: Column) -> tuple[object, bool]:
    return parse_datetime(text), False


def _to_date(text: str, column: Column) -> tuple[object, bool]:
    value = parse_datetime(text)
    return (None if value is None else value.date()), False


def _to_bit(text: str, column: Column) -> tuple[object, bool]:
    word = text.lower()
    if word in _TRUE_WORDS:
        return 1, False
    if word in _FALSE_WORDS:
        return 0, False
    if _PLAIN_NUMBER.fullmatch(text) is not None:
        return (0 if Decimal(text) == 0 else 1), False
    return None, False


def _to_string(text: str, column: Column) -> tuple[object, bool]:
    length = column.data_length
    if length is not None and length > 0 and len(text) > length:
        return text[:length], True
    return text, False


_CONVERTERS = {
    "string": _to_string,
    **{data_type: _integer_converter(data_type) for data_type in ("int", "smallint", "bigint", "tinyint")},
    "decimal": _to_decimal,
    "float": _to_float,
    "datetime": _to_datetime,
    "date": _to_date,
    "bit": _to_bit,
    "boolean": _to_bit,
}


def converter(data_type: str):
    """The ``convert_value`` of one data type, for callers that pick it once
    (``converter("int")(text, column)``); KeyError for an unknown type."""
    return _CONVERTERS[data_type]


CONVERSION_MEMO_SIZE = 4096
"""How many texts each ``conversion_memo`` holds before it forgets them all."""
_CONVERSION_MEMOS: dict[tuple[str, int | None], dict] = {}
MISSING = object()
"""What a memo's ``get(text, MISSING)`` gives for a text it does not hold."""


def forget_conversions() -> None:
    """Empty every ``conversion_memo`` (a benchmark's pass then maps as a fresh worker would)."""
    for memo in _CONVERSION_MEMOS.values():
        memo.clear()


def conversion_memo(data_type: str, data_length: int | None) -> dict:
    """The process's memo of ``convert_value`` for one type that never truncates (decimal,
    float, date, datetime): stripped text → value (None: no value of that type).

    The value depends only on the text, the type and the places, never on the column's
    name, so columns of the same type share it. Callers store only what the converter
    returned (never a ValueRangeError) and clear it when it holds ``CONVERSION_MEMO_SIZE``
    texts. Every value in it is immutable.
    """
    if data_type not in ("decimal", "float", "date", "datetime"):
        raise ValueError(f"no conversion memo for data_type={data_type!r}: it may truncate or is cheap")
    key = (data_type, data_length if data_type == "decimal" else None)
    memo = _CONVERSION_MEMOS.get(key)
    if memo is None:
        memo = _CONVERSION_MEMOS[key] = {}
    return memo


def convert_value(text: str, column: Column) -> tuple[object, bool]:
    """Convert stripped, non-empty ``text`` to ``column``'s data type.

    Returns ``(value, truncated)``; ``truncated`` is True only when a string
    was cut to ``data_length``. ``value`` is None when the text holds no value
    of that type (``abc`` for an int, ``2025-13-45`` for a date): the caller
    then applies the null rule.

    Integers: commas removed, the number in the text rounded half-up
    (``2.5`` → 3, ``1,500`` → 1500). Decimals: exact, rounded half-up to
    ``data_length`` places (None keeps the text's own places). Floats: the
    number in the text. Datetimes: naive UTC ``datetime``; dates: its date
    part. Bits: 1 for ``1/y/yes/true/t`` or a non-zero number, 0 for
    ``0/n/no/false/f`` or zero (case-insensitive). Strings: cut to
    ``data_length`` (None or 0 means no limit).

    Raises ValueRangeError (naming the column, never the value) when an
    integer is outside its type's range, a decimal needs more than 38 digits
    or a float is infinite; ValueError when ``column.data_type`` is unknown.
    """
    converter = _CONVERTERS.get(column.data_type)
    if converter is None:
        raise ValueError(
            f"column={column.name}: unknown data_type={column.data_type!r}; "
            f"use one of {', '.join(_CONVERTERS)}"
        )
    return converter(text, column)


def format_canonical(value: object, data_type: str, data_length: int | None) -> object:
    """The canonical form of a column value (conformance files, SQLite text).

    datetime → ``YYYY-MM-DD HH:MM:SS`` plus ``.ffffff`` only when the fraction
    is not zero; date → ``YYYY-MM-DD``; Decimal → text with exactly
    ``data_length`` places (rounded half-up if it had more; no exponent);
    anything else, including None, is returned unchanged. Never raises for
    values ``convert_value`` produces.
    """
    value_type = type(value)
    if value_type is datetime:
        return value.isoformat(" ")
    if value_type is date:
        return value.isoformat()
    if value_type is Decimal:
        if data_length is not None and data_length >= 0:
            if value.as_tuple().exponent != -data_length:
                value = _quantize(value, data_length)
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return value
