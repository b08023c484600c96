"""Table coverage of a run: which contract tables got rows from almost no record, which mapping
paths matched no element (issue 29): a contract right by its rules but wrong for the documents.

``CoverageTally`` sums the mappers' ``TableCoverage`` messages; ``coverage_summary`` is what goes
into the run's summary (metrics.jsonl), and ``coverage_lines`` turns a summary into the lines a
run, a dry run and ``report`` print. Counts and names only, never values.
"""

from __future__ import annotations

from typing import Any

SPARSE_SHARE = 0.01
"""A table is pointed out when fewer than this share of the mapped records gave it rows."""


class CoverageTally:
    """Records mapped, records with rows per table, and per mapper the paths its worker has not seen."""

    def __init__(self) -> None:
        self.mapped = 0
        self.tables: dict[str, int] = {}
        self._unseen: dict[int, tuple[str, ...]] = {}
        self._checked: dict[int, int] = {}
        self.cpu_s = 0.0

    def add(self, message) -> None:
        self.mapped += message.mapped
        for name, count in message.table_records:
            self.tables[name] = self.tables.get(name, 0) + count
        if message.unseen_paths is not None:
            self._unseen[message.mapper_index] = tuple(message.unseen_paths)
            self._checked[message.mapper_index] = message.paths_checked
        self.cpu_s += message.coverage_cpu_s

    def summary(self) -> dict[str, Any] | None:
        """``{"records", "tables", "unmatched_paths", "paths_checked", "cpu_s"}``, or None before any batch."""
        if not self.tables and not self.mapped:
            return None
        unmatched = None
        if self._unseen:
            # A path is unmatched when no mapper's worker saw it (each reports those it has not seen).
            sets = [set(paths) for paths in self._unseen.values()]
            common = set.intersection(*sets)
            order = list(next(iter(self._unseen.values())))
            unmatched = [path for path in order if path in common]
        return {"records": self.mapped, "tables": dict(self.tables), "unmatched_paths": unmatched,
                "paths_checked": sum(self._checked.values()), "cpu_s": round(self.cpu_s, 4)}


def coverage_lines(coverage: dict[str, Any] | None) -> list[str]:
    """The lines pointing out sparse tables and unmatched mapping paths; [] when there is nothing to say."""
    if not coverage or not coverage.get("records"):
        return []
    records = int(coverage["records"])
    lines = []
    for name, count in coverage.get("tables", {}).items():
        if count < SPARSE_SHARE * records:
            lines.append(f"table {name}: rows from {count:,} of {records:,} records")
    unmatched = coverage.get("unmatched_paths") or []
    checked = coverage.get("paths_checked", 0)
    for path in unmatched:
        lines.append(f"mapping path {path} matched no element in the {checked:,} records checked")
    return lines
