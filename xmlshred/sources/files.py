"""XML files in a folder (or matching a glob), in sorted name order."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from xmlshred.sources.errors import SourceError, SourceMissing
from xmlshred.sources.types import SourceDocument, SourceItem, SourcePrefix


class FileSource:
    """Every ``*.xml`` file of a folder, or every file a glob matches.

    The record key is inside each document, so items carry ``key=None``, the
    file's index in sorted order as their paging position and the file's full
    path, which is all ``fetch`` and ``read_prefixes`` need: a mapper worker
    reads files without listing the folder (``open`` is then never called).
    """

    def __init__(self, pattern: str, files: tuple[int, int] | None = None) -> None:
        self.pattern = pattern
        self.files = files
        """Only the files at these sorted positions (first, last; inclusive); None = all."""
        self._paths: list[Path] | None = None

    def open(self) -> None:
        path = Path(self.pattern)
        if path.is_dir():
            paths = sorted(p for p in path.glob("*.xml") if p.is_file())
            if not paths:
                raise SourceMissing(f"source folder {path} holds no *.xml files; check [source] url "
                                    "(or --source)")
        elif any(ch in self.pattern for ch in "*?["):
            paths = sorted(Path(p) for p in glob.glob(self.pattern) if Path(p).is_file())
            if not paths:
                fixed = self.pattern[:min(self.pattern.find(ch) for ch in "*?[" if ch in self.pattern)]
                folder = Path(fixed[:fixed.rfind("/") + 1] or ".")
                where = "" if folder.is_dir() else f" (the folder {folder} does not exist)"
                raise SourceMissing(f"source glob {self.pattern} matches no files{where}; check [source] url "
                                    "(or --source)")
        elif path.is_file():
            paths = [path]
        else:
            raise SourceMissing(f"source {self.pattern} does not exist (no such folder or file); "
                                "check [source] url (or --source)")
        if self.files is not None:
            first, last = self.files
            paths = paths[first:last + 1]
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
            SourceItem(key=None, position=index, label=paths[index].name, path=str(paths[index].absolute()))
            for index in range(start, min(start + limit, len(paths)))
        ]

    def _path(self, item: SourceItem) -> Path:
        return Path(item.path) if item.path is not None else self._all()[item.position]

    def fetch(self, items: list[SourceItem]) -> list[SourceDocument]:
        """The bytes of each item's file, in the order asked."""
        documents = []
        for item in items:
            data, size, stamp = self._read(item, None)
            documents.append(SourceDocument(item, data, stamp))
        return documents

    def read_prefixes(self, items: list[SourceItem], prefix_bytes: int) -> list[SourcePrefix]:
        """The first ``prefix_bytes`` bytes of each item's file, with the file's size."""
        prefixes = []
        for item in items:
            data, size, stamp = self._read(item, prefix_bytes)
            prefixes.append(SourcePrefix(item, data, whole=len(data) >= size or len(data) < prefix_bytes,
                                         size_bound=max(size, len(data)), stamp=stamp))
        return prefixes

    def _read(self, item: SourceItem, most: int | None) -> tuple[bytes, int, tuple[int, int]]:
        """(the first ``most`` bytes of the file, or all of it; the file's size; (size, mtime_ns)
        taken before reading, so a file changed while it is read never matches its stamp later);
        SourceError naming it."""
        try:
            with open(self._path(item), "rb") as handle:
                status = os.fstat(handle.fileno())
                size = status.st_size
                data = handle.read() if most is None else handle.read(most)
                return data, size, (size, status.st_mtime_ns)
        except OSError as exc:
            raise SourceError(f"cannot read source file {item.label}: {exc.strerror}") from exc

    def close(self) -> None:
        self._paths = None
