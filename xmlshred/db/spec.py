"""Target specs: a target URL and ODBC settings resolved to what a connection needs.

``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` name a
SQLite file; ``odbc:<connection string>`` an ODBC data source, whose DRIVER
keyword says which database it is. Connection strings can also be built from
configuration values (``OdbcSettings``); keywords written in the URL win over
built ones.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from xmlshred.db.dialects import DIALECTS, POSTGRESQL_COPY, SQLITE, Dialect, OdbcDriver, identify_driver
from xmlshred.db.errors import TargetError
from xmlshred.db.secrets import mask_secrets
from xmlshred.db.urls import UrlError, is_postgres_url, postgres_url, sqlite_url_path

# ---------------------------------------------------------------- connection strings


def parse_connection_string(text: str) -> list[tuple[str, str]]:
    """``[(keyword, value), …]`` of an ODBC connection string; braces and ``}}`` understood.

    Raises TargetError (with the string masked) when a braced value is not closed.
    """
    pairs: list[tuple[str, str]] = []
    index, length = 0, len(text)
    while index < length:
        while index < length and text[index] in "; \t":
            index += 1
        if index >= length:
            break
        equals = text.find("=", index)
        if equals < 0:
            raise TargetError(f"ODBC connection string has a keyword without '=': {mask_secrets(text)}")
        keyword = text[index:equals].strip()
        index = equals + 1
        while index < length and text[index] in " \t":
            index += 1
        if index < length and text[index] == "{":
            index += 1
            value_chars = []
            while True:
                if index >= length:
                    raise TargetError(
                        f"ODBC connection string keyword={keyword} has an unclosed '{{': {mask_secrets(text)}"
                    )
                char = text[index]
                if char == "}":
                    if index + 1 < length and text[index + 1] == "}":
                        value_chars.append("}")
                        index += 2
                        continue
                    index += 1
                    break
                value_chars.append(char)
                index += 1
            value = "".join(value_chars)
            end = text.find(";", index)
            index = length if end < 0 else end + 1
        else:
            end = text.find(";", index)
            end = length if end < 0 else end
            value = text[index:end].strip()
            index = end + 1
        pairs.append((keyword, value))
    return pairs


def escape_value(value: str, always_brace: bool = False) -> str:
    """An ODBC value, braced (``}`` doubled) when it holds ``; { } =`` or edge spaces."""
    needs = always_brace or any(char in value for char in ";{}=") or value != value.strip()
    if not needs:
        return value
    return "{" + value.replace("}", "}}") + "}"


def format_connection_string(pairs: list[tuple[str, str]]) -> str:
    """The connection string for ``pairs`` with values escaped (DRIVER always braced)."""
    return ";".join(
        f"{keyword}={escape_value(value, always_brace=keyword.upper() == 'DRIVER')}"
        for keyword, value in pairs
    )


def libpq_url(connection_string: str) -> str:
    """The ``postgresql://`` URL (psycopg's path) of the PostgreSQL database an ODBC connection
    string names: its UID, PWD, SERVER (default 127.0.0.1), PORT and DATABASE, percent-quoted."""
    from urllib.parse import quote

    pairs = parse_connection_string(connection_string)

    def part(keyword: str, default: str = "") -> str:
        return quote(_keyword_value(pairs, keyword) or default, safe="")

    user, password, port = part("UID"), part("PWD"), part("PORT")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgresql://{credentials}{part('SERVER', '127.0.0.1')}{':' + port if port else ''}/{part('DATABASE')}"


def _keyword_value(pairs: list[tuple[str, str]], keyword: str) -> str | None:
    for key, value in pairs:
        if key.upper() == keyword.upper():
            return value
    return None


def _merge(base: list[tuple[str, str]], override: list[tuple[str, str]]) -> list[tuple[str, str]]:
    overridden = {key.upper() for key, _ in override}
    return [(key, value) for key, value in base if key.upper() not in overridden] + override


@dataclass(frozen=True, slots=True)
class OdbcSettings:
    """Connection values from configuration (``[target]``); all optional."""

    driver: str | None = None
    """ODBC driver name, e.g. ``ODBC Driver 18 for SQL Server``, ``FreeTDS``, ``PostgreSQL Unicode``."""
    server: str | None = None
    """Host name or address (``host\\instance`` for a named SQL Server instance)."""
    port: int | None = None
    """TCP port; written as ``SERVER=host,port`` or ``PORT=`` as the driver expects."""
    database: str | None = None
    """Database name."""
    username: str | None = None
    """SQL authentication user (``UID``)."""
    password: str | None = field(default=None, repr=False)
    """SQL authentication password (``PWD``); better from the environment."""
    password_env: str | None = None
    """Name of an environment variable holding the password (used when password is unset)."""
    trusted_connection: bool = False
    """Windows/Kerberos authentication (``Trusted_Connection=yes``) instead of UID/PWD."""
    encrypt: bool | str | None = None
    """``Encrypt``: True/False or ``yes``/``no``/``strict`` (Driver 18 defaults to yes)."""
    trust_server_certificate: bool | None = None
    """``TrustServerCertificate``: accept a self-signed server certificate."""
    mars_connection: bool | None = None
    """``MARS_Connection``: multiple active result sets."""
    timeout: int | None = None
    """Login timeout in seconds (0: wait as long as the driver does; None: 15)."""
    dialect: str | None = None
    """Only for DSN-only connection strings without a DRIVER: ``mssql`` or ``postgresql``."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> OdbcSettings:
        """From a config mapping; unknown keys raise TargetError naming them."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TargetError(f"unknown ODBC setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**dict(values))


def _yes_no(value: bool | str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().lower()
    if text in ("yes", "no", "strict", "mandatory", "optional", "true", "false"):
        return {"true": "yes", "false": "no"}.get(text, text)
    raise TargetError(f"encrypt={value!r} must be yes, no or strict")


def build_connection_string(settings: OdbcSettings, environ: Mapping[str, str] | None = None) -> str:
    """An ODBC connection string from configuration values.

    Raises TargetError when the driver is missing or unknown, or when a
    setting does not apply to that driver (e.g. Encrypt with psqlODBC).
    """
    environ = os.environ if environ is None else environ
    if not settings.driver:
        raise TargetError("[target] driver is not set; e.g. driver = \"ODBC Driver 18 for SQL Server\"")
    driver = identify_driver(settings.driver)
    pairs: list[tuple[str, str]] = [("DRIVER", settings.driver.strip().strip("{}"))]
    if settings.server:
        if settings.port is not None and driver.port_in_server:
            pairs.append(("SERVER", f"{settings.server},{int(settings.port)}"))
        else:
            pairs.append(("SERVER", settings.server))
            if settings.port is not None:
                pairs.append(("PORT", str(int(settings.port))))
    if settings.database:
        pairs.append(("DATABASE", settings.database))
    if settings.trusted_connection:
        if not driver.microsoft:
            raise TargetError("trusted_connection needs Microsoft's ODBC driver; use username/password")
        pairs.append(("Trusted_Connection", "yes"))
    else:
        password = settings.password
        if password is None and settings.password_env:
            password = environ.get(settings.password_env)
            if password is None:
                raise TargetError(
                    f"environment variable {settings.password_env} (password_env) is not set; "
                    "export it or set the password another way"
                )
        if settings.username:
            pairs.append(("UID", settings.username))
        if password is not None:
            pairs.append(("PWD", password))
    microsoft_only = (("Encrypt", settings.encrypt), ("TrustServerCertificate", settings.trust_server_certificate),
                      ("MARS_Connection", settings.mars_connection))
    for keyword, value in microsoft_only:
        if value is None:
            continue
        if not driver.microsoft:
            raise TargetError(
                f"{keyword} is a Microsoft ODBC Driver 17/18 keyword; driver={settings.driver!r} does not "
                "take it (put the driver's own keyword in the odbc: URL instead)"
            )
        pairs.append((keyword, _yes_no(value)))
    return format_connection_string(pairs)


# ---------------------------------------------------------------- target specs


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """Where to write, resolved from a URL and settings; ``repr`` masks secrets."""

    dialect: Dialect
    """The database's dialect record."""
    path: Path | None = None
    """SQLite file (SQLite only)."""
    connection_string: str | None = field(default=None, repr=False)
    """ODBC connection string (ODBC), or the libpq URI (``postgresql://``, psycopg); may hold the
    password: never log it unmasked."""
    login_timeout_s: int = 15
    """Seconds a connect may take before it fails."""
    busy_timeout_s: float = 30.0
    """SQLite: how long a write waits for another writer's lock."""
    identity_columns: bool = False
    """SQL Server: the target's identity_insert columns are real IDENTITY columns, so
    writes switch ``IDENTITY_INSERT`` on for them. False (default) because
    ``init-db`` creates plain columns, where IDENTITY_INSERT would fail."""
    password: str | None = field(default=None, repr=False)
    """psycopg only: ``[target] password`` (or its ``password_env``) for a ``postgresql://`` URL
    that carries none; libpq's ``PGPASSWORD`` and ``~/.pgpass`` work too."""

    @property
    def description(self) -> str:
        """The one spelling of this target in logs, errors, metrics.jsonl and ``report`` (password masked).

        The dialect and the absolute SQLite path, or the dialect and the ODBC
        connection string: ``sqlite:/srv/out/target.db``,
        ``postgresql:DRIVER={PostgreSQL Unicode};SERVER=db;…;PWD=***``.
        """
        if self.path is not None:
            return f"{self.dialect.name}:{os.path.abspath(self.path)}"
        if self.dialect.client == "psycopg":
            return mask_secrets(self.connection_string or "")  # the URL names its dialect itself
        return f"{self.dialect.name}:{mask_secrets(self.connection_string or '')}"

    @property
    def url(self) -> str:
        """A ``--target`` value that names this target (password masked: give it in the environment)."""
        if self.path is not None:
            return f"sqlite:///{os.path.abspath(self.path)}"
        if self.dialect.client == "psycopg":
            return mask_secrets(self.connection_string or "")
        return f"odbc:{mask_secrets(self.connection_string or '')}"

    def __repr__(self) -> str:
        return f"TargetSpec({self.description}, identity_columns={self.identity_columns})"


