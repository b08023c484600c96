"""xmlshred: shred XML documents into relational tables, as a JSON mapping contract says.

The command line is ``xmlshred`` (or ``python cli.py`` in a checkout); see
``xmlshred.cli``. The package's parts, lowest layer first: ``vocab`` (shared
names and values), ``contract`` (the engine), ``db`` (dialects, SQL,
connections), ``sources``, ``targets``, ``loading``, ``workers``,
``settings``, ``reporting``, ``messages``, ``actors``, ``supervisor``, ``cli``.
"""

from pathlib import Path

__version__ = "0.2.0"


def data_root() -> Path:
    """The folder that holds ``examples/`` (the example contracts and sample documents).

    Installed, they are package data inside ``xmlshred/``; in a checkout,
    ``xmlshred/examples`` links to the repository's ``examples/``.
    """
    return (Path(__file__).resolve().parent / "examples").resolve().parent
