"""What a setting may hold: one small value type per kind of key.

A kind turns a raw value into the settings value, or raises ``Invalid``
saying what it expected. ``from_toml`` takes a value as TOML (or a typed
command-line value) delivers it and is strict about types; ``from_text``
takes the text of an environment variable (or a string flag) and parses it.
Messages never include the offending value: the loader adds it, hiding
secrets.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import ClassVar

from xmlshred.db.urls import FileUrlError, UrlError, file_url_path, postgres_url, sqlite_url_path, url_scheme
from xmlshred.vocab.errors import TerminalError

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
NONE_WORDS = frozenset({"", "none", "null"})


class Invalid(TerminalError, ValueError):
    """A raw value a kind rejects; the message says what was expected."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bounds(minimum: int | float | None, maximum: int | float | None, exclusive_minimum: bool) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if exclusive_minimum else '≥'} {minimum}")
    if maximum is not None:
        parts.append(f"≤ {maximum}")
    if minimum is not None and maximum is not None and not exclusive_minimum:
        return f"from {minimum} to {maximum}"
    return " ".join(parts)


def _within(number: int | float, minimum: int | float | None, maximum: int | float | None,
            exclusive_minimum: bool) -> bool:
    """Whether ``number`` keeps the bounds ``_bounds`` describes."""
    if minimum is not None and (number < minimum or (exclusive_minimum and number == minimum)):
        return False
    return maximum is None or number <= maximum


class Kind:
    """Base of all kinds: strings by default."""

    description = "a string"
    """What the key accepts, as a phrase for messages and documentation."""

    def from_toml(self, value: object) -> object:
        raise NotImplementedError

    def from_text(self, text: str) -> object:
        return self.from_toml(text)
    def toml_literal(self, value: object) -> str:
        """``value`` written as it would appear in config.toml."""
        if value is None:
            return '""'
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        return repr(value)


@dataclass(frozen=True)
class Text(Kind):
    """Any string; ``non_empty`` rejects ``""``."""

    non_empty: bool = False

    @property
    def description(self) -> str:  # type: ignore[override]
        return "a non-empty string" if self.non_empty else "a string"

    def from_toml(self, value: object) -> str:
        if not isinstance(value, str) or (self.non_empty and not value.strip()):
            raise Invalid(f"expected {self.description}")
        return value


@dataclass(frozen=True)
class _Bounded(Kind):
    """A number within optional bounds; a subclass says which numbers it takes (``number_of``)."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    noun: ClassVar[str] = "a number"
    parse: ClassVar[Callable[[str], int | float]] = float
    """How an environment variable's text becomes a number (ValueError: it is none)."""

    @property
    def description(self) -> str:  # type: ignore[override]
        return self._phrase()

    def _phrase(self) -> str:
        bounds = _bounds(self.minimum, self.maximum, self.exclusive_minimum)
        return f"{self.noun} {bounds}" if bounds else self.noun

    def number_of(self, value: object) -> int | float | None:
        """``value`` as this kind's number, or None when it is none (this kind's type check)."""
        raise NotImplementedError

    def from_toml(self, value: object) -> int | float:
        number = self.number_of(value)
        if number is None or not _within(number, self.minimum, self.maximum, self.exclusive_minimum):
            raise Invalid(f"expected {self.description}")
        return number

    def from_text(self, text: str) -> int | float:
        try:
            number = self.parse(text.strip())
        except ValueError:
            raise Invalid(f"expected {self.description}") from None
        return self.from_toml(number)


@dataclass(frozen=True)
class Integer(_Bounded):
    """A whole number within optional bounds (booleans are not numbers here)."""

    noun: ClassVar[str] = "an integer"
    parse: ClassVar[Callable[[str], int | float]] = int

    def number_of(self, value: object) -> int | None:
        return value if _is_int(value) else None


@dataclass(frozen=True)
class OptionalInteger(Integer):
    """An integer, or ``""`` (TOML has no null) meaning "not set" (None)."""

    written: ClassVar[str] = ""
    """How else the integer may be written in config.toml, for the description (Port: its digits as a string)."""

    @property
    def description(self) -> str:  # type: ignore[override]
        return f'{self._phrase()}{self.written}, or "" for none'

    def from_toml(self, value: object) -> int | None:
        if value is None or value == "":
            return None
        return super().from_toml(value)

    def from_text(self, text: str) -> int | None:
        if text.strip().lower() in NONE_WORDS:
            return None
        return super().from_text(text)


@dataclass(frozen=True)
class Port(OptionalInteger):
    """A TCP port: an integer or its digits as a string (``5432`` or ``"5432"``); ``""`` = not set."""

    written: ClassVar[str] = ' (5432 or "5432")'

    def from_toml(self, value: object) -> int | None:
        if isinstance(value, str) and value.strip():
            return self.from_text(value)
        return super().from_toml(value)


