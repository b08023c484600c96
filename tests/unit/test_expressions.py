"""contract.expressions: the calculated-field language, parsed and evaluated."""

from __future__ import annotations

import json
import pickle
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CONFORMANCE
from tests.unit import oracle
from xmlshred.contract import expression_source
from xmlshred.contract.expression_source import generate
from xmlshred.contract.expressions import ExpressionError, parse_expression, result_to_text

NOW = datetime(2025, 6, 15, 12, 30, 0)


def evaluate(text: str, attributes: dict | None = None, now: datetime = NOW):
    """Evaluate ``text``; attributes keyed by name (own element) or 'element.name'."""
    attributes = attributes or {}

    def lookup(element, name):
        key = name if element is None else f"{element}.{name}"
        return attributes.get(key)

    return evaluate_both(parse_expression(text), lookup, now)


def evaluate_both(expression, lookup, now: datetime = NOW):
    """The reference tree walk's answer (tests/unit/oracle.py), checked against the generated
    functions' (same type, same repr), which ``expression_source.evaluate`` runs."""
    expected = oracle.evaluate(expression, lookup, now)
    generated = generate(expression)
    actual = generated.function(lookup, now)
    assert (type(actual), repr(actual)) == (type(expected), repr(expected)), expression.text
    evaluated = expression_source.evaluate(expression, lookup, now)
    assert (type(evaluated), repr(evaluated)) == (type(expected), repr(expected)), expression.text
    # The mapper's entry point: the starting element's own attributes first, the rest asked
    # of the document (here both answered by ``lookup``).
    from_element = generated.second(_Answers(lookup), _Start(lookup), now)
    assert (type(from_element), repr(from_element)) == (type(expected), repr(expected)), \
        expression.text
    # The row builders' entry point: the result as text, the second time from its memo.
    for _ in range(2):
        text = generated.third(_Answers(lookup), _Start(lookup), now)
        assert text == result_to_text(expected).strip(), expression.text
    return expected


class _Start:
    """A starting element whose attributes are ``lookup``'s bare names."""

    def __init__(self, lookup) -> None:
        self.lookup = lookup

    def get(self, name):
        return self.lookup(None, name)


class _Answers:
    """A document that answers every other attribute with ``lookup``."""

    def __init__(self, lookup) -> None:
        self.read = lookup

    def answer(self, start, element, name):
        return self.read(element, name)

    def lookup(self, start):
        return self.read


def condition(text: str, attributes: dict | None = None) -> bool:
    """Whether a condition holds, through a CASE (a bare condition is no value)."""
    result = evaluate(f"CASE WHEN {text} THEN 'T' ELSE 'F' END", attributes)
    assert result in ("T", "F")
    return result == "T"


