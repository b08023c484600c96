"""How metrics.jsonl and ``report`` name a target, so each target's runs can be told apart.

The label is the dialect and the absolute SQLite path, or the dialect and the
ODBC connection string (built from ``[target]`` pieces when the URL has
none) with its password masked: ``sqlite:/srv/out/target.db``,
``postgresql:DRIVER={PostgreSQL Unicode};SERVER=db;…;PWD=***``.
"""

from __future__ import annotations

import os

from xmlshred.db.secrets import mask_secrets
from xmlshred.db.spec import TargetSpec, target_spec


def label_of_spec(spec: TargetSpec) -> str:
    """The label of a parsed target."""
    if spec.path is not None:
        return f"{spec.dialect.name}:{os.path.abspath(spec.path)}"
    return f"{spec.dialect.name}:{mask_secrets(spec.connection_string or '')}"


def target_label(settings_target) -> str:
    """The label of ``[target]`` settings (``url`` and the ODBC pieces); TargetError for a bad URL."""
    return label_of_spec(target_spec(settings_target))
