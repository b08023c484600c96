"""``file:`` / ``files:`` URLs as RFC 8089 writes them, turned into local paths.

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

_FILE_SCHEME = re.compile(r"^(?i:files?):")


class FileUrlError(ValueError):
    """A ``file:``/``files:`` URL that RFC 8089 does not allow (the message says how to write it)."""


def is_file_url(url: str) -> bool:
    """True for ``file:...`` and ``files:...`` (any case)."""
    return bool(_FILE_SCHEME.match(url))


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
