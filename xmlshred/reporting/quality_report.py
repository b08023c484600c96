"""``report``'s Data quality and Rejects sections, from xmlshred_quality and xmlshred_rejects.

Keys, table and column names, kinds and counts only: neither table holds a value.
"""

from __future__ import annotations

from collections.abc import Sequence

from xmlshred.targets.quality import EXAMPLE_KEYS, QUALITY_COLUMNS, REJECT_COLUMNS

REJECTS_SHOWN = 20
"""The latest rejects ``report`` lists (all are counted)."""


def quality_totals(rows: Sequence[tuple], run_id: str | None = None) -> list[tuple[str, str, int, list[str]]]:
    """(table.column, kind, count, up to 5 example keys) summed over writers (and runs, without
    ``run_id``), the largest counts first."""
    totals: dict[tuple[str, str], tuple[int, list[str]]] = {}
    for row in rows:
        record = dict(zip(QUALITY_COLUMNS, row, strict=True))
        if run_id is not None and str(record["run_id"]) != run_id:
            continue
        where = f"{record['table_name']}.{record['column_name']}"
        count, keys = totals.get((where, str(record["kind"])), (0, []))
        for key in str(record["example_keys"] or "").split(","):
            if key and key not in keys and len(keys) < EXAMPLE_KEYS:
                keys.append(key)
        totals[(where, str(record["kind"]))] = (count + int(record["count"]), keys)
    return sorted(((where, kind, count, keys) for (where, kind), (count, keys) in totals.items()),
                  key=lambda item: (-item[2], item[0], item[1]))


def quality_section(rows: Sequence[tuple] | None, run_id: str | None) -> str:
    """**Data quality**: values the contract's rules changed, by table.column and kind, of one run
    (``run_id``) or of the whole target (None)."""
    which = f"run {run_id}" if run_id is not None else "whole target (every run)"
    title = f"Data quality, {which} (xmlshred_quality: values the contract's rules changed)"
    totals = quality_totals(rows or (), run_id)
    if rows is None or not totals:
        return _nothing_to_list(title, rows, "xmlshred_quality")
    by_kind: dict[str, int] = {}
    for _, kind, count, _ in totals:
        by_kind[kind] = by_kind.get(kind, 0) + count
    lines = [f"{title}: " + ", ".join(f"{kind}={count:,}" for kind, count in sorted(by_kind.items()))]
    table_rows = [[where, kind, f"{count:,}", ", ".join(keys)] for where, kind, count, keys in totals]
    lines += _table(["table.column", "kind", "count", f"example keys (up to {EXAMPLE_KEYS})"], table_rows, {2})
    return "\n".join(lines)


def rejects_of(rows: Sequence[tuple] | None, run_id: str | None = None) -> list[dict]:
    """xmlshred_rejects rows as dicts (of ``run_id`` only, when given), the latest first."""
    records = [dict(zip(REJECT_COLUMNS, row, strict=True)) for row in rows or ()]
    if run_id is not None:
        records = [record for record in records if str(record["run_id"]) == run_id]
    return sorted(records, key=lambda record: str(record["seen_at"]), reverse=True)


def with_rejects(failures: list[tuple[str, str, int]] | None, rows: Sequence[tuple] | None,
                 run_id: str) -> list[tuple[str, str, int]] | None:
    """A run's (stage, reason, count) failures from processing_log plus those of its rejects (marked
    ``[no key: xmlshred_rejects]``), so the run's failures add up to its runs-table figure."""
    records = rejects_of(rows, run_id)
    if failures is None or not records:
        return failures
    counts: dict[tuple[str, str], int] = {}
    for record in records:
        where = (str(record["stage"]), f"{record['reason'] or '(no reason given)'} [no key: xmlshred_rejects]")
        counts[where] = counts.get(where, 0) + 1
    return failures + [(stage, reason, count) for (stage, reason), count in counts.items()]


def rejects_section(rows: Sequence[tuple] | None, run_id: str | None) -> str:
    """Documents that failed before their key was known (no processing_log row): path, stage,
    reason, run; of one run or of the whole target."""
    which = f"run {run_id}" if run_id is not None else "whole target"
    title = f"Failed before a key was known, {which} (xmlshred_rejects: no processing_log row)"
    records = rejects_of(rows, run_id)
    if rows is None or not records:
        return _nothing_to_list(title, rows, "xmlshred_rejects")
    shown = f", the latest {REJECTS_SHOWN}" if len(records) > REJECTS_SHOWN else ""
    lines = [f"{title}: {len(records):,}{shown}"]
    table_rows = [[str(record["source_ref"]), str(record["stage"]), str(record["reason"] or "-"),
                   str(record["run_id"])] for record in records[:REJECTS_SHOWN]]
    lines += _table(["source", "stage", "reason", "run"], table_rows, set())
    lines.append("(a rerun does not read an unchanged one again; python cli.py migrate --retry-failed does)")
    return "\n".join(lines)


def _nothing_to_list(title: str, rows: Sequence[tuple] | None, table: str) -> str:
    """A section with no entry: the target has no ``table`` yet (``rows`` None), or none for it."""
    if rows is None:
        return f"{title}\n(the target has no {table} table yet: migrate or init-db creates it)"
    return f"{title}\nnone"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                         for i, cell in enumerate(cells)).rstrip()

    return [line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)]
