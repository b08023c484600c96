"""Which of a contract's mapping paths a document has: so a misplaced path is pointed out.

A contract can be right by its own rules and still map nothing from real
documents (an element path that sits elsewhere in them). ``PathCoverage``
is kept by each mapper worker: it parses a document again (up to the
contract's horizon, as the mapper does) only while some mapping path has not
yet been found in any document it checked, looks only for those, and stops
after ``limit`` documents. So its cost falls to nothing once every path has
been seen, and is bounded when one never is (``bench/coverage.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Iterable

from xmlshred.contract.parsing import DocumentRejected, parse_document

CHECK_LIMIT = 1000
"""Documents a worker checks at most for paths it has not seen yet."""


def mapping_paths(contract) -> tuple[str, ...]:
    """The distinct element paths of the contract's mappings (``/A/B/C``), in mapping order."""
    seen: dict[str, None] = {}
    for mapping in contract.mappings:
        if mapping.xml_path:
            seen.setdefault("/" + "/".join(mapping.xml_path), None)
    return tuple(seen)


def mappings_of_path(contract, path: str) -> list[str]:
    """``table.column`` of every mapping reading ``path``."""
    return [f"{m.target_table}.{m.target_column}" for m in contract.mappings
            if m.xml_path and "/" + "/".join(m.xml_path) == path]


def for_contract(contract, horizon: tuple[str, ...] | None, limit: int = CHECK_LIMIT) -> PathCoverage:
    """A PathCoverage looking for every mapping path of ``contract``, labelled with the columns it feeds."""
    paths = mapping_paths(contract)
    labels = {path: f"{path} ({', '.join(mappings_of_path(contract, path))})" for path in paths}
    return PathCoverage(paths, horizon, limit, labels)


def has_path(root, path: tuple[str, ...]) -> bool:
    """Whether the tree under ``root`` holds an element at the absolute ``path``."""
    if not path or root.tag != path[0]:
        return False
    level = [root]
    for segment in path[1:]:
        level = [child for element in level for child in element.iterchildren(segment)]
        if not level:
            return False
    return True


class PathCoverage:
    """The mapping paths not yet found in any document this worker checked."""

    def __init__(self, paths: Iterable[str], horizon: tuple[str, ...] | None, limit: int = CHECK_LIMIT,
                 labels: dict[str, str] | None = None) -> None:
        self.unseen: dict[str, tuple[str, ...]] = {path: tuple(path.strip("/").split("/")) for path in paths}
        self.labels = labels or {}
        """How to name a path in a report (the path and the columns it feeds)."""
        self.horizon = horizon
        self.limit = limit
        self.checked = 0
        """Documents checked so far."""

    def unseen_labels(self) -> tuple[str, ...]:
        """The unseen paths, each as its label."""
        return tuple(self.labels.get(path, path) for path in self.unseen)

    @property
    def done(self) -> bool:
        """Nothing left to look for, or the limit reached."""
        return not self.unseen or self.checked >= self.limit

    def observe(self, document: bytes | str) -> None:
        """Look for the unseen paths in ``document`` (a mapped one); never raises."""
        if self.done:
            return
        try:
            root = parse_document(document, self.horizon)
        except DocumentRejected:
            return
        self.checked += 1
        for path, segments in list(self.unseen.items()):
            if has_path(root, segments):
                del self.unseen[path]
