"""The program as the user ran it, so every command a message suggests runs as printed.

``xmlshred …`` after ``pip install``, ``python cli.py …`` from a checkout
(the path as it was typed), ``python -m xmlshred …`` for the module. Hints
build their commands with ``command(...)``; nothing else spells the program.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys


def program_name(argv0: str | None = None) -> str:
    """How the user started this process: ``xmlshred``, ``python cli.py`` or ``python -m xmlshred``."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    base = os.path.basename(argv0)
    if base == "__main__.py" or argv0 == "-m":
        return f"{_python()} -m xmlshred"
    if base.endswith(".py"):
        return f"{_python()} {shlex.quote(argv0)}"
    return "xmlshred"


def command(*words: str) -> str:
    """A command line for the user to run: the program, then ``words`` (each quoted when it needs it)."""
    return " ".join([program_name(), *(shlex.quote(word) for word in words)])


def _python() -> str:
    found = shutil.which("python")
    if found and os.path.realpath(found) == os.path.realpath(sys.executable):
        return "python"
    return shlex.quote(sys.executable)
