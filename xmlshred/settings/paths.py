"""Relative paths in settings (URL syntax itself is parsed by ``db.urls``).

Convention for URLs that name a local file or folder (``sqlite:`` and
``files:``): the part after ``scheme://`` is a path, so

* ``sqlite:///out/target.db``  (three slashes, no slash after) is *relative*,
* ``sqlite:////var/db/t.db``   (four slashes) is *absolute* (``/var/db/t.db``).

``files:`` URLs follow RFC 8089 instead (``db.urls``): they are
always absolute (``files:///srv/feeds`` is ``/srv/feeds``); a relative folder
is written as a plain path.

Relative paths are resolved against a base directory: the directory of the
config file for values that come from the file (or from the defaults), the
current directory for values given on the command line or in the
environment. That way ``python cli.py migrate`` works from the repository
root with the shipped ``config.toml``, ``--config other/dir/config.toml``
finds its files beside that config, and ``--contract my.json`` means the
file the user sees from their shell.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from xmlshred.db.secrets import mask_secrets as mask_connection_secrets
from xmlshred.db.urls import FileUrlError, UrlError, file_url_path, sqlite_url_path, url_scheme

# A single letter before the colon is a Windows drive, not a scheme.
_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")

LOCAL_SCHEMES = ("sqlite", "files", "file")
"""URL schemes whose remainder is a local path (and so may be relative)."""


def _is_absolute(path: str) -> bool:
    return os.path.isabs(path) or bool(_WINDOWS_ABSOLUTE.match(path))


def resolve_path(path: str, base_dir: str | Path) -> str:
    """``path`` made absolute against ``base_dir``; ``~`` is expanded.

    An empty string stays empty (it means "none" for optional files such as
    ``[log] file``); an absolute path is returned unchanged. Glob characters
    are kept as they are.
    """
    if not path:
        return path
    expanded = os.path.expanduser(path)
    if _is_absolute(expanded):
        return expanded
    return os.path.normpath(os.path.join(os.fspath(base_dir), expanded))


def resolve_url(url: str, base_dir: str | Path) -> str:
    """``url`` with its local path made absolute against ``base_dir``.

    * ``sqlite:///rel.db`` becomes ``sqlite:////<base_dir>/rel.db``;
      ``sqlite:////abs.db`` and ``sqlite:///:memory:`` are unchanged.
    * ``files:///abs/dir`` (RFC 8089: always absolute) becomes the plain
      path ``/abs/dir``: sources treat a plain folder path or glob and a
      ``files:`` URL alike, and a plain path cannot be misread. A
      ``files:`` URL that RFC 8089 does not allow is returned as given,
      for the source check to refuse with a clear message.
    * a plain path or glob is resolved like :func:`resolve_path`.
    * anything else (``odbc:...``) is returned unchanged.

    Never raises; a malformed URL is returned as given (validation is the
    loader's job).
    """
    scheme = url_scheme(url)
    if scheme is None:
        return resolve_path(url, base_dir)
    if scheme not in LOCAL_SCHEMES:
        return url
    if scheme in ("files", "file"):
        try:
            return file_url_path(url)
        except FileUrlError:
            return url
    try:
        rest = sqlite_url_path(url)
    except UrlError:
        return url
    if rest.startswith(":memory:") or _is_absolute(rest):
        return "sqlite:///" + rest
    return "sqlite:///" + resolve_path(rest, base_dir)


__all__ = ["LOCAL_SCHEMES", "mask_connection_secrets", "resolve_path", "resolve_url", "url_scheme"]
