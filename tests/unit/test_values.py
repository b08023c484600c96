"""contract.values: text from documents turned into typed column values."""

from __future__ import annotations

import pickle
from datetime import date, datetime
from decimal import Decimal

import pytest

from xmlshred.contract.values import (
    ValueRangeError,
    convert_value,
    extract_numeric,
    find_datetime,
    format_canonical,
    numbers_only,
    parse_datetime,
    parse_number,
)
from xmlshred.vocab.schema import Column


def column(data_type: str, data_length: int | None = None, name: str = "col") -> Column:
    return Column(name=name, data_type=data_type, data_length=data_length)


# --- numbers_only / extract_numeric -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(801) 555-1212", "8015551212"),
        ("666-02-4645", "666024645"),
        ("123 45 6789", "123456789"),
        ("no digits", ""),
        ("", ""),
        ("a1b2c3", "123"),
        ("٣٤", ""),  # non-ASCII digits are not digits a database column expects
    ],
)
def test_numbers_only(text, expected):
    assert numbers_only(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Up to $40", "40"),
        ("12.50", "12.50"),
        ("-3.999 fee", "-3.999"),
        ("Up to $40.50", "40.50"),
        ("1,500", "1500"),
        ("$1,234,567.89 total", "1234567.89"),
        ("1,5", "1"),  # not a thousands grouping: the comma ends the number
        ("1,5000", "1"),
        ("fee 5 then 7", "5"),
        ("5-10", "5"),
        ("A-5", "5"),  # a hyphen glued to a word is not a sign
        ("cost: -7", "-7"),
        ("+8 points", "8"),
        (".5 percent", "0.5"),
        ("-.25", "-0.25"),
        ("40.", "40"),
        ("no number", ""),
        ("", ""),
    ],
)
def test_extract_numeric(text, expected):
    assert extract_numeric(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", Decimal("12")),
        ("1,500.5", Decimal("1500.5")),
        ("-1,500.25", Decimal("-1500.25")),
        ("$40", Decimal("40")),
        ("-$40", Decimal("-40")),
        (".5", Decimal("0.5")),
        # Strict: the whole text must be a number (docs/contract.md, "Data types").
        ("1.5E3", None),
        ("7%", None),
        ("12 months", None),
        ("1,5", None),
        ("1,5000", None),
        ("org.mozilla.javascript.Undefined@79eee12e", None),
        ("abc", None),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


# --- dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-14", datetime(2025, 10, 14)),
        ("2025-10-14 20:09", datetime(2025, 10, 14, 20, 9)),
        ("2025-10-14 20:09:54", datetime(2025, 10, 14, 20, 9, 54)),
        ("2025-10-14T20:09:54", datetime(2025, 10, 14, 20, 9, 54)),
        ("2025-10-14 20:9:54.0", datetime(2025, 10, 14, 20, 9, 54)),
        ("2025-3-1 7:0:0", datetime(2025, 3, 1, 7, 0, 0)),
        ("2025-03-01 07:00:00.250", datetime(2025, 3, 1, 7, 0, 0, 250000)),
        ("2025-03-01 07:00:00.1234567", datetime(2025, 3, 1, 7, 0, 0, 123457)),
        ("2025-12-31 23:59:59.9999999", datetime(2026, 1, 1)),  # rounding carries
        ("10/14/2025", datetime(2025, 10, 14)),
        ("1/2/2025 13:45:00", datetime(2025, 1, 2, 13, 45)),
        ("1/2/2025 1:45:00 PM", datetime(2025, 1, 2, 13, 45)),
        ("1/2/2025 12:05 AM", datetime(2025, 1, 2, 0, 5)),
        ("2025-01-01T10:00:00Z", datetime(2025, 1, 1, 10)),
        ("2025-01-01T10:00:00+02:00", datetime(2025, 1, 1, 8)),
        ("2024-02-29", datetime(2024, 2, 29)),
        ("  2024-02-29  ", datetime(2024, 2, 29)),
    ],
)
def test_parse_datetime_accepts(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2025-13-45", "2023-02-29", "2025-10-14 25:00:00", "2025-10-14 10:61",
        "14/10/2025", "1/2/2025 13:00 PM", "yesterday", "2025/10/14", "20251014",
        "2025-10-14 garbage", "", "0000-01-01", "2025-1x-01", "2025-00-10", "2025-10-32",
        "2025-\u0661\u0660-14",
    ],
)
def test_parse_datetime_rejects(text):
    assert parse_datetime(text) is None


