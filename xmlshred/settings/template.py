"""A commented config.toml with every key at its default, written by ``xmlshred init``.

Rendered from the settings model (``describe_settings``: each key's help and
default; each section's docstring), so it cannot drift from what the loader
accepts.
"""

from __future__ import annotations

from dataclasses import fields

from xmlshred.settings.model import SECTIONS

HEADER = """\
# xmlshred configuration: every key, with its default (written by `xmlshred init`).
#
# Precedence, lowest first: these defaults < this file < command-line flags
# < environment variables XMLSHRED__SECTION__KEY (e.g. XMLSHRED__TARGET__PASSWORD).
# Keep secrets in the environment, not here. Unknown keys are errors.
#
# Relative paths here are relative to the folder of this file:
#   sqlite:///out/target.db   three slashes = relative  (<this folder>/out/target.db)
#   sqlite:////var/db/t.db    four slashes  = absolute  (/var/db/t.db)
# The example contracts and sample documents were copied into examples/ beside it.
# TOML has no null: "" means "not set" for optional values.
"""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_config() -> str:
    """The text of a config.toml holding every setting at its default, each with its help as a comment."""
    lines = [HEADER]
    for section, cls in SECTIONS.items():
        lines.append(f"[{section}]")
        about = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        if about.startswith(f"[{section}]:"):
            lines.append(f"# {_sentence(about[len(section) + 3:].strip())}")
        lines.append("")
        for f in fields(cls):
            lines.append(f"# {_sentence(f.metadata['help'])}")
            lines.append(f"{f.name} = {f.metadata['kind'].toml_literal(f.default)}")
        lines.append("")
    return "\n".join(lines)
