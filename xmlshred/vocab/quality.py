"""Data quality: the values a contract's rules changed on the way in, counted by table, column and kind.

The mapper counts each changed value in ``MappedRecord.warnings`` as ``(label, count)``, the
label ``"<kind>:<table>.<column>"`` (e.g. ``"truncated:app_base.name"``). Everything downstream
(the ``[quality]`` fail rule in the worker, ``xmlshred_quality``, the summary, metrics.jsonl,
``report``) reads labels only through :func:`split_label`, so a new kind needs no change here.
Labels name tables, columns and kinds; never a value.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

FAIL_KINDS = ("truncated", "not_a_number", "bad_date", "unmapped_code")
"""The kinds ``[quality]`` lets a user make fatal for a record (each "count" or "fail")."""

QUALITY_ACTIONS = ("count", "fail")
"""What ``[quality]`` may say of a kind: count it (the default) or fail the record at ``map``."""


def split_label(label: str) -> tuple[str, str, str]:
    """``"truncated:app_base.name"`` -> ``("truncated", "app_base", "name")``.

    A label without a kind or a column gives ``""`` for the missing parts (never raises)."""
    kind, _, where = label.partition(":")
    if not where:
        return "", *_table_column(kind)
    return (kind, *_table_column(where))


def _table_column(where: str) -> tuple[str, str]:
    table, _, column = where.partition(".")
    return table, column


def fail_reason(warnings: Iterable[tuple[str, int]], fail_kinds: Collection[str]) -> str | None:
    """``"app_contact_base.first_name: truncated"`` (several joined by ``"; "``) for the warnings
    whose kind is in ``fail_kinds``; None when there is none. Names only, never a value."""
    reasons = []
    for label, _count in warnings:
        kind, table, column = split_label(label)
        if kind in fail_kinds:
            reasons.append(f"{table}.{column}: {kind}")
    return "; ".join(reasons) if reasons else None


def add_counts(totals: dict[str, int], warnings: Iterable[tuple[str, int]]) -> None:
    """Add ``(label, count)`` pairs into ``totals`` (label -> count)."""
    for label, count in warnings:
        totals[label] = totals.get(label, 0) + count


def totals_by_kind(counts: dict[str, int]) -> dict[str, int]:
    """label -> count folded into kind -> count, kinds sorted."""
    kinds: dict[str, int] = {}
    for label, count in counts.items():
        kind = split_label(label)[0] or "unknown"
        kinds[kind] = kinds.get(kind, 0) + count
    return dict(sorted(kinds.items()))
