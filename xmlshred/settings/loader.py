"""config.toml + command-line overrides + environment -> one validated ``Settings``.

Precedence, lowest first: defaults, the config file, command-line overrides,
environment variables ``XMLSHRED__SECTION__KEY``. Every layer is checked in
full and all problems are raised together in one ``SettingsError``.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import Field, dataclass, fields
from pathlib import Path

from xmlshred import data_root
from xmlshred.settings.errors import SettingsError
from xmlshred.settings.kinds import Invalid, Kind
from xmlshred.settings.model import SECTIONS, Settings
from xmlshred.settings.paths import mask_connection_secrets, resolve_path, resolve_url

ENV_PREFIX = "XMLSHRED__"
_SHOWN_VALUE_LIMIT = 80


@dataclass(frozen=True)
class _Given:
    """One value a layer supplies, already converted, with where it came from."""

    value: object
    origin: str
    base_dir: Path
    """Directory its relative paths are resolved against."""


_Layer = dict[tuple[str, str], _Given]


def _known_keys(section: str) -> dict[str, Field]:
    return {f.name: f for f in fields(SECTIONS[section])}


def _suggest_key(section: str, key: str) -> tuple[str, str] | None:
    """The (section, key) the user probably meant, or None."""
    close = difflib.get_close_matches(key, list(_known_keys(section)), n=1, cutoff=0.6)
    if close:
        return section, close[0]
    for other in SECTIONS:
        if key in _known_keys(other):
            return other, key
    return None


def _suggest_section(section: str) -> str | None:
    close = difflib.get_close_matches(section, list(SECTIONS), n=1, cutoff=0.6)
    return close[0] if close else None


def _show(value: object, field: Field) -> str:
    """How a rejected value appears in a message; secrets never do."""
    if field.metadata.get("secret"):
        return "(value hidden)"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = repr(mask_connection_secrets(value) if field.metadata.get("resolve") == "url" else value)
    else:
        text = repr(value)
    if len(text) > _SHOWN_VALUE_LIMIT:
        text = text[: _SHOWN_VALUE_LIMIT - 3] + "..."
    return f"(got {text})"


def _convert(
    section: str, key: str, raw: object, *, as_text: bool, origin: str, base_dir: Path, layer: _Layer,
    problems: list[str],
) -> None:
    field = _known_keys(section)[key]
    kind: Kind = field.metadata["kind"]
    try:
        value = kind.from_text(raw) if as_text else kind.from_toml(raw)
    except Invalid as exc:
        problems.append(f"{origin}: [{section}] {key}: {exc} {_show(raw, field)}")
        return
    layer[(section, key)] = _Given(value, origin, base_dir)


# -- config file ---------------------------------------------------------------


def _read_file(path: Path, label: str, problems: list[str]) -> _Layer:
    layer: _Layer = {}
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        problems.append(f"{label}: config file not found (give an existing file, or no --config for the defaults)")
        return layer
    except IsADirectoryError:
        problems.append(f"{label}: is a directory, not a config file")
        return layer
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{label}: invalid TOML: {exc}")
        return layer
    except UnicodeDecodeError:
        problems.append(f"{label}: not UTF-8 text; save the config file as UTF-8")
        return layer
    except OSError as exc:
        problems.append(f"{label}: cannot read the config file: {exc.strerror or exc}")
        return layer

    base_dir = path.parent
    for section, table in document.items():
        if section not in SECTIONS:
            if isinstance(table, dict):
                near = _suggest_section(section)
                hint = f" (did you mean [{near}]?)" if near else f" (known sections: {', '.join(SECTIONS)})"
                problems.append(f"{label}: [{section}]: unknown section{hint}")
            else:
                owners = [s for s in SECTIONS if section in _known_keys(s)]
                hint = f"; put it under [{owners[0]}]" if owners else ""
                problems.append(f"{label}: {section}: a key outside any section{hint}")
            continue
        if not isinstance(table, dict):
            problems.append(f"{label}: {section}: expected a [{section}] table of keys, not a single value")
            continue
        for key, raw in table.items():
            if key not in _known_keys(section):
                near = _suggest_key(section, key)
                if near and near[0] == section:
                    hint = f" (did you mean '{near[1]}'?)"
                elif near:
                    hint = f" (did you mean [{near[0]}] {near[1]}?)"
                else:
                    hint = f" (known keys: {', '.join(_known_keys(section))})"
                problems.append(f"{label}: [{section}] {key}: unknown key{hint}")
                continue
            _convert(section, key, raw, as_text=False, origin=label, base_dir=base_dir, layer=layer, problems=problems)
    return layer


# -- command line ----------------------------------------------------------------


def _read_overrides(overrides: Mapping[str, object], cwd: Path, problems: list[str]) -> _Layer:
    layer: _Layer = {}
    for name, raw in overrides.items():
        if raw is None:
            continue
        section, dot, key = name.strip().lower().partition(".")
        origin = "command line"
        if not dot or not key or section not in SECTIONS:
            near = _suggest_section(section) if dot else None
            hint = f" (did you mean '{near}.{key}'?)" if near else ' (expected "section.key", e.g. "actors.mappers")'
            problems.append(f"{origin}: {name}: unknown setting{hint}")
            continue
        if key not in _known_keys(section):
            near = _suggest_key(section, key)
            hint = f" (did you mean '{near[0]}.{near[1]}'?)" if near else ""
            problems.append(f"{origin}: {name}: unknown setting{hint}")
            continue
        _convert(
            section, key, raw, as_text=isinstance(raw, str), origin=origin, base_dir=cwd, layer=layer, problems=problems
        )
    return layer


# -- environment -------------------------------------------------------------------


def _env_name(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section.upper()}__{key.upper()}"


def _read_environ(environ: Mapping[str, str], cwd: Path, problems: list[str]) -> _Layer:
    layer: _Layer = {}
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        origin = f"environment variable {name}"
        parts = name[len(ENV_PREFIX):].lower().split("__")
        if len(parts) != 2 or not all(parts):
            problems.append(f"{origin}: expected the form {ENV_PREFIX}SECTION__KEY, e.g. {ENV_PREFIX}TARGET__PASSWORD")
            continue
        section, key = parts
        if section not in SECTIONS:
            near = _suggest_section(section)
            hint = f" (did you mean {_env_name(near, key)}?)" if near else f" (known sections: {', '.join(SECTIONS)})"
            problems.append(f"{origin}: unknown section {section!r}{hint}")
            continue
        if key not in _known_keys(section):
            near = _suggest_key(section, key)
            hint = f" (did you mean {_env_name(*near)}?)" if near else ""
            problems.append(f"{origin}: unknown key {key!r} in [{section}]{hint}")
            continue
        _convert(section, key, environ[name], as_text=True, origin=origin, base_dir=cwd, layer=layer, problems=problems)
    return layer


# -- putting it together -------------------------------------------------------------


def _cross_checks(chosen: dict[str, dict[str, object]], origins: dict[tuple[str, str], str],
                  problems: list[str]) -> None:
    """Rules that involve more than one key."""
    target, run = chosen["target"], chosen["run"]
    if target["retry_backoff_max_s"] < target["retry_backoff_s"]:
        problems.append(
            f"{origins[('target', 'retry_backoff_max_s')]}: [target] retry_backoff_max_s: must be ≥ "
            f"[target] retry_backoff_s ({target['retry_backoff_s']}) (got {target['retry_backoff_max_s']})"
        )
    if run["key_start"] is not None and run["key_end"] is not None and run["key_end"] < run["key_start"]:
        problems.append(
            f"{origins[('run', 'key_end')]}: [run] key_end: must be ≥ [run] key_start "
            f"({run['key_start']}) (got {run['key_end']})"
        )
    for role in ("source", "target"):
        section = chosen[role]
        if section["url"] == "odbc:" and not section["server"]:
            problems.append(
                f"{origins[(role, 'url')]}: [{role}] url: \"odbc:\" with an empty connection string "
                f"needs [{role}] server (and driver, database, ...) set"
            )


def load_settings(
    config_path: str | Path | None,
    overrides: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    cwd: str | Path | None = None,
) -> Settings:
    """Read, merge and validate the settings for one run.

    ``config_path``: the config.toml to read; None means defaults only (a
    path that does not exist is an error). ``overrides``: command-line
    values keyed ``"section.key"``; None values mean "not given"; strings
    are parsed like environment values, other values must have the key's
    type. ``environ``: the environment to take ``XMLSHRED__SECTION__KEY``
    variables from; None means ``os.environ``. ``cwd``: the directory
    relative paths from overrides and the environment are resolved against
    (default: the current directory).

    Relative paths in values from the file or the defaults are resolved
    against the config file's directory (see ``settings.paths``).

    Raises ``SettingsError`` listing every problem found (unknown sections
    and keys with a did-you-mean hint, wrong types, bad values, an
    unreadable or malformed file); it never shows secret values.
    """
    cwd_path = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    layers: list[_Layer] = []

    file_path: Path | None = None
    if config_path is not None:
        file_path = Path(os.path.abspath(cwd_path / Path(config_path)))
        layers.append(_read_file(file_path, str(config_path), problems))
    base_dir = file_path.parent if file_path is not None else cwd_path
    layers.append(_read_overrides(overrides or {}, cwd_path, problems))
    layers.append(_read_environ(environ, cwd_path, problems))

    merged: _Layer = {}
    for layer in layers:
        merged.update(layer)

    chosen: dict[str, dict[str, object]] = {}
    origins: dict[tuple[str, str], str] = {}
    for section, cls in SECTIONS.items():
        values: dict[str, object] = {}
        for f in fields(cls):
            given = merged.get((section, f.name)) or _Given(
                f.default, "defaults", data_root() if f.metadata.get("shipped") else base_dir)
            value = given.value
            if isinstance(value, str) and f.metadata.get("resolve") == "url":
                value = resolve_url(value, given.base_dir)
            elif isinstance(value, str) and f.metadata.get("resolve") == "path":
                value = resolve_path(value, given.base_dir)
            values[f.name] = value
            origins[(section, f.name)] = given.origin
        chosen[section] = values

    _cross_checks(chosen, origins, problems)
    if problems:
        raise SettingsError(problems)
    return Settings(
        **{section: cls(**chosen[section]) for section, cls in SECTIONS.items()},
        config_path=file_path,
    )
