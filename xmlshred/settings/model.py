"""The validated settings: one frozen dataclass per config.toml section.

Each field carries its own documentation in ``metadata`` (kind, help,
whether it is a secret or a path), so the loader, ``describe_settings`` and
the shipped config.toml all read from this one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from xmlshred.db.spec import OdbcSettings
from xmlshred.settings.kinds import (
    Choice,
    Encrypt,
    Flag,
    Integer,
    Kind,
    Number,
    OptionalInteger,
    Port,
    ReprocessWhat,
    Text,
    Timestamp,
    Url,
)
from xmlshred.settings.paths import mask_connection_secrets

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
PROGRESS_MODES = ("auto", "always", "never")

MASK = "***"


def _key(default: object, kind: Kind, help: str, *, secret: bool = False, resolve: str | None = None,
         shipped: bool = False):
    """A settings field: its default, kind, one-line help; ``resolve`` is "url" or "path" for local paths.

    ``shipped``: the default names a file shipped with xmlshred (the example
    contract, the sample documents), so it is found beside the package, not
    in the current folder."""
    return field(
        default=default,
        metadata={"kind": kind, "help": help, "secret": secret, "resolve": resolve, "shipped": shipped},
    )


class _Section:
    """Shared behaviour of section values: a repr that never shows secrets."""

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.metadata.get("secret") and value:
                text = repr(MASK)
            elif f.metadata.get("resolve") == "url" and isinstance(value, str):
                text = repr(mask_connection_secrets(value))
            else:
                text = repr(value)
            shown.append(f"{f.name}={text}")
        return f"{type(self).__name__}({', '.join(shown)})"


# The ODBC pieces a server source or target may be described by, instead of
# (or in addition to) the connection string after "odbc:".
_ODBC_PIECES: dict[str, tuple[str, object, Kind, str, bool]] = {
    # key: (type, default, kind, help, secret); {ROLE} is "SOURCE" or "TARGET"
    "driver": ("str", "", Text(), 'ODBC driver name, e.g. "ODBC Driver 18 for SQL Server"', False),
    "server": ("str", "", Text(), "server host name (or host\\instance)", False),
    "port": ("int | None", None, Port(1, 65535), ('server port, e.g. 5432 (PostgreSQL) or 1433 (SQL Server); '
                                                  '"" = the driver default'), False),
    "database": ("str", "", Text(), "database name", False),
    "username": ("str", "", Text(), "login name (empty with trusted_connection)", False),
    "password": ("str", "", Text(), "login password; set it with XMLSHRED__{ROLE}__PASSWORD, not here", True),
    "trusted_connection": ("bool", False, Flag(), "log in with the operating system account", False),
    "encrypt": ("str", "", Encrypt(), 'TLS: "yes", "no", "strict", "optional"; "" = the driver default', False),
    "trust_server_certificate": ("bool", False, Flag(), "accept the server certificate without checking it", False),
    "timeout": ("int", 15, Integer(0), "login timeout in seconds (0 = wait forever)", False),
}


def _odbc_pieces(role: str, after: str):
    """Class decorator (under ``@dataclass``): the ODBC piece fields, declared once here, placed after ``after``.

    [source] and [target] get the same fields (so ``config.toml`` keeps its
    flat ``driver = …`` keys), documented for their role."""

    def add(cls):
        own = dict(cls.__dict__.get("__annotations__", {}))
        annotations = {}
        for name, annotation in own.items():
            annotations[name] = annotation
            if name == after:
                annotations.update({piece: spec[0] for piece, spec in _ODBC_PIECES.items()})
        for piece, (_type, default, kind, help, secret) in _ODBC_PIECES.items():
            setattr(cls, piece, _key(default, kind, help.format(ROLE=role.upper()), secret=secret))
        cls.__annotations__ = annotations
        return cls

    return add


ODBC_KEYS = tuple(_ODBC_PIECES)
"""The ODBC piece keys [source] and [target] both have: each is a field of ``db.spec.OdbcSettings``."""


class _HasOdbc:
    """The ODBC pieces of [source] and [target]: both read into the one model, ``db.spec.OdbcSettings``."""

    def odbc(self) -> OdbcSettings:
        """The section's ODBC pieces as the one ODBC settings model (holds the password: never log it)."""
        return OdbcSettings.from_mapping(self.odbc_options())

    def odbc_options(self) -> dict[str, object]:
        """The ODBC pieces that are set, as a mapping for ``db.spec.OdbcSettings.from_mapping``.

        Unset pieces are left out so the driver's own default applies: empty
        strings, a missing port, and ``trusted_connection`` /
        ``trust_server_certificate`` when false (non-Microsoft drivers reject
        those keywords even when false). ``timeout`` is always there. The
        mapping holds the password: never log it.
        """
        options: dict[str, object] = {}
        for name in ODBC_KEYS:
            value = getattr(self, name)
            if value is None or value == "" or value is False:
                continue
            options[name] = value
        return options