def error_of(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    return caught.value


# --- the conformance contract's expressions ---------------------------------------

TIER = (
    "CASE WHEN application.pricing_tier > 50 AND (application.campaign = 'x1' OR "
    "application.campaign = 'Y2') THEN 'high' WHEN application.pricing_tier IS EMPTY THEN "
    "NULL WHEN NOT application.campaign LIKE 'Z%' THEN 'low' ELSE 'zed' END"
)
NUM_BAND = (
    "CASE WHEN application.pricing_tier > 9 THEN 'gt9' WHEN application.pricing_tier IS NULL "
    "THEN 'none' ELSE 'le9' END"
)
PRECEDENCE = (
    "CASE WHEN application.campaign = 'X1' OR application.campaign = 'nope' AND "
    "application.pricing_tier = 0 THEN 'yes' ELSE 'no' END"
)
MONTHS = "months_at_residence + (years_at_residence * 12)"


def test_the_conformance_contract_holds_exactly_these_expressions():
    contract = json.loads((CONFORMANCE / "contract.json").read_text(encoding="utf-8"))
    expressions = {m["target_column"]: m["expression"]
                   for m in contract["mappings"] if "expression" in m}
    assert expressions == {
        "tier": TIER, "num_band": NUM_BAND, "precedence": PRECEDENCE,
        "months_at_address": MONTHS,
    }


@pytest.mark.parametrize(
    ("pricing_tier", "campaign", "tier", "num_band", "precedence"),
    [
        ("59", "X1", "high", "gt9", "yes"),    # 01_basic
        ("", "Z9", None, "none", "no"),        # 02_contacts
        ("50", "Z7", "zed", "gt9", "no"),      # 03_types_and_ties
        (None, None, None, "none", "no"),      # 10_bom, 11_windows_1252
        ("5", "A1", "low", "le9", "no"),
        ("60", "y2", "high", "gt9", "no"),
        ("0", "nope", "low", "le9", "yes"),    # AND binds tighter than OR
        ("1", "nope", "low", "le9", "no"),
    ],
)
def test_conformance_case_expressions(pricing_tier, campaign, tier, num_band, precedence):
    attributes = {"application.pricing_tier": pricing_tier, "application.campaign": campaign}
    assert evaluate(TIER, attributes) == tier
    assert evaluate(NUM_BAND, attributes) == num_band
    assert evaluate(PRECEDENCE, attributes) == precedence


@pytest.mark.parametrize(
    ("months", "years", "expected"),
    [("3", "2", "27"), ("", "4", ""), ("5", "0", "5"), (None, None, "")],
)
def test_conformance_months_at_address(months, years, expected):
    value = evaluate(MONTHS, {"months_at_residence": months, "years_at_residence": years})
    assert result_to_text(value) == expected


def test_references():
    assert parse_expression(MONTHS).references == frozenset(
        {(None, "months_at_residence"), (None, "years_at_residence")})
    assert parse_expression(TIER).references == frozenset(
        {("application", "pricing_tier"), ("application", "campaign")})
    assert parse_expression("1 + 2").references == frozenset()
    assert parse_expression("COALESCE(a.b, c, DATEADD(day, n, a.d))").references == frozenset(
        {("a", "b"), (None, "c"), (None, "n"), ("a", "d")})


# --- arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", Decimal("7")),
        ("(1 + 2) * 3", Decimal("9")),
        ("10 - 4 - 3", Decimal("3")),       # left to right
        ("24 / 4 / 2", Decimal("3")),
        ("7/2", Decimal("3.5")),
        ("-3 + 5", Decimal("2")),
        ("-(2 + 3) * 2", Decimal("-10")),
        ("2 * -3", Decimal("-6")),
        ("- - 4", Decimal("4")),
        ("+'5'", Decimal("5")),
        ("0.1 + 0.2", Decimal("0.3")),      # exact decimal, not float
        ("'59' + 1", Decimal("60")),        # number-looking text is a number
        ("'1,500' + 1", Decimal("1501")),
        ("1.50 * 2", Decimal("3.00")),
    ],
)
def test_arithmetic(text, expected):
    value = evaluate(text)
    assert type(value) is Decimal and value == expected


@pytest.mark.parametrize(
    "text", ["1 / 0", "5 / (2 - 2)", "1 + NULL", "NULL * 2", "-NULL", "'abc' + 1",
             "1 + missing", "DATE('2025-01-01') + 1", "'' + 1"],
)
def test_arithmetic_null_rules(text):
    assert evaluate(text) is None


@pytest.mark.parametrize("value", ["12", "1.5", "1.", ".5", "1,500", " 7 ", "1.2.3", "abc", "-3",
                                   "+4", "1e3", "\u0663", "9" * 40])
def test_attribute_numbers_read_alike_both_ways(value):
    """Attribute text as an operand: the generated function's in-line reading of plain
    digits and its fallback give the reference's numbers (or NULL)."""
    for text in ("a * 2", "a / 0", "2 - a", "a + a", "DATEADD(day, a, '2025-01-01')",
                 "DATEADD(month, a * 1, '2025-01-31')", "a * 99999999999999999999 * 99999999999999999999"):
        evaluate(text, {"a": value})


def test_no_string_concatenation():
    assert evaluate("'a' + 'b'") is None


def test_long_chains_do_not_exhaust_the_stack():
    assert evaluate(" + ".join(["1"] * 3000)) == Decimal(3000)
    chain = " OR ".join(["a = 1"] * 2000)
    assert condition(chain, {"a": "1"}) is True


