"""Values a source hands to the reader: which record, and its document."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One record of a source, before its document is read."""

    key: int | None
    """The record key for table sources; None for files (the key is in the document)."""
    position: int
    """The paging cursor: the table key, or the file's index in sorted order."""
    label: str
    """What logs may name: ``key=123`` or a file name; never document content."""


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """A record with its document, as read from the source."""

    item: SourceItem
    """Which record this is."""
    document: bytes | str
    """The XML exactly as stored (str for text columns, bytes for files)."""
