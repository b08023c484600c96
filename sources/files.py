"""XML files in a folder (or matching a glob), in sorted name order."""

from __future__ import annotations

import glob
from pathlib import Path

from sources.errors import SourceError
from sources.types import SourceDocument, SourceItem


class FileSource:
    """Every ``*.xml`` file of a folder, or every file a glob matches.

    The record key is inside each document, so items carry ``key=None`` and
    the file's index in sorted order as their paging position.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._paths: list[Path] | None = None

    def open(self) -> None:
        path = Path(self.pattern)
        if path.is_dir():
            paths = sorted(path.glob("*.xml"))
        elif any(ch in self.pattern for ch in "*?["):
            paths = sorted(Path(p) for p in glob.glob(self.pattern) if Path(p).is_file())
        elif path.is_file():
            paths = [path]
        else:
            raise SourceError(f"source folder or glob {self.pattern} matches nothing; check [source] url")
        self._paths = paths

    def _all(self) -> list[Path]:
        if self._paths is None:
            self.open()
        return self._paths

    def count(self, key_start: int | None = None, key_end: int | None = None) -> int:
        return len(self._all())

    def page(self, after: int | None, limit: int, key_start: int | None = None,
             key_end: int | None = None) -> list[SourceItem]:
        paths = self._all()
        start = 0 if after is None else after + 1
        return [
            SourceItem(key=None, position=index, label=paths[index].name)
            for index in range(start, min(start + limit, len(paths)))
        ]

    def fetch(self, items: list[SourceItem]) -> list[SourceDocument]:
        paths = self._all()
        documents = []
        for item in items:
            try:
                documents.append(SourceDocument(item, paths[item.position].read_bytes()))
            except OSError as exc:
                raise SourceError(f"cannot read source file {item.label}: {exc.strerror}") from exc
        return documents

    def close(self) -> None:
        self._paths = None