# --- comparisons -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attributes", "expected"),
    [
        ("x > 5", {"x": "10"}, True),          # numeric, not '10' < '5' as text
        ("x > 5", {"x": "4.99"}, False),
        ("'10' > '9'", {}, True),
        ("x = 59", {"x": "59.0"}, True),
        ("x = '059'", {"x": "59"}, True),
        ("x >= 1500", {"x": "1,500"}, True),
        ("x <> 3", {"x": "4"}, True),
        ("x != 3", {"x": "3"}, False),
        ("x <= 3", {"x": "3"}, True),
        ("x < 3", {"x": "3"}, False),
        ("name = 'ANDREA'", {"name": "andrea"}, True),   # case-insensitive text
        ("name < 'b'", {"name": "Apple"}, True),
        ("name > 5", {"name": "abc"}, True),             # not both numbers: as text
        ("x = 5", {"x": None}, False),                   # NULL compares false …
        ("x != 5", {"x": None}, False),
        ("x = NULL", {"x": None}, False),
        ("NULL = NULL", {}, False),
        ("x = 5", {"x": "   "}, False),                  # blank is empty is NULL
    ],
)
def test_comparisons(text, attributes, expected):
    assert condition(text, attributes) is expected


def test_not_of_a_null_comparison_is_true_two_valued_logic():
    assert condition("NOT x = 5", {}) is True
    assert condition("x NOT IN (1, 2)", {}) is True
    assert condition("x NOT LIKE 'a%'", {}) is True


@pytest.mark.parametrize(
    ("text", "attributes", "expected"),
    [
        ("d > DATE('2025-01-01')", {"d": "2025-01-01 00:00:01"}, True),
        ("d = DATE('2025-01-01')", {"d": "2025-01-01"}, True),
        ("d = DATE('2025-01-01')", {"d": "01/01/2025"}, True),  # compared as datetimes
        ("d < DATE('2025-01-01')", {"d": "12/31/2024 23:59:59"}, True),
        ("d >= DATE('2025-01-01')", {"d": "not a date"}, False),
        ("d < GETUTCDATE()", {"d": "2025-06-15 12:29:59"}, True),
        ("d < GETUTCDATE()", {"d": "2025-06-15 12:30:00"}, False),
        ("DATE(d) = DATE('2025-06-15')", {"d": "2025-06-15 23:00"}, True),
        ("d > DATEADD(day, -30, GETUTCDATE())", {"d": "2025-05-20"}, True),
        ("DATE('2025-01-01') = 5", {}, False),
    ],
)
def test_date_comparisons(text, attributes, expected):
    assert condition(text, attributes) is expected


# --- logic and precedence ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 = 1 OR 1 = 0 AND 1 = 0", True),     # AND before OR
        ("(1 = 1 OR 1 = 0) AND 1 = 0", False),
        ("1 = 0 AND 1 = 0 OR 1 = 1", True),
        ("NOT 1 = 0 AND 1 = 1", True),          # NOT before AND
        ("NOT (1 = 1 AND 1 = 0)", True),
        ("NOT 1 = 1 OR 1 = 1", True),
        ("NOT NOT 1 = 1", True),
        ("1 = 1 AND NOT 2 = 2", False),
        ("1 + 1 = 2 AND 2 * 3 = 6", True),      # arithmetic binds tighter than comparison
    ],
)
def test_logical_precedence(text, expected):
    assert condition(text) is expected


def test_not_applies_to_the_whole_comparison():
    assert condition("NOT a LIKE 'Z%'", {"a": "Zed"}) is False
    assert condition("NOT a LIKE 'Z%'", {"a": "Abe"}) is True
    assert condition("NOT a = 1 + 1", {"a": "2"}) is False


# --- LIKE, IN, IS NULL, BETWEEN -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("Zed", "Z%", True),
        ("zed", "Z%", True),            # case-insensitive
        ("Z", "Z%", True),
        ("AZ", "Z%", False),
        ("abc", "a_c", True),
        ("abbc", "a_c", False),
        ("abc", "%b%", True),
        ("a.c", "a.c", True),           # regex characters are literal
        ("abc", "a.c", False),
        ("100%", "100%", True),
        ("line\nbreak", "line%", True),
        ("abc", "abc", True),
        ("abcd", "abc", False),
        ("", "%", False),               # empty is NULL: no match
    ],
)
def test_like(value, pattern, expected):
    quoted = pattern.replace("'", "''")
    assert condition(f"v LIKE '{quoted}'", {"v": value}) is expected