def test_find_datetime_takes_the_first_real_date_in_text():
    assert find_datetime("signed 10/14/2025 at noon") == datetime(2025, 10, 14)
    assert find_datetime("bad 2025-13-45 then 2025-01-02 08:00") == datetime(2025, 1, 2, 8)
    assert find_datetime("ref 12025-01-01") is None
    assert find_datetime("nothing here") is None


# --- convert_value: integers ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("712", 712),
        ("1,500", 1500),
        ("2.5", 3),
        ("2.4", 2),
        ("-2.5", -3),  # half-up rounds away from zero on a tie
        ("abc", None),
        ("about 42 units", None),
        ("+7", 7),
        ("1E3", None),
        ("$1,250.50", 1251),
        ("007", 7),
    ],
)
def test_int_conversion(text, expected):
    assert convert_value(text, column("int")) == (expected, False)


@pytest.mark.parametrize(
    ("data_type", "low", "high"),
    [
        ("tinyint", 0, 255),
        ("smallint", -32768, 32767),
        ("int", -(2**31), 2**31 - 1),
        ("bigint", -(2**63), 2**63 - 1),
    ],
)
def test_integer_range_bounds(data_type, low, high):
    assert convert_value(str(low), column(data_type)) == (low, False)
    assert convert_value(str(high), column(data_type)) == (high, False)
    for outside in (low - 1, high + 1):
        with pytest.raises(ValueRangeError) as caught:
            convert_value(str(outside), column(data_type, name="review_count"))
        message = str(caught.value)
        assert "review_count" in message and data_type in message
        assert caught.value.column == "review_count"
    with pytest.raises(ValueRangeError) as caught:
        convert_value(f"{high}123987", column(data_type, name="review_count"))
    assert "123987" not in str(caught.value)  # never the value


def test_range_error_after_rounding_and_for_huge_exponents():
    with pytest.raises(ValueRangeError):
        convert_value("255.5", column("tinyint"))
    with pytest.raises(ValueRangeError):
        convert_value("9" * 400, column("bigint"))
    assert convert_value("1E999999", column("bigint")) == (None, False)  # not a number
    assert convert_value("255.4", column("tinyint")) == (255, False)


# --- convert_value: decimal, float -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "places", "expected"),
    [
        ("2.345", 2, "2.35"),
        ("450.005", 2, "450.01"),
        ("99.999", 2, "100.00"),
        ("7", 2, "7.00"),
        ("-3.999", 2, "-4.00"),
        ("-0.001", 2, "0.00"),
        ("1,234.5", 2, "1234.50"),
        ("0.125", 2, "0.13"),  # half-up, not banker's rounding (0.12)
        ("2.5", 0, "3"),
        ("12.3456789", None, "12.3456789"),
        ("1" * 30 + ".5", 2, "1" * 30 + ".50"),  # beyond the default 28-digit context
    ],
)
def test_decimal_conversion_is_exact_and_half_up(text, places, expected):
    value, truncated = convert_value(text, column("decimal", places))
    assert type(value) is Decimal
    assert str(value) == expected
    assert truncated is False


def test_decimal_without_number_and_too_many_digits():
    assert convert_value("n/a", column("decimal", 2)) == (None, False)
    with pytest.raises(ValueRangeError):
        convert_value("1" * 37, column("decimal", 2))


def test_decimal_exponent_forms_are_not_numbers():
    assert convert_value("1.5E2", column("decimal", 2)) == (None, False)
    assert convert_value("1E-999", column("decimal", 2)) == (None, False)
    with pytest.raises(ValueRangeError):
        convert_value("1" * 40, column("decimal", 2))


def test_range_error_survives_pickling():
    error = pickle.loads(pickle.dumps(ValueRangeError("review_count", "tinyint 0..255")))
    assert (error.column, error.rule) == ("review_count", "tinyint 0..255")
    assert "review_count" in str(error)


