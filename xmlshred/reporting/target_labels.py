"""How metrics.jsonl and ``report`` name a target, so each target's runs can be told apart.

The label is the dialect and the absolute SQLite path, or the dialect and the
ODBC connection string (built from ``[target]`` pieces when the URL has
none) with its password masked: ``sqlite:/srv/out/target.db``,
``postgresql:DRIVER={PostgreSQL Unicode};SERVER=db;…;PWD=***``.
"""

from __future__ import annotations

from xmlshred.db.spec import TargetSpec, target_spec


def label_of_spec(spec: TargetSpec) -> str:
    """The label of a parsed target: its one spelling, ``TargetSpec.description``."""
    return spec.description


def target_label(settings_target) -> str:
    """The label of ``[target]`` settings (``url`` and the ODBC pieces); TargetError for a bad URL."""
    return label_of_spec(target_spec(settings_target))