def test_like_with_a_computed_pattern_and_numbers():
    assert condition("v LIKE UPPER(p)", {"v": "ABC", "p": "a%"}) is True
    assert condition("v LIKE p", {"v": "ABC"}) is False
    assert condition("v LIKE '12%'", {"v": "12345"}) is True
    assert condition("v NOT LIKE 'a%'", {"v": "b"}) is True


@pytest.mark.parametrize(
    ("text", "attributes", "expected"),
    [
        ("c IN ('PR', 'AUTHU')", {"c": "authu"}, True),
        ("c IN ('PR', 'AUTHU')", {"c": "SEC"}, False),
        ("c NOT IN ('PR', 'AUTHU')", {"c": "SEC"}, True),
        ("n IN (1, 2, 3)", {"n": "2.0"}, True),
        ("n IN (1 + 1)", {"n": "2"}, True),
        ("n IN (1, NULL)", {"n": None}, False),
        ("n IN (other, 5)", {"n": "7", "other": "7"}, True),
    ],
)
def test_in(text, attributes, expected):
    assert condition(text, attributes) is expected


@pytest.mark.parametrize(
    ("attributes", "expected_null", "expected_not_null"),
    [
        ({"a": None}, True, False),
        ({"a": ""}, True, False),
        ({"a": "  "}, True, False),
        ({"a": "0"}, False, True),
        ({"a": "x"}, False, True),
    ],
)
def test_is_null_and_is_empty_are_one_test(attributes, expected_null, expected_not_null):
    for word in ("NULL", "EMPTY", "null", "Empty"):
        assert condition(f"a IS {word}", attributes) is expected_null
        assert condition(f"a IS NOT {word}", attributes) is expected_not_null
    assert condition("NOT a IS NULL", attributes) is expected_not_null


def test_is_null_of_expressions():
    assert condition("'' IS NULL") is True
    assert condition("NULL IS NULL") is True
    assert condition("1 / 0 IS NULL") is True
    assert condition("COALESCE(a, 'x') IS NOT NULL") is True


def test_between():
    assert condition("n BETWEEN 1 AND 10", {"n": "10"}) is True
    assert condition("n BETWEEN 1 AND 10", {"n": "11"}) is False
    assert condition("n NOT BETWEEN 1 AND 10", {"n": "11"}) is True
    assert condition("n BETWEEN 1 AND 10 AND m = 1", {"n": "5", "m": "1"}) is True
    assert condition("n BETWEEN 1 AND 10", {}) is False


# --- CASE ----------------------------------------------------------------------------------


def test_case():
    text = "CASE WHEN n > 10 THEN 'big' WHEN n > 5 THEN 'medium' ELSE 'small' END"
    assert evaluate(text, {"n": "11"}) == "big"
    assert evaluate(text, {"n": "6"}) == "medium"     # first matching WHEN wins
    assert evaluate(text, {"n": "1"}) == "small"
    assert evaluate(text, {}) == "small"
    assert evaluate("CASE WHEN n > 10 THEN 'big' END", {"n": "1"}) is None
    assert evaluate("case when 1 = 1 then 2 * 3 else 0 end") == Decimal(6)
    nested = "CASE WHEN a = 1 THEN CASE WHEN b = 1 THEN 'a1b1' ELSE 'a1' END ELSE 'x' END"
    assert evaluate(nested, {"a": "1", "b": "1"}) == "a1b1"
    assert evaluate(nested, {"a": "1"}) == "a1"
    assert evaluate("CASE WHEN a = 1 THEN 1 END + 1", {"a": "1"}) == Decimal(2)