def test_float_conversion():
    assert convert_value("1.25", column("float")) == (1.25, False)
    assert convert_value("none", column("float")) == (None, False)
    assert convert_value("1E400", column("float")) == (None, False)  # not a number
    with pytest.raises(ValueRangeError):
        convert_value("9" * 400, column("float"))


# --- convert_value: dates, bits, strings ----------------------------------------------


def test_datetime_and_date_conversion():
    assert convert_value("2025-10-14 20:9:54.0", column("datetime")) == (
        datetime(2025, 10, 14, 20, 9, 54), False)
    assert convert_value("2024-02-29 13:45:00", column("date")) == (date(2024, 2, 29), False)
    assert convert_value("10/14/2025", column("date")) == (date(2025, 10, 14), False)
    assert convert_value("2025-13-45", column("date")) == (None, False)
    assert convert_value("2025-13-45", column("datetime")) == (None, False)


@pytest.mark.parametrize("data_type", ["bit", "boolean"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1), ("0", 0), ("Y", 1), ("yes", 1), ("TRUE", 1), ("t", 1),
        ("n", 0), ("No", 0), ("false", 0), ("F", 0), ("2", 1), ("0.0", 0),
        ("maybe", None),
    ],
)
def test_bit_conversion(data_type, text, expected):
    assert convert_value(text, column(data_type)) == (expected, False)


def test_string_conversion_cuts_to_length():
    assert convert_value("Bartholomew-Longname", column("string", 10)) == ("Bartholome", True)
    assert convert_value("Andrea", column("string", 10)) == ("Andrea", False)
    assert convert_value("exactly10!", column("string", 10)) == ("exactly10!", False)
    assert convert_value("no limit", column("string")) == ("no limit", False)


def test_unknown_data_type_is_a_value_error_naming_the_column():
    with pytest.raises(ValueError, match="col"):
        convert_value("1", column("money"))


# --- format_canonical -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "data_type", "data_length", "expected"),
    [
        (datetime(2025, 10, 14, 20, 9, 54), "datetime", None, "2025-10-14 20:09:54"),
        (datetime(2025, 3, 1, 7, 0, 0, 250000), "datetime", None, "2025-03-01 07:00:00.250000"),
        (datetime(1900, 1, 1), "datetime", None, "1900-01-01 00:00:00"),
        (date(2025, 10, 14), "date", None, "2025-10-14"),
        (Decimal("450.01"), "decimal", 2, "450.01"),
        (Decimal("7"), "decimal", 2, "7.00"),
        (Decimal("2.345"), "decimal", 2, "2.35"),
        (Decimal("1E+3"), "decimal", 0, "1000"),
        (Decimal("1E+3"), "decimal", None, "1000"),
        (712, "int", None, 712),
        ("text", "string", 10, "text"),
        (None, "decimal", 2, None),
        (1, "bit", None, 1),
    ],
)
def test_format_canonical(value, data_type, data_length, expected):
    assert format_canonical(value, data_type, data_length) == expected


def test_conformance_values_end_to_end():
    """The value cases of the conformance documents, text to canonical form."""
    cases = [
        ("2025-10-14 20:9:54.0", "datetime", None, "2025-10-14 20:09:54"),
        ("2024-02-29T08:05:00", "datetime", None, "2024-02-29 08:05:00"),
        ("2025-03-01 07:00:00.250", "datetime", None, "2025-03-01 07:00:00.250000"),
        ("1900-01-01", "datetime", None, "1900-01-01 00:00:00"),
        ("10/14/2025", "date", None, "2025-10-14"),
        ("2024-02-29 13:45:00", "date", None, "2024-02-29"),
        ("1,500", "int", None, 1500),
        ("2.5", "int", None, 3),
        ("2.345", "decimal", 2, "2.35"),
        ("7", "decimal", 2, "7.00"),
        ("450.005", "decimal", 2, "450.01"),
        ("99.999", "decimal", 2, "100.00"),
        (extract_numeric("Up to $40.50"), "decimal", 2, "40.50"),
        (extract_numeric("-3.999 fee"), "decimal", 2, "-4.00"),
        ("255", "tinyint", None, 255),
    ]
    for text, data_type, data_length, expected in cases:
        value, _ = convert_value(text, column(data_type, data_length))
        assert format_canonical(value, data_type, data_length) == expected, text
