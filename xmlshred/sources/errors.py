"""The source subsystem's exception type."""

from xmlshred.vocab.errors import TerminalError


class SourceError(TerminalError):
    """A source cannot be opened or read; the message names it and says what to check."""


class SourceMissing(SourceError):
    """The source does not exist or matches nothing: a configuration problem (exit 2), not an outage."""