@dataclass(frozen=True, repr=False)
@_odbc_pieces("source", after="prefix_bytes")
class SourceSettings(_HasOdbc, _Section):
    """[source]: where the XML documents come from."""

    url: str = _key(
        "examples/sample",
        Url(("files", "sqlite", "odbc"), plain_path=True),
        'documents: a folder path or glob, "files:///absolute/folder", "sqlite:///db.sqlite" '
        'or "odbc:<connection string>"',
        resolve="url", shipped=True,
    )
    table: str = _key("", Text(), 'table holding the documents; "" = the contract\'s source_table')
    column: str = _key("", Text(), 'column holding the XML; "" = the contract\'s source_column')
    key_column: str = _key("app_id", Text(non_empty=True), "integer key column of the source table")
    page_size: int = _key(500, Integer(1), "keys read from the source per query")
    prefix_bytes: int = _key(32768, Integer(0), "bytes of each document a mapper reads first; the rest is read only "
                             "when the contract needs it (0 = always read whole documents)")


@dataclass(frozen=True, repr=False)
@_odbc_pieces("target", after="url")
class TargetSettings(_HasOdbc, _Section):
    """[target]: the database the rows are written to."""

    url: str = _key(
        "sqlite:///out/target.db",
        Url(("sqlite", "odbc")),
        'rows go to "sqlite:///file.db" or "odbc:<connection string>" (pieces below fill in the rest)',
        resolve="url",
    )
    connect_retries: int = _key(5, Integer(0), "reconnect attempts after a transient error before the run stops")
    retry_backoff_s: float = _key(0.5, Number(0, exclusive_minimum=True),
                                  "first wait before a reconnect, doubled each attempt")
    retry_backoff_max_s: float = _key(30.0, Number(0, exclusive_minimum=True), "longest wait between reconnects")
    identity_columns: bool = _key(False, Flag(), "the target's key columns are IDENTITY columns (SQL Server): "
                                  "wrap inserts in SET IDENTITY_INSERT ON/OFF")


@dataclass(frozen=True, repr=False)
class ContractSettings(_Section):
    """[contract]: the mapping contract and how documents are parsed."""

    path: str = _key(
        "examples/credit_card/contract.json", Text(non_empty=True), "the JSON mapping contract", resolve="path",
        shipped=True,
    )
    max_document_bytes: int = _key(67108864, Integer(1), "larger documents fail (stage validate) without being parsed")
    strict_wellformed: bool = _key(False, Flag(), "parse every document to its end, not only as far as the contract "
                                   "needs (slower on large documents)")


@dataclass(frozen=True, repr=False)
class ActorSettings(_Section):
    """[actors]: how much work runs in parallel and how much is buffered."""

    mappers: int = _key(2, Integer(1), "mapper worker processes")
    max_in_flight: int = _key(4000, Integer(1), "records read but not yet committed (bounds memory)")
    batch_size: int = _key(20, Integer(1), "documents per batch sent to a mapper "
                           "(a batch of large documents is held whole in memory)")
    mapper_queue_batches: int = _key(2, Integer(1), "batches queued per mapper beyond the one it is working on")


@dataclass(frozen=True, repr=False)
class FlushSettings(_Section):
    """[flush]: when buffered rows are written in one transaction (whichever comes first)."""

    max_records: int = _key(1000, Integer(1), "flush after this many records")
    max_rows: int = _key(50000, Integer(1), "flush after this many rows across all tables")
    max_interval_ms: int = _key(1000, Integer(1), "flush when the oldest buffered record is this many milliseconds old")


@dataclass(frozen=True, repr=False)
class LogSettings(_Section):
    """[log]: log lines, metrics and progress."""

    level: str = _key("INFO", Choice(LOG_LEVELS), "lowest level written: " + " ".join(LOG_LEVELS))
    file: str = _key("", Text(), 'also log to this file; "" = no log file', resolve="path")
    rotation: str = _key("50 MB", Text(), 'when the log file rotates (loguru rotation, e.g. "50 MB", "1 day")')
    json: bool = _key(False, Flag(), "write the log file as JSON lines")
    metrics: str = _key("out/metrics.jsonl", Text(), 'metrics, one JSON object per line; "" = none', resolve="path")
    report_every_s: float = _key(10.0, Number(0, exclusive_minimum=True), "seconds between progress lines")
    progress: str = _key("auto", Choice(PROGRESS_MODES),
                         'progress bar: "auto" (when the terminal is interactive), "always", "never"')


