"""Every URL xmlshred takes, parsed in one place: ``sqlite:``, ``odbc:``, ``files:``, plain paths.

* ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` (as in
  SQLAlchemy: the part after ``sqlite:///`` is the path);
* ``odbc:<connection string>`` (``db.spec`` reads the connection string);
* ``file:`` / ``files:`` URLs as RFC 8089 writes them, see below;
* a plain path (no scheme): a folder or glob of documents, or a SQLite file
  when it ends in ``.db``/``.sqlite``/``.sqlite3`` (sources and ``generate``).

File URLs:

RFC 8089 (section 2) allows only absolute paths in a file URL:

* ``files:///srv/feeds/*.xml`` (empty authority) is ``/srv/feeds/*.xml``;
* ``files://localhost/srv/feeds`` is the same (``localhost`` is this machine);
* ``files:/srv/feeds`` (the minimal form, no authority) is ``/srv/feeds`` too.

A relative folder is not a URL at all: write it as a plain path
(``examples/sample``). ``files:relative`` and ``files://otherhost/...`` are
refused with a message saying so, never guessed at. ``%xx`` escapes are
decoded. ``file:`` and ``files:`` are the same scheme here.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from xmlshred.vocab.errors import TerminalError

_FILE_SCHEME = re.compile(r"^(?i:files?):")
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+):")
"""A scheme has two letters or more: a single letter before the colon is a Windows drive."""

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
"""A plain path ending so names a SQLite database file, not a folder of documents."""


class UrlError(TerminalError, ValueError):
    """A URL xmlshred cannot use; the message names it and says how to write it."""


class FileUrlError(UrlError):
    """A ``file:``/``files:`` URL that RFC 8089 does not allow (the message says how to write it)."""


def file_url_path(url: str) -> str:
    """The absolute local path (glob characters kept) of a ``file:``/``files:`` URL.

    Raises FileUrlError for a relative path, another host, or an empty path.
    """
    rest = url[_FILE_SCHEME.match(url).end():]
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        if authority.lower() not in ("", "localhost"):
            raise FileUrlError(
                f"{url!r} names host {authority!r}; only local files can be read: write "
                f"files:///path (three slashes) for an absolute path on this machine"
            )
        path = slash + path
    else:
        path = rest
    if not path.startswith("/"):
        raise FileUrlError(
            f"{url!r} is a relative path, which a file URL cannot hold (RFC 8089); write the folder "
            f"as a plain path ({path or 'folder'!s}) or as files:///absolute/path"
        )
    if path == "/":
        raise FileUrlError(f"{url!r} names no folder or glob; write files:///absolute/folder")
    return unquote(path)


def url_scheme(url: str) -> str | None:
    """The lower-cased scheme of ``url`` (``"sqlite"``, ``"odbc"``, ...), or None for a plain path."""
    match = _SCHEME.match(url)
    return match.group("scheme").lower() if match else None


def sqlite_url_path(url: str) -> str:
    """The path of ``sqlite:///rel.db`` (``rel.db``) or ``sqlite:////abs.db`` (``/abs.db``); UrlError otherwise."""
    prefix = "sqlite:///"
    if url[: len(prefix)].lower() != prefix or len(url) == len(prefix):
        raise UrlError(
            f"{url!r} is not a SQLite URL; write sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    return url[len(prefix):]


def locate(url: str) -> tuple[str, str]:
    """Where a source or a ``generate`` destination is: ``(kind, where)``.

    ``("sqlite", path)`` for a ``sqlite:`` URL or a plain path ending in a SQLite
    suffix, ``("odbc", connection string)``, ``("files", path or glob)`` for a
    ``files:`` URL or any other plain path. Raises UrlError (FileUrlError for a
    file URL RFC 8089 does not allow) for anything else.
    """
    scheme = url_scheme(url)
    if scheme == "sqlite":
        return "sqlite", sqlite_url_path(url)
    if scheme == "odbc":
        return "odbc", url[len("odbc:"):]
    if scheme in ("file", "files"):
        return "files", file_url_path(url)
    if scheme is not None and "://" in url:
        raise UrlError(
            f"{url!r}: scheme {scheme!r} is not supported; use sqlite:///path.db, odbc:<connection string>, "
            "a folder path or files:///absolute/folder"
        )
    if url.lower().endswith(SQLITE_SUFFIXES):
        return "sqlite", url
    return "files", url
