"""Keeping passwords out of logs, errors and reprs: the one masker."""

from __future__ import annotations

import re

_SECRET_PATTERN = re.compile(
    r"(?i)\b(PWD|PASSWORD)(\s*=\s*)(\{(?:[^}]|\}\})*\}?|\*\*\*(?=$|[;:,)\s])|[^;]*)"
)
_URL_PASSWORD = re.compile(r"(?i)(\w+://[^:/@\s]+:)([^@\s]+)(@)")


def mask_secrets(text: str) -> str:
    """``text`` with every ``PWD=``/``Password=`` value (braced or not) and URL password as ``***``.

    Idempotent: a value already masked (``PWD=***`` then the end, ``;``, ``:``, a comma or a
    space) stays as it is, so masking a message that quotes a masked string keeps the rest.
    """
    if not text:
        return text
    text = _SECRET_PATTERN.sub(lambda match: f"{match.group(1)}{match.group(2)}***", text)
    return _URL_PASSWORD.sub(r"\1***\3", text)
