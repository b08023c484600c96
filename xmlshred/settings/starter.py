"""``xmlshred init [DIR]``: a starting point, a commented config.toml and the example contracts.

Writes ``DIR/config.toml`` (every key at its default, ``settings.template``)
and copies the shipped examples (``xmlshred.data_root()/examples``: the
credit-card and recreational-lending contracts with their READMEs, and the
sample documents) to ``DIR/examples/``, so that ``xmlshred migrate`` in DIR
runs at once. Nothing is overwritten: when any of those files is there
already, nothing is written and ``StarterError`` lists them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from xmlshred import data_root
from xmlshred.settings.template import render_config
from xmlshred.vocab.errors import TerminalError

CONFIG_NAME = "config.toml"
EXAMPLE_FILES = ("*/*.json", "*/*.md", "sample/*.xml")
"""What of the shipped examples/ is copied (the package data's patterns)."""


class StarterError(TerminalError):
    """``init`` would overwrite files, or cannot write its folder; the message names them."""


def examples_folder() -> Path:
    """Where the shipped examples are (inside the installed package, or the checkout's examples/)."""
    return data_root() / "examples"


def planned_files(folder: Path) -> dict[Path, Path | None]:
    """Destination -> shipped source (None: the rendered config.toml), in writing order."""
    source = examples_folder()
    plan: dict[Path, Path | None] = {folder / CONFIG_NAME: None}
    for pattern in EXAMPLE_FILES:
        for path in sorted(source.glob(pattern)):
            plan[folder / "examples" / path.relative_to(source)] = path
    return plan


def init_folder(folder: str | Path) -> list[Path]:
    """Write the starting point into ``folder`` (created when missing); returns the files written.

    Raises StarterError, writing nothing, when a file it would write exists
    or the folder cannot be written.
    """
    folder = Path(folder).resolve()
    plan = planned_files(folder)
    present = [path for path in plan if path.exists()]
    if present:
        shown = ", ".join(str(path.relative_to(folder)) for path in present[:5])
        more = f" and {len(present) - 5} more" if len(present) > 5 else ""
        raise StarterError(f"{folder} already holds {shown}{more}; init never overwrites files: "
                           "choose an empty folder, or move them away")
    written = []
    try:
        for destination, source in plan.items():
            destination.parent.mkdir(parents=True, exist_ok=True)
            if source is None:
                with destination.open("x", encoding="utf-8") as handle:
                    handle.write(render_config())
            else:
                with source.open("rb") as reader, destination.open("xb") as writer:
                    shutil.copyfileobj(reader, writer)
            written.append(destination)
    except OSError as exc:
        raise StarterError(f"cannot write {exc.filename or folder}: {exc.strerror}; "
                           "choose a folder you may write") from exc
    return written
