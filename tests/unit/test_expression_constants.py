"""Comparisons with a constant side classify the constant once and still answer like ``compare_values``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from xmlshred.contract.expression_source import evaluate
from xmlshred.contract.expressions import (
    compare_to_constant,
    compare_values,
    parse_expression,
)

_TEXTS = st.sampled_from([
    "", " ", "abc", "ABC", "10", "9", " 10 ", "1,500", "1,5", "-2.5", ".5", "2025-01-01",
    "01/02/2025", "2025-01-01 10:00:00", "2025-13-45", "12/31/1999 11:59 PM", "Y", "n", "OWN",
])
_VALUES = st.one_of(
    st.none(),
    _TEXTS,
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6, max_value=10**6),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
)


@given(left=_VALUES, constant=_VALUES)
def test_compare_to_constant_answers_like_compare(left, constant):
    assert compare_to_constant(constant)(left) == compare_values(left, constant)


def _row(values: dict):
    return lambda element, name: values.get(name)


def test_constant_comparisons_in_expressions():
    now = datetime(2025, 6, 1)
    cases = [
        ("CASE WHEN d < DATE('2025-01-01') THEN 1 ELSE 0 END", {"d": "12/31/2024"}, Decimal(1)),
        ("CASE WHEN d < DATE('2025-01-01') THEN 1 ELSE 0 END", {"d": "2025-01-01"}, Decimal(0)),
        ("CASE WHEN d < DATE('2025-01-01') THEN 1 ELSE 0 END", {"d": "soon"}, Decimal(0)),
        ("CASE WHEN r IN (1, 2, 3) THEN 'W' ELSE 'E' END", {"r": " 2 "}, "W"),
        ("CASE WHEN r IN ('own', 'MIL') THEN 'S' ELSE 'T' END", {"r": "OWN"}, "S"),
        ("CASE WHEN t > '2020-01-01' THEN 'late' ELSE 'early' END", {"t": "03/01/2021"}, "late"),
        ("CASE WHEN t > 'm' THEN 'after' ELSE 'before' END", {"t": "Z"}, "after"),
        ("CASE WHEN n BETWEEN 1 AND 10 THEN 'in' ELSE 'out' END", {"n": "10"}, "in"),
        ("CASE WHEN n BETWEEN 1 AND 10 THEN 'in' ELSE 'out' END", {"n": "1,500"}, "out"),
        ("CASE WHEN a = 'x' AND b = 'y' AND c IS NULL THEN 1 ELSE 0 END", {"a": "X", "b": "y"},
         Decimal(1)),
        ("CASE WHEN a = 'x' OR b = 'y' OR c = 'z' THEN 1 ELSE 0 END", {"c": "q"}, Decimal(0)),
    ]
    for text, values, expected in cases:
        assert evaluate(parse_expression(text), _row(values), now) == expected, (text, values)
