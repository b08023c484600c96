"""The source check before a run: does the source exist, and how many records does it hold?

Runs before any table is created and before any document is read.
``SourceMissing`` (nothing there, or nothing matched) means the settings
point at the wrong place (exit 2); any other ``SourceError`` means the
source is there but cannot be read (exit 1).
"""

from __future__ import annotations

from xmlshred.sources import SourceSpec, open_source


def count_source(spec: SourceSpec, key_start: int | None = None, key_end: int | None = None) -> int:
    """Records of ``spec`` in the key range; raises SourceMissing or SourceError naming what was looked for."""
    source = open_source(spec)
    try:
        source.open()
        return source.count(key_start, key_end)
    finally:
        source.close()


def describe_range(key_start: int | None, key_end: int | None) -> str:
    """`` with keys 10..20`` for a log line, or "" without a range."""
    if key_start is None and key_end is None:
        return ""
    return f" with keys {'' if key_start is None else key_start}..{'' if key_end is None else key_end}"
