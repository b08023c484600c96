"""config.toml + command-line flags + environment -> a validated ``Settings`` value.

``load_settings(config_path, overrides, environ)`` merges, lowest first:
the defaults, the config file, command-line overrides (``{"actors.mappers":
4}``; None means "not given") and environment variables
``XMLSHRED__SECTION__KEY`` (secrets belong there). Every problem is raised
at once in one ``SettingsError``. Relative paths are resolved against the
config file's directory (see ``settings.paths`` for the URL convention).
``describe_settings()`` documents every key for README and ``--help``.
"""

from xmlshred.settings.errors import SettingsError
from xmlshred.settings.loader import ENV_PREFIX, load_settings
from xmlshred.settings.model import (
    LOG_LEVELS,
    ODBC_KEYS,
    PROGRESS_MODES,
    SECTIONS,
    ActorSettings,
    ContractSettings,
    EngineSettings,
    FlushSettings,
    KeyInfo,
    LogSettings,
    RunSettings,
    Settings,
    SourceSettings,
    TargetSettings,
    describe_settings,
)
from xmlshred.settings.paths import mask_connection_secrets, resolve_path, resolve_url

__all__ = [
    "load_settings",
    "Settings",
    "SourceSettings",
    "TargetSettings",
    "ODBC_KEYS",
    "ContractSettings",
    "ActorSettings",
    "FlushSettings",
    "LogSettings",
    "RunSettings",
    "EngineSettings",
    "SettingsError",
    "describe_settings",
    "KeyInfo",
    "SECTIONS",
    "ENV_PREFIX",
    "LOG_LEVELS",
    "PROGRESS_MODES",
    "resolve_url",
    "resolve_path",
    "mask_connection_secrets",
]
