"""metrics.jsonl: one JSON object per line, appended as the run goes.

Every line is flushed to the operating system as soon as it is written, so a
crash of the process (even ``kill -9``) keeps every line written before it.
Several runs append to the same file; ``run_id`` tells them apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xmlshred.reporting.errors import ReportError


class MetricsWriter:
    """Appends JSON objects to a metrics file, one per line.

    The file (and its parent directories) is created on construction. Raises
    ``OSError`` when the file cannot be created or written, and ``TypeError``
    when an object holds something JSON cannot represent.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+", encoding="utf-8", newline="\n")
        self._end_torn_line()

    def _end_torn_line(self) -> None:
        # A crash in the middle of a write can leave a last line without its
        # newline; appending straight after it would glue two objects together
        # and lose both.
        size = self._file.seek(0, 2)
        if size == 0:
            return
        self._file.seek(size - 1)
        if self._file.read(1) != "\n":
            self._file.write("\n")
            self._file.flush()

    def write(self, obj: dict[str, Any]) -> None:
        """Append one object as a line and flush it."""
        line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        self._file.write(line + "\n")
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Every object of a metrics file, in file order.

    A torn line (a crash in mid-write) is skipped. Raises ``ReportError`` when
    the file does not exist or a line is not a JSON object.
    """
    path = Path(path)
    try:
        # A torn write can cut a multi-byte character; that line is skipped anyway.
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError as exc:
        raise ReportError(
            f"metrics file not found: {path} (a run writes it; pass --metrics PATH "
            "to point at another one)"
        ) from exc
    except OSError as exc:
        raise ReportError(f"cannot read metrics file {path}: {exc}") from exc
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if line.startswith("{"):
                # A torn write (a crash in mid-line): the start of an object
                # whose end never reached the disk. A later writer ended the
                # line, so it may sit anywhere in the file.
                continue
            raise ReportError(
                f"{path}, line {number}: not JSON ({exc.msg}); the file is not a metrics.jsonl "
                "written by xmlshred, or it was edited"
            ) from exc
        if not isinstance(obj, dict):
            raise ReportError(f"{path}, line {number}: expected a JSON object, found {type(obj).__name__}")
        records.append(obj)
    return records