# --- functions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DATE('2025-10-14')", date(2025, 10, 14)),
        ("DATE('2025-10-14 20:9:54.0')", date(2025, 10, 14)),
        ("DATE('10/14/2025')", date(2025, 10, 14)),
        ("DATE('2025-13-45')", None),
        ("DATE(NULL)", None),
        ("DATEADD(day, 1, DATE('2024-02-28'))", date(2024, 2, 29)),
        ("DATEADD(day, -1, DATE('2025-03-01'))", date(2025, 2, 28)),
        ("DATEADD(month, 1, DATE('2025-01-31'))", date(2025, 2, 28)),   # month end clamps
        ("DATEADD(month, 1, DATE('2024-01-31'))", date(2024, 2, 29)),
        ("DATEADD(month, -1, DATE('2025-03-31'))", date(2025, 2, 28)),
        ("DATEADD(month, 13, DATE('2024-12-15'))", date(2026, 1, 15)),
        ("DATEADD(month, -12, DATE('2025-01-15'))", date(2024, 1, 15)),
        ("DATEADD(year, 1, DATE('2024-02-29'))", date(2025, 2, 28)),
        ("DATEADD(YEAR, -4, DATE('2024-02-29'))", date(2020, 2, 29)),
        ("DATEADD(mm, 2, DATE('2025-01-10'))", date(2025, 3, 10)),
        ("DATEADD(week, 1, DATE('2025-01-01'))", date(2025, 1, 8)),
        ("DATEADD(day, 1.9, DATE('2025-01-01'))", date(2025, 1, 2)),    # amount truncated
        ("DATEADD(day, 1, '2025-01-01 10:00')", datetime(2025, 1, 2, 10)),
        ("DATEADD(hour, 3, DATE('2025-01-01'))", datetime(2025, 1, 1, 3)),
        ("DATEADD(day, 1, GETUTCDATE())", datetime(2025, 6, 16, 12, 30)),
        ("DATEADD(day, NULL, GETUTCDATE())", None),
        ("DATEADD(day, 1, 'not a date')", None),
        ("DATEADD(year, 9000, DATE('2025-01-01'))", None),               # beyond year 9999
        ("GETUTCDATE()", NOW),
        ("COALESCE(NULL, '', 'x', 'y')", "x"),
        ("COALESCE(NULL)", None),
        ("ISNULL(NULL, 5)", Decimal(5)),
        ("ISNULL('a', 5)", "a"),
        ("ROUND(2.345, 2)", Decimal("2.35")),
        ("ROUND(2.5, 0)", Decimal("3")),
        ("ROUND(-2.5, 0)", Decimal("-3")),
        ("ROUND(0.125, 2)", Decimal("0.13")),
        ("ROUND(1234.5, -2)", Decimal("1200")),
        ("ROUND('7.777', 1)", Decimal("7.8")),
        ("ROUND('abc', 1)", None),
        ("SUBSTRING('hello', 2, 3)", "ell"),
        ("SUBSTRING('hello', 1, 100)", "hello"),
        ("SUBSTRING('hello', 0, 2)", "h"),       # SQL Server: positions 0 and 1
        ("SUBSTRING('hello', 6, 1)", None),
        ("SUBSTRING('hello', 2, -1)", None),
        ("SUBSTRING(12345, 2, 2)", "23"),
        ("SUBSTRING('hello', 2, 99999999999)", "ello"),
        ("SUBSTRING('hello', -99999999999, 99999999999)", None),
        ("UPPER('abc')", "ABC"),
        ("lower('ABC')", "abc"),
        ("UPPER(NULL)", None),
        ("LEN('abc  ')", Decimal(3)),
        ("LEN(12.50)", Decimal(4)),
        ("LEN(NULL)", None),
        ("TRIM('  a  ')", "a"),
        ("ABS(-2)", Decimal(2)),
        ("CAST('12.6' AS INT)", Decimal(13)),
        ("CAST('2.345' AS DECIMAL(10, 2))", Decimal("2.35")),
        ("CAST(7 AS decimal)", Decimal(7)),
        ("CAST('abcdef' AS VARCHAR(3))", "abc"),
        ("CAST(12 AS VARCHAR)", "12"),
        ("CAST(12 AS string)", "12"),
        ("CAST('2025-10-14 20:09' AS DATE)", date(2025, 10, 14)),
        ("CAST('10/14/2025' AS DATETIME)", datetime(2025, 10, 14)),
        ("CAST(GETUTCDATE() AS DATE)", date(2025, 6, 15)),
        ("CAST('yes' AS BIT)", Decimal(1)),
        ("CAST('abc' AS INT)", None),
        ("CAST('300' AS TINYINT)", None),        # out of range is NULL, not an error
        ("CAST(NULL AS INT)", None),
        ("CAST('1.5' AS FLOAT)", Decimal("1.5")),
    ],
)
def test_functions(text, expected):
    value = evaluate(text)
    assert value == expected
    assert type(value) is type(expected)


