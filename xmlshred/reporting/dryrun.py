"""``dry-run-<run_id>.jsonl``: what a dry run found would fail, one JSON object per record.

Each line holds the record's ``key`` (None when a file's document has no
usable key), its ``source`` label (``key=123`` or the file name), the
``stage`` and the ``reason`` -- never a field value of the document. The
file sits next to the metrics file (or in the current folder without one),
and ``report --run <id>`` shows it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any


def dry_run_path(metrics_path: str | Path | None, run_id: str) -> Path:
    """Where the dry run ``run_id`` writes (and ``report`` finds) its failures."""
    folder = Path(metrics_path).parent if metrics_path else Path.cwd()
    return folder / f"dry-run-{run_id}.jsonl"


class DryRunLog:
    """Appends one line per would-fail record; created (empty) on construction so it always exists."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Open for the whole run, like the metrics file; close() ends it.
        self._file = open(self.path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self.count = 0

    def write(self, key: int | None, source: str, stage: str, reason: str) -> None:
        line = json.dumps({"key": key, "source": source, "stage": stage, "reason": reason},
                          ensure_ascii=False, separators=(",", ":"))
        self._file.write(line + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def read_dry_run(path: str | Path) -> list[dict[str, Any]]:
    """The objects of a dry-run file (a torn last line is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            records.append(obj)
    return records


def dry_run_section(run_id: str, path: Path, limit: int = 20) -> str:
    """The report's text for a dry run's file: counts by stage and reason, then the first keys."""
    title = f"DRY RUN {run_id}: records that would fail ({path})"
    if not path.is_file():
        return f"{title}\n(the file is missing: it was moved, or the run stopped before writing it)"
    records = read_dry_run(path)
    if not records:
        return f"{title}\nnone: every record read would succeed"
    counts = Counter((str(r.get("stage")), str(r.get("reason"))) for r in records)
    lines = [f"{title}: {len(records):,}"]
    for (stage, reason), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"  {count:>8,}  {stage}: {reason}")
    lines.append(f"first {min(limit, len(records))} of {len(records):,}:")
    for record in records[:limit]:
        key = record.get("key")
        lines.append(f"  {('key=' + str(key)) if key is not None else record.get('source')}  "
                     f"{record.get('stage')}: {record.get('reason')}")
    return "\n".join(lines)