@dataclass(frozen=True)
class Number(_Bounded):
    """A finite real number (integers accepted), stored as float."""

    def number_of(self, value: object) -> float | None:
        if not (_is_int(value) or isinstance(value, float)):
            return None
        number = float(value)
        return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Flag(Kind):
    """A boolean; text accepts true/false, 1/0, yes/no, on/off."""

    description = "true or false"

    def from_toml(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise Invalid(f"expected {self.description}")
        return value

    def from_text(self, text: str) -> bool:
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise Invalid("expected true or false (also 1/0, yes/no, on/off)")


@dataclass(frozen=True)
class Choice(Kind):
    """One of a fixed set of words, matched case-insensitively, stored as listed."""

    choices: tuple[str, ...]

    @property
    def description(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(json.dumps(c) for c in self.choices)

    def from_toml(self, value: object) -> str:
        if isinstance(value, str):
            for choice in self.choices:
                if value.strip().lower() == choice.lower():
                    return choice
        raise Invalid(f"expected {self.description}")


@dataclass(frozen=True)
class Encrypt(Kind):
    """ODBC ``Encrypt``: a boolean or "yes"/"no"/"strict"/"optional"; "" = driver default.

    Stored as the word the driver takes (true becomes "yes", false "no").
    """

    words: tuple[str, ...] = ("yes", "no", "strict", "optional")
    description = 'true, false, "yes", "no", "strict", "optional", or "" for the driver default'

    def from_toml(self, value: object) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, str):
            word = value.strip().lower()
            if word == "" or word in self.words:
                return word
        raise Invalid(f"expected {self.description}")

    def from_text(self, text: str) -> str:
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return "yes"
        if word in FALSE_WORDS:
            return "no"
        return self.from_toml(word)


@dataclass(frozen=True)
class Timestamp(Kind):
    """An ISO date-time as a naive UTC datetime; ``""`` means None (decided at run time).

    A value with an offset is converted to UTC; one without is taken as UTC.
    TOML date-times and dates are accepted as they are.
    """

    description = 'an ISO date-time such as "2025-01-01T00:00:00" (UTC unless an offset is given), or ""'

    def from_toml(self, value: object) -> datetime | None:
        if isinstance(value, datetime):
            return _naive_utc(value)
        if isinstance(value, date):
            return datetime.combine(value, time())
        if not isinstance(value, str):
            raise Invalid(f"expected {self.description}")
        text = value.strip()
        if not text:
            return None
        try:
            return _naive_utc(datetime.fromisoformat(text))
        except ValueError:
            raise Invalid(f"expected {self.description}") from None

    def toml_literal(self, value: object) -> str:
        if isinstance(value, datetime):
            return json.dumps(value.isoformat())
        return super().toml_literal(value)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Url(Kind):
    """A source/target URL with one of ``schemes``; ``plain_path`` also allows a folder path or glob."""

    schemes: tuple[str, ...]
    plain_path: bool = False

    @property
    def description(self) -> str:  # type: ignore[override]
        forms = {
            "sqlite": '"sqlite:///path.db"',
            "odbc": '"odbc:<connection string>"',
            "files": '"files:///absolute/folder"',
            "postgresql": '"postgresql://user@host/dbname"',
        }
        listed = [forms[s] for s in self.schemes]
        if self.plain_path:
            listed.append("a folder path or glob")
        return ", ".join(listed[:-1]) + " or " + listed[-1]

    def from_toml(self, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"expected {self.description}")
        url = value.strip()
        scheme = url_scheme(url)
        if scheme is None:
            if self.plain_path:
                return url
            raise Invalid(f"expected {self.description}")
        if scheme == "file" and "files" in self.schemes:
            scheme = "files"  # RFC 8089's own spelling
        if scheme == "postgres" and "postgresql" in self.schemes:
            scheme = "postgresql"  # libpq reads both spellings
        if scheme not in self.schemes:
            raise Invalid(f"unknown scheme {scheme!r}: expected {self.description}")
        if scheme == "files":
            try:
                file_url_path(url)
            except FileUrlError as exc:
                raise Invalid(str(exc)) from None
            return url
        if scheme == "sqlite":
            try:
                path = sqlite_url_path(url)
            except UrlError:
                raise Invalid(
                    'sqlite: URLs take three slashes and a path: "sqlite:///relative/path" or '
                    '"sqlite:////absolute/path"'
                ) from None
            return "sqlite:///" + path  # the scheme as the consumers match it (lower case)
        if scheme == "postgresql":
            try:
                return postgres_url(url)
            except UrlError as exc:
                raise Invalid(str(exc)) from None
        return scheme + url[len(scheme):]


REPROCESS_MODES = ("stale", "failed", "all")
"""The fixed words of ``[run] reprocess`` (besides ``keys:FILE``)."""


@dataclass(frozen=True)
class ReprocessWhat(Kind):
    """``[run] reprocess``: "" (none), ``stale``, ``failed``, ``all`` or ``keys:FILE``."""

    description = '"" (none), "stale", "failed", "all" or "keys:FILE" (a file of record keys, one a line)'

    def from_toml(self, value: object) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected {self.description}")
        text = value.strip()
        if text in ("", *REPROCESS_MODES):
            return text
        if text.startswith("keys:") and text[len("keys:"):].strip():
            return text
        raise Invalid(f"expected {self.description}")