def test_functions_of_attributes():
    attributes = {"application.app_receive_date": "2025-01-31 08:00", "n": "2"}
    assert evaluate("DATEADD(month, n, application.app_receive_date)", attributes) == \
        datetime(2025, 3, 31, 8)
    assert evaluate("ISNULL(missing, n) * 2", attributes) == Decimal(4)


# --- literals --------------------------------------------------------------------------------


def test_string_literals_and_escapes():
    assert evaluate("'it''s'") == "it's"
    assert evaluate("''''") == "'"
    assert evaluate("'a  b'") == "a  b"
    assert evaluate("''") is None          # the empty string is NULL
    assert evaluate("NULL") is None
    assert evaluate("42") == Decimal(42)
    assert evaluate(".5") == Decimal("0.5")


def test_keywords_are_case_insensitive():
    assert evaluate("case WHEN a is null then 'n' Else 'v' eNd", {}) == "n"
    assert condition("a like 'x%' and not b in (1) or c is not empty", {"a": "xy", "b": "2"})


# --- result_to_text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (Decimal("27"), "27"),
        (Decimal("2.7E+1"), "27"),
        (Decimal("1E+3"), "1000"),
        (Decimal("3.50"), "3.5"),
        (Decimal("-0.00"), "0"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("1" * 40), "1" * 40),
        ("text", "text"),
        (datetime(2025, 10, 14, 20, 9, 54), "2025-10-14 20:09:54"),
        (datetime(2025, 10, 14, 20, 9, 54, 250000), "2025-10-14 20:09:54.250000"),
        (date(2025, 10, 14), "2025-10-14"),
    ],
)
def test_result_to_text(value, expected):
    assert result_to_text(value) == expected


# --- malformed expressions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("", 0, ["empty"]),
        ("   ", 0, ["empty"]),
        ("'abc", 0, ["unterminated"]),
        ("a = 'it''s", 4, ["unterminated"]),
        ("a # b", 2, ["unexpected character"]),
        ("1 2", 2, ["unexpected"]),
        ("a = 1 b", 6, ["unexpected"]),
        ("(1 + 2", 6, ["')'"]),
        ("1 + )", 4, ["expected a value"]),
        ("CASE WHEN a = 1 'x' END", 16, ["THEN"]),
        ("CASE WHEN a = 1 THEN 'x'", 24, ["END"]),
        ("CASE WHEN a = 1 THEN 'x' ELSE 'y'", 33, ["END"]),
        ("CASE 'x' END", 5, ["WHEN"]),
        ("CASE WHEN a THEN 1 END", 10, ["condition"]),
        ("a = 1", 2, ["condition", "value"]),
        ("(a = 1) + 1", 3, ["condition"]),
        ("DATEADDD(day, 1, x)", 0, ["unknown function", "DATEADD"]),
        ("UPPR(x)", 0, ["UPPER"]),
        ("x + FROB(1)", 4, ["unknown function"]),
        ("UPPER(a, b)", 0, ["UPPER", "1"]),
        ("SUBSTRING('a', 1)", 0, ["SUBSTRING", "3"]),
        ("GETUTCDATE(1)", 0, ["GETUTCDATE", "0"]),
        ("ISNULL(a)", 0, ["ISNULL", "2"]),
        ("DATEADD(fortnight, 1, x)", 8, ["unit"]),
        ("DATEADD(day 1, x)", 12, ["','"]),
        ("CAST(x AS WIDGET)", 10, ["CAST type"]),
        ("CAST(x AS INTT)", 10, ["INT"]),
        ("CAST(x INT)", 7, ["AS"]),
        ("CAST(x AS VARCHAR(1.5))", 18, ["size"]),
        ("a IS 5", 5, ["NULL or EMPTY"]),
        ("a IN 1", 5, ["'('"]),
        ("a.", 2, ["attribute name"]),
        ("a.b.c", 3, ["element.attribute"]),
        ("WHEN", 0, ["keyword"]),
        ("1 +", 3, ["expected a value"]),
        ("a BETWEEN 1 10", 12, ["AND"]),
        ("(" * 60 + "1" + ")" * 60, 40, ["nested"]),
        ("NOT " * 60 + "a = 1", 160, ["nested"]),
    ],
)
def test_malformed_expressions_report_position(text, position, words):
    error = error_of(text)
    assert error.position == position, str(error)
    assert f"position {position}" in str(error)
    for word in words:
        assert word.lower() in str(error).lower()