@dataclass(frozen=True, repr=False)
class RunSettings(_Section):
    """[run]: what this run processes."""

    now: datetime | None = _key(
        None, Timestamp(),
        'the run\'s "now" for the contract, ISO and UTC, e.g. "2025-01-01T00:00:00"; "" = the real start time'
    )
    limit: int = _key(0, Integer(0), "stop after this many records (0 = no limit)")
    key_start: int | None = _key(None, OptionalInteger(), 'lowest source key to process; "" = from the first')
    key_end: int | None = _key(None, OptionalInteger(), 'highest source key to process; "" = to the last')
    retry_failed: bool = _key(False, Flag(), "process records the processing_log marks failed again")
    dry_run: bool = _key(False, Flag(), "read and map but write nothing")
    reprocess: str = _key(
        "", ReprocessWhat(),
        'reload records already loaded: "stale" (written by another contract fingerprint), "failed" '
        '(as retry_failed), "all", "keys:FILE" (the keys in FILE, one a line); "" = only new records',
    )
    wait_s: float = _key(0.0, Number(0), "seconds to wait for another run that holds the target's lease "
                         "(0 = refuse at once, exit 2)")


ENGINE_KINDS = ("local", "ray")


@dataclass(frozen=True, repr=False)
class EngineSettings(_Section):
    """[engine]: run on this machine, or shard the run over a Ray cluster."""

    kind: str = _key(
        "local", Choice(ENGINE_KINDS),
        '"local" (this machine) or "ray" (shards on a Ray cluster; pip install -e \'.[ray]\')',
    )
    address: str = _key(
        "", Text(),
        'Ray cluster: "auto" (the cluster this node joined), "ray://head:10001", or "" = start a local Ray',
    )
    shards: int = _key(0, Integer(0), "key ranges the run is split into, one Ray task each (0 = four per cluster CPU)")
    shard_retries: int = _key(3, Integer(0), "times Ray reruns a shard whose process or node died")


QUALITY_ACTIONS = ("count", "fail")


def _quality_key(what: str):
    return _key("count", Choice(QUALITY_ACTIONS),
                f'{what}: "count" it (xmlshred_quality, summary, report) or "fail" the record at map')


@dataclass(frozen=True, repr=False)
class QualitySettings(_Section):
    """[quality]: what happens to a record when the contract's rules change one of its values."""

    truncated: str = _quality_key("a string cut to its column's data_length")
    not_a_number: str = _quality_key("text that is not a number, written as NULL or a default")
    bad_date: str = _quality_key("a date that does not parse, written as NULL or a default")
    unmapped_code: str = _quality_key("a code missing from an enum or bit map, written as a default or NULL")

    @property
    def fail_kinds(self) -> tuple[str, ...]:
        """The kinds set to "fail", for the mapper workers (empty: nothing fails for quality)."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) == "fail")


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, validated; relative paths already made absolute."""

    source: SourceSettings = field(default_factory=SourceSettings)
    target: TargetSettings = field(default_factory=TargetSettings)
    contract: ContractSettings = field(default_factory=ContractSettings)
    actors: ActorSettings = field(default_factory=ActorSettings)
    flush: FlushSettings = field(default_factory=FlushSettings)
    log: LogSettings = field(default_factory=LogSettings)
    run: RunSettings = field(default_factory=RunSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    config_path: Path | None = None
    """The config file read (absolute), or None when only defaults were used."""


SECTIONS: dict[str, type] = {
    "source": SourceSettings,
    "target": TargetSettings,
    "contract": ContractSettings,
    "actors": ActorSettings,
    "flush": FlushSettings,
    "log": LogSettings,
    "run": RunSettings,
    "engine": EngineSettings,
    "quality": QualitySettings,
}
"""Section name -> its dataclass, in config.toml order."""


class KeyInfo(NamedTuple):
    """One documented setting, for README and ``--help`` generation."""

    section: str
    key: str
    type: str
    """What the key accepts, e.g. "an integer ≥ 1"."""
    default: str
    """The default as written in config.toml, e.g. ``500``, ``"INFO"``, ``false``."""
    help: str


def describe_settings() -> Iterator[KeyInfo]:
    """Every setting in config.toml order: (section, key, type, default, help)."""
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            kind: Kind = f.metadata["kind"]
            yield KeyInfo(section, f.name, kind.description, kind.toml_literal(f.default), f.metadata["help"])
