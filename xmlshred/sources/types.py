"""Values a source hands out: which record, its document, or the first bytes of it."""

from __future__ import annotations

from dataclasses import dataclass

from xmlshred.vocab.pickling import pickled_as_call


@pickled_as_call
@dataclass(frozen=True, slots=True)
class SourceItem:
    """One record of a source, before its document is read."""

    key: int | None
    """The record key for table sources; None for files (the key is in the document)."""
    position: int
    """The paging cursor: the table key, or the file's index in sorted order."""
    label: str
    """What logs may name: ``key=123`` or a file name; never document content."""
    path: str | None = None
    """File sources: the file's full path, so a worker reads it without listing the folder
    (positions could shift if the folder changed). None for table sources."""


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """A record with its document, as read from the source."""

    item: SourceItem
    """Which record this is."""
    document: bytes | str
    """The XML exactly as stored (str for text columns, bytes for files)."""
    stamp: tuple[int, int] | None = None
    """Files: (size, mtime in ns) from ``fstat`` before the bytes were read; None for tables."""


@dataclass(frozen=True, slots=True)
class SourcePrefix:
    """The start of a record's document, read without the rest (``read_prefixes``)."""

    item: SourceItem
    """Which record this is."""
    document: bytes | str
    """The first bytes (characters for text columns of a server) of the document, of the type
    ``fetch`` returns; ``""`` for a key no longer in the source or a NULL value."""
    whole: bool
    """True when ``document`` is the whole document."""
    size_bound: int
    """The whole document's size in UTF-8 bytes, or an upper bound of it (never less)."""
    stamp: tuple[int, int] | None = None
    """Files: (size, mtime in ns) from ``fstat`` before the bytes were read; None for tables."""