def test_expressions_and_errors_survive_pickling():
    """Worker processes may receive compiled contracts or report errors."""
    restored = pickle.loads(pickle.dumps(parse_expression(MONTHS)))
    assert restored.text == MONTHS
    assert restored.references == parse_expression(MONTHS).references
    lookup = {(None, "months_at_residence"): "3", (None, "years_at_residence"): "2"}.get
    assert expression_source.evaluate(restored, lambda element, name: lookup((element, name)), NOW) == 27
    error = pickle.loads(pickle.dumps(error_of("1 +")))
    assert (error.position, error.message) == (3, error_of("1 +").message)


def test_error_is_a_value_error_with_message_and_position():
    error = error_of("1 +")
    assert isinstance(error, ValueError)
    assert error.message.startswith("expected a value")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_parse_never_raises_anything_but_expression_error(text):
    try:
        parse_expression(text)
    except ExpressionError as error:
        assert 0 <= error.position <= len(text)


_FRAGMENTS = st.sampled_from([
    "CASE", "WHEN", "THEN", "ELSE", "END", "AND", "OR", "NOT", "IS", "NULL", "EMPTY",
    "IN", "LIKE", "BETWEEN", "AS", "(", ")", ",", ".", "+", "-", "*", "/", "=", "<>",
    "<=", ">", "'x'", "''", "'", "1", "2.5", "0", "a", "b.c", "DATE(", "DATEADD(",
    "day", "month", "CAST(", "INT", "DECIMAL(10,2)", "ROUND(", "SUBSTRING(", "COALESCE(",
    "ISNULL(", "GETUTCDATE()", "UPPER(", "LEN(",
])


@settings(max_examples=600, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=25))
def test_token_soup_parses_or_fails_cleanly_and_evaluates_without_raising(fragments):
    text = " ".join(fragments)
    try:
        expression = parse_expression(text)
    except ExpressionError as error:
        assert 0 <= error.position <= len(text)
        return
    values = {"a": "5", "b.c": "2025-01-31", "c": "x"}
    result = evaluate_both(expression, lambda element, name: values.get(
        name if element is None else f"{element}.{name}"), NOW)
    assert result is None or isinstance(result, (Decimal, str, date))
    result_to_text(result)


def _contract_expressions() -> list[str]:
    """Every expression of the example contracts and the conformance suites."""
    roots = [Path(__file__).resolve().parents[2] / "examples", CONFORMANCE]
    texts = set()
    for root in roots:
        for path in sorted(root.rglob("contract.json")):
            for mapping in json.loads(path.read_text("utf-8")).get("mappings", ()):
                if isinstance(mapping.get("expression"), str):
                    texts.add(mapping["expression"])
    return sorted(texts)


_CONTRACT_EXPRESSIONS = _contract_expressions()
_ATTRIBUTE_TEXTS = st.sampled_from([
    None, "", "  ", "0", "1", "12", " 59 ", "-3", "2.5", "1,500", "1,5", "007", ".5", "5.",
    "100000", "abc", "W", "bw", "M", "A", "own", "MIL", "null", "2025-01-31", "12/31/2024",
    "2024-04-18 13:07:50.2", "2025-13-45", "CC_PLAT", "cc_sec_1", "CC_STUDENT", "pass",
    "LOW", "HIGH", "Y", "n", "true", "ÄÖ", "ß", "x" * 40, "666-27-4951", "1E3", "NaN",
])


def test_contract_expressions_are_there():
    assert len(_CONTRACT_EXPRESSIONS) > 40


@settings(max_examples=400, deadline=None)
@given(index=st.integers(0, 10_000), values=st.dictionaries(
    st.sampled_from(["a", "b", "c", "d", "e", "f"]), _ATTRIBUTE_TEXTS), default=_ATTRIBUTE_TEXTS)