def parse_target_url(url: str, odbc_settings: OdbcSettings | Mapping[str, Any] | None = None, *,
                     identity_columns: bool = False, environ: Mapping[str, str] | None = None) -> TargetSpec:
    """A TargetSpec for ``sqlite:///rel.db``, ``sqlite:////abs.db`` or ``odbc:<connection string>``.

    For ``odbc:``, a connection string built from ``odbc_settings`` is merged
    under the URL's own keywords (so ``odbc:`` alone uses only the settings).
    Raises TargetError (message masked) for an unknown scheme, an empty path,
    or a connection string whose database cannot be told from its DRIVER.
    """
    if isinstance(odbc_settings, Mapping):
        odbc_settings = OdbcSettings.from_mapping(odbc_settings)
    if url.startswith("sqlite:"):
        try:
            path = sqlite_url_path(url)
        except UrlError as exc:
            raise TargetError(f"target url {exc}") from None
        return TargetSpec(dialect=SQLITE, path=Path(path), identity_columns=identity_columns)
    if url.startswith("odbc:"):
        where = odbc_location(url[len("odbc:"):], odbc_settings, role="target", environ=environ)
        return TargetSpec(dialect=where.dialect, connection_string=where.connection_string,
                          login_timeout_s=where.login_timeout_s, identity_columns=identity_columns)
    if is_postgres_url(url):
        return postgres_spec(url, odbc_settings, environ=environ)
    raise TargetError(
        f"target url {mask_secrets(url)!r} has an unknown scheme; use sqlite:///path.db, "
        "postgresql://user@host/dbname or odbc:DRIVER={…};…"
    )


