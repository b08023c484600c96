"""The source subsystem's exception type."""


class SourceError(Exception):
    """A source cannot be opened or read; the message names it and says what to check."""
