"""The process exit codes of the ``xmlshred`` command (README, "Exit codes")."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """How a command ended, as the shell sees it."""

    OK = 0
    """Done; every record this run read was stored."""
    ERROR = 1
    """The run stopped on an error (unreachable database, a failed actor)."""
    USAGE = 2
    """Bad command line, config or contract; nothing was started."""
    SOME_FAILED = 3
    """The run finished, but some records failed (see processing_log)."""
    SIGNAL = 130
    """Stopped by SIGINT/SIGTERM after draining the records in flight."""