def postgres_spec(url: str, odbc_settings: OdbcSettings | None = None, *,
                  environ: Mapping[str, str] | None = None) -> TargetSpec:
    """A TargetSpec for a libpq URI (``postgresql://user@host:port/dbname?…``), connected through
    psycopg (``db.pg``). Of the ``[target]`` pieces only ``password``/``password_env`` (when the URL
    has no password) and ``timeout`` apply; the others belong in the URL, and setting them is an
    error naming them (a silent mix of two places would connect somewhere unexpected)."""
    try:
        postgres_url(url)
    except UrlError as exc:
        raise TargetError(f"target url {mask_secrets(url)!r}: {exc}") from None
    password = None
    timeout = 15
    if odbc_settings is not None:
        stray = [name for name in ("driver", "server", "port", "database", "username")
                 if getattr(odbc_settings, name) not in (None, "")]
        if stray:
            raise TargetError(
                f"[target] {', '.join(stray)} cannot complete a postgresql:// URL; write them in the URL "
                "(postgresql://user@host:port/dbname) and leave them unset")
        environ = os.environ if environ is None else environ
        password = odbc_settings.password
        if password is None and odbc_settings.password_env:
            password = environ.get(odbc_settings.password_env)
        if odbc_settings.timeout is not None:
            timeout = int(odbc_settings.timeout)
    if password is not None and mask_secrets(url) != url:
        password = None  # the URL's own password wins
    return TargetSpec(dialect=POSTGRESQL_COPY, connection_string=url, login_timeout_s=timeout, password=password)


