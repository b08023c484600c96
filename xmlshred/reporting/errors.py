"""The reporting package's own exception type."""

from __future__ import annotations

from xmlshred.vocab.errors import TerminalError


class ReportError(TerminalError):
    """A report, chart or metrics file could not be produced; the message says how to fix it."""