def test_generated_evaluators_answer_like_the_reference_on_every_contract_expression(index, values,
                                                                                     default):
    """Each contract expression, its attributes given values from a palette (an attribute's
    value chosen by its name's hash), evaluated by the reference and the generated function."""
    expression = parse_expression(_CONTRACT_EXPRESSIONS[index % len(_CONTRACT_EXPRESSIONS)])
    palette = list(values.values()) or [default]

    def lookup(element, name):
        return palette[(sum(map(ord, f"{element}.{name}")) + index) % len(palette)]

    evaluate_both(expression, lookup)


def test_generated_source_names_constants_and_never_pastes_them():
    generated = generate(parse_expression(
        "CASE WHEN a = 'x'' OR 1=1 --' THEN 'quote '' \\n' WHEN b IN ('p', 'q') THEN 2 END"))
    assert "OR 1=1" not in generated.source and "quote" not in generated.source
    assert "x' or 1=1 --" in generated.constants.values()
    assert generated.function(lambda element, name: {"a": "X' or 1=1 --"}.get(name), NOW) == \
        "quote ' \\n"


def test_generated_source_names_attribute_and_element_names_as_constants():
    """Attribute and element names (contract values too) live in the namespace, not the text."""
    generated = generate(parse_expression("applicant_zeta + contact_omega.amount_kappa"))
    for name in ("applicant_zeta", "contact_omega", "amount_kappa"):
        assert name not in generated.source
        assert name in generated.constants.values()


def test_the_text_memo_is_bounded_and_keyed_by_every_input():
    """``text_from_element`` remembers texts by the attributes read (and ``now`` when the
    expression reads it), and forgets them all once ``TEXT_MEMO_SIZE`` are held."""
    from xmlshred.contract import expression_source

    generated = generate(parse_expression("COALESCE(a, b)"))
    memo = next(value for value in generated.constants.values() if type(value) is dict)
    for number in range(expression_source.TEXT_MEMO_SIZE + 10):
        values = {"a": str(number), "b": "x"}
        text = generated.third(_Answers(_row_lookup(values)), _Start(_row_lookup(values)), NOW)
        assert text == str(number)
        assert len(memo) <= expression_source.TEXT_MEMO_SIZE
    for second in ("y", "z"):  # the same first input, another second one
        values = {"b": second}
        assert generated.third(_Answers(_row_lookup(values)), _Start(_row_lookup(values)), NOW) == second

    timed = generate(parse_expression("DATEADD(day, n, GETUTCDATE())"))
    values = {"n": "1"}
    first = timed.third(_Answers(_row_lookup(values)), _Start(_row_lookup(values)), NOW)
    later = timed.third(_Answers(_row_lookup(values)), _Start(_row_lookup(values)),
                        datetime(2026, 1, 1))
    assert (first, later) == ("2025-06-16 12:30:00", "2026-01-02 00:00:00")


def _row_lookup(values: dict):
    return lambda element, name: values.get(name)


@pytest.mark.parametrize("text", [
    "CASE " + " ".join(f"WHEN a = {n} THEN {n}" for n in range(1000)) + " ELSE 7 END",
    "CASE " + " ".join(f"WHEN a = {n} THEN {n}" for n in range(65)) + " END",
    "CASE WHEN " + " OR ".join(["a = 1"] * 1000) + " THEN 1 ELSE 2 END",
    " + ".join(["a"] * 1000),
    " * ".join(["a"] * 7) + " / 0",
    "COALESCE(" + ", ".join(["c"] * 300) + ", a)",
    "CASE WHEN a IN (" + ", ".join(["c"] * 1000) + ", a) THEN 1 END",
    "CASE WHEN a BETWEEN b AND 9 THEN 1 END",
    "CASE WHEN b LIKE a THEN 1 ELSE 0 END",
    "CASE WHEN a LIKE '5%' THEN 1 ELSE 0 END",
    "CASE WHEN a IN (b, 5) THEN 1 ELSE 0 END",
    "-" * 39 + "a",
])
def test_long_and_deep_expressions_compile_and_answer_like_the_reference(text):
    """Long CASE lists, chains, IN and COALESCE lists compile (flat helpers beyond a bound,
    never a nesting the compiler refuses) and give the reference's answers."""
    for values in ({"a": "5", "b": "1"}, {"a": "x", "b": "%"}, {}):
        evaluate(text, values)
