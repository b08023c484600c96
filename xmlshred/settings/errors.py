"""The settings subsystem's one exception type."""

from __future__ import annotations

from collections.abc import Iterable

from xmlshred.vocab.errors import TerminalError


class SettingsError(TerminalError):
    """The configuration is unusable; ``problems`` lists every reason at once.

    Each problem names where the value came from (the config file, the
    command line or an environment variable), the ``[section] key`` and what
    is expected. Problems never contain secret values.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)
