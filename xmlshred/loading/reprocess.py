"""Which records a reprocess reloads, and how its flushes replace their earlier rows.

``migrate --reprocess WHAT`` (``[run] reprocess``) picks records by their
processing_log entry: ``stale`` those written under another contract
fingerprint (or none: entries from before fingerprints), ``failed`` those
logged failed (as ``--retry-failed``), ``all`` every record, ``keys:FILE``
the keys listed in FILE. Records the source holds that were never logged are
loaded as in any run, except with ``keys:`` (only the listed keys).

A record this same run already settled (a Ray shard retried after its worker
died, finding what its killed attempt committed under the run's id) is not
read again: re-running the same command after a kill -9 reloads only what is
still selected, so it ends with the same target as an uninterrupted run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xmlshred.targets.processing_log import Settled
from xmlshred.vocab.errors import TerminalError

MODES = ("stale", "failed", "all", "keys")


class ReprocessError(TerminalError, ValueError):
    """A reprocess that cannot start: a bad keys file (names the file and line)."""


@dataclass(frozen=True, slots=True)
class Reprocess:
    """What a reprocess reloads."""

    mode: str
    """``stale`` | ``failed`` | ``all`` | ``keys``."""
    fingerprint: str
    """The current contract's fingerprint (what ``stale`` compares with)."""
    keys: frozenset[int] = frozenset()
    """``keys`` mode: the listed record keys."""
    keys_file: str = ""
    """``keys`` mode: the file they came from (for messages)."""

    @property
    def replaces_rows(self) -> bool:
        """Whether its flushes delete the records' earlier rows (``failed`` records have none)."""
        return self.mode != "failed"

    def wants(self, key: int | None, entry: Settled | None) -> bool:
        """Whether the record (``entry``: its processing_log entry, None when it has none) is to be loaded."""
        if self.mode == "keys":
            return key in self.keys
        if entry is None or self.mode == "all":
            return True
        if self.mode == "failed":
            return entry.status == "failed"
        return (entry.contract_hash or "") != self.fingerprint


def read_keys_file(path: str | Path) -> frozenset[int]:
    """The record keys of a keys file: one integer a line; blank lines and ``#`` comments are skipped.

    Raises ReprocessError naming the file (and the line) when it cannot be read,
    holds something that is not an integer, or holds no key at all.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ReprocessError(f"keys file {path} cannot be read: {exc.strerror or exc}") from exc
    keys: set[int] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        word = line.split("#", 1)[0].strip()
        if not word:
            continue
        try:
            keys.add(int(word))
        except ValueError:
            raise ReprocessError(f"keys file {path} line {number}: not an integer record key "
                                 f"({len(word)} characters); write one key a line") from None
    if not keys:
        raise ReprocessError(f"keys file {path} holds no record key; write one key a line")
    return frozenset(keys)


def parse_reprocess(what: str, fingerprint: str) -> Reprocess | None:
    """``[run] reprocess`` (already checked by settings) as a Reprocess; None for "" (a plain run).
    Raises ReprocessError for a keys file that cannot be used."""
    what = (what or "").strip()
    if not what:
        return None
    if what.startswith("keys:"):
        path = what[len("keys:"):].strip()
        return Reprocess("keys", fingerprint, read_keys_file(path), path)
    if what not in MODES:
        raise ReprocessError(f"--reprocess {what!r}: use stale, failed, all or keys:FILE")
    return Reprocess(what, fingerprint)