@dataclass(frozen=True, slots=True)
class OdbcLocation:
    """An ODBC database as a source or a target reaches it; ``repr`` never shows the password."""

    dialect: Dialect
    connection_string: str = field(repr=False)
    login_timeout_s: int = 15


def odbc_location(connection_string: str, odbc_settings: OdbcSettings | Mapping[str, Any] | None = None, *,
                  role: str = "target", environ: Mapping[str, str] | None = None) -> OdbcLocation:
    """The connection string after ``odbc:`` completed by ``[source]``/``[target]`` pieces (``role``).

    A connection string built from ``odbc_settings`` is merged under the URL's
    own keywords (so ``odbc:`` alone uses only the pieces). Sources and targets
    both come here: there is one ODBC settings model, ``OdbcSettings``.
    """
    if isinstance(odbc_settings, Mapping):
        odbc_settings = OdbcSettings.from_mapping(odbc_settings)
    url_pairs = parse_connection_string(connection_string)
    pairs = url_pairs
    if odbc_settings is not None and (odbc_settings.driver or not url_pairs):
        built = parse_connection_string(build_connection_string(odbc_settings, environ))
        pairs = _merge(built, url_pairs)
    if not pairs:
        raise TargetError(f"{role} url 'odbc:' has no connection string and no [{role}] driver/server settings")
    driver = _driver_for(pairs, odbc_settings)
    timeout = odbc_settings.timeout if odbc_settings and odbc_settings.timeout is not None else 15
    return OdbcLocation(driver.dialect, format_connection_string(pairs), int(timeout))


def target_spec(settings) -> TargetSpec:
    """The TargetSpec of ``[target]`` settings (a ``Settings`` or its ``target`` section): URL and ODBC pieces.

    The one way ``migrate``, ``init-db``, ``report`` and the metrics label turn
    settings into a target; TargetError (masked) when they do not name one.
    """
    section = getattr(settings, "target", settings)
    return parse_target_url(section.url, section.odbc(), identity_columns=bool(section.identity_columns))


def _driver_for(pairs: list[tuple[str, str]], settings: OdbcSettings | None) -> OdbcDriver:
    driver_name = _keyword_value(pairs, "DRIVER")
    if driver_name:
        return identify_driver(driver_name)
    if settings is not None and settings.dialect in ("mssql", "postgresql"):
        dialect = DIALECTS[settings.dialect]
        return OdbcDriver(dialect, microsoft=False, port_in_server=False)
    raise TargetError(
        "the ODBC connection string has no DRIVER keyword, so its database is unknown; "
        "add DRIVER={…} or set [target] dialect = \"mssql\" | \"postgresql\""
    )


def odbc_driver(connection_string: str, dialect_name: str | None = None) -> OdbcDriver:
    """Driver traits for a connection string (used by ODBC sources too)."""
    return _driver_for(parse_connection_string(connection_string), OdbcSettings(dialect=dialect_name))
