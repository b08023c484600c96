"""settings/: defaults < config.toml < command line < environment, all problems at once."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from datetime import datetime
from pathlib import Path

import pytest

from xmlshred import data_root
from xmlshred.settings import (
    SECTIONS,
    Settings,
    SettingsError,
    describe_settings,
    load_settings,
    resolve_url,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = ROOT / "config.toml"


def write_config(directory: Path, text: str, name: str = "config.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(excinfo: pytest.ExceptionInfo[SettingsError]) -> list[str]:
    return excinfo.value.problems


# -- defaults and layering ------------------------------------------------------


def test_defaults_without_a_config_file(tmp_path):
    settings = load_settings(None, environ={}, cwd=tmp_path)

    assert settings.config_path is None
    assert settings.actors.mappers == 2
    assert settings.actors.max_in_flight == 4000
    assert settings.actors.batch_size == 20
    assert settings.actors.mapper_queue_batches == 2
    assert (settings.flush.max_records, settings.flush.max_rows, settings.flush.max_interval_ms) == (1000, 50000, 1000)
    assert settings.source.key_column == "app_id"
    assert settings.source.page_size == 500
    assert settings.source.prefix_bytes == 32768
    assert settings.source.table == "" and settings.source.column == ""
    assert settings.source.timeout == 15 and settings.source.port is None
    assert settings.target.connect_retries == 5
    assert settings.target.retry_backoff_s == 0.5
    assert settings.target.retry_backoff_max_s == 30.0
    assert settings.target.identity_columns is False
    assert settings.contract.max_document_bytes == 67108864
    assert settings.contract.strict_wellformed is False
    assert settings.log.level == "INFO" and settings.log.progress == "auto"
    assert settings.log.rotation == "50 MB" and settings.log.json is False
    assert settings.log.report_every_s == 10.0
    assert settings.log.file == ""
    assert settings.run == type(settings.run)(now=None, limit=0, key_start=None, key_end=None)
    # Default relative paths resolve against the current directory when there is no file,
    # except the shipped example contract and sample documents: they are found beside the package.
    assert settings.target.url == f"sqlite:///{tmp_path}/out/target.db"
    assert settings.source.url == str(data_root() / "examples" / "sample")
    assert settings.contract.path == str(data_root() / "examples" / "credit_card" / "contract.json")
    assert Path(settings.contract.path).is_file() and Path(settings.source.url).is_dir()
    assert settings.log.metrics == str(tmp_path / "out" / "metrics.jsonl")


def test_file_values_override_defaults(tmp_path):
    config = write_config(
        tmp_path,
        """
[actors]
mappers = 6
[flush]
max_interval_ms = 250
[log]
level = "debug"
report_every_s = 2
[target]
encrypt = true
port = 1433
[run]
key_start = 10
key_end = ""
""",
    )
    settings = load_settings(config, environ={})

    assert settings.actors.mappers == 6
    assert settings.actors.batch_size == 20
    assert settings.flush.max_interval_ms == 250
    assert settings.log.level == "DEBUG"
    assert settings.log.report_every_s == 2.0 and isinstance(settings.log.report_every_s, float)
    assert settings.target.encrypt == "yes"
    assert settings.target.port == 1433
    assert settings.run.key_start == 10 and settings.run.key_end is None
    assert settings.config_path == config


def test_command_line_overrides_beat_the_file_and_none_means_not_given(tmp_path):
    config = write_config(tmp_path, "[actors]\nmappers = 6\nbatch_size = 20\n[run]\ndry_run = false\n")
    settings = load_settings(
        config,
        {"actors.mappers": 4, "actors.batch_size": None, "run.dry_run": True, "run.limit": "25",
         "log.progress": "never"},
        environ={},
    )

    assert settings.actors.mappers == 4
    assert settings.actors.batch_size == 20
    assert settings.run.dry_run is True
    assert settings.run.limit == 25
    assert settings.log.progress == "never"


def test_environment_wins_over_file_and_command_line(tmp_path):
    config = write_config(tmp_path, '[actors]\nmappers = 6\n[target]\npassword = "from-file"\n')
    settings = load_settings(
        config,
        {"actors.mappers": 4},
        environ={"XMLSHRED__ACTORS__MAPPERS": "8", "XMLSHRED__TARGET__PASSWORD": "from-env", "HOME": "/x"},
    )

    assert settings.actors.mappers == 8
    assert settings.target.password == "from-env"
    assert settings.target.odbc_options()["password"] == "from-env"


def test_environment_names_are_case_insensitive(tmp_path):
    settings = load_settings(None, environ={"XMLSHRED__Flush__Max_Rows": "7"}, cwd=tmp_path)
    assert settings.flush.max_rows == 7


def test_environ_none_means_the_process_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XMLSHRED__ACTORS__BATCH_SIZE", "13")
    assert load_settings(None, cwd=tmp_path).actors.batch_size == 13


@pytest.mark.parametrize(
    ("name", "text", "attribute", "expected"),
    [
        ("XMLSHRED__RUN__DRY_RUN", "true", ("run", "dry_run"), True),
        ("XMLSHRED__RUN__DRY_RUN", "YES", ("run", "dry_run"), True),
        ("XMLSHRED__RUN__DRY_RUN", "1", ("run", "dry_run"), True),
        ("XMLSHRED__RUN__DRY_RUN", "false", ("run", "dry_run"), False),
        ("XMLSHRED__RUN__DRY_RUN", " no ", ("run", "dry_run"), False),
        ("XMLSHRED__RUN__DRY_RUN", "0", ("run", "dry_run"), False),
        ("XMLSHRED__ACTORS__MAPPERS", " 12 ", ("actors", "mappers"), 12),
        ("XMLSHRED__TARGET__RETRY_BACKOFF_S", "0.25", ("target", "retry_backoff_s"), 0.25),
        ("XMLSHRED__LOG__REPORT_EVERY_S", "3", ("log", "report_every_s"), 3.0),
        ("XMLSHRED__RUN__KEY_START", "100", ("run", "key_start"), 100),
        ("XMLSHRED__RUN__KEY_END", "", ("run", "key_end"), None),
        ("XMLSHRED__SOURCE__PORT", "5432", ("source", "port"), 5432),
        ("XMLSHRED__SOURCE__ENCRYPT", "false", ("source", "encrypt"), "no"),
        ("XMLSHRED__SOURCE__ENCRYPT", "Strict", ("source", "encrypt"), "strict"),
        ("XMLSHRED__LOG__LEVEL", "warning", ("log", "level"), "WARNING"),
    ],
)
def test_environment_values_are_parsed_to_the_key_type(tmp_path, name, text, attribute, expected):
    settings = load_settings(None, environ={name: text}, cwd=tmp_path)
    section, key = attribute
    assert getattr(getattr(settings, section), key) == expected


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("XMLSHRED__RUN__DRY_RUN", "maybe", "[run] dry_run: expected true or false"),
        ("XMLSHRED__ACTORS__MAPPERS", "two", "[actors] mappers: expected an integer ≥ 1"),
        ("XMLSHRED__ACTORS__MAPPERS", "0", "[actors] mappers: expected an integer ≥ 1"),
        ("XMLSHRED__TARGET__RETRY_BACKOFF_S", "nan", "[target] retry_backoff_s: expected a number > 0"),
        ("XMLSHRED__SOURCE__PORT", "70000", "[source] port: expected an integer from 1 to 65535"),
    ],
)
def test_bad_environment_values_name_the_variable_and_key(tmp_path, name, text, expected):
    with pytest.raises(SettingsError) as excinfo:
        load_settings(None, environ={name: text}, cwd=tmp_path)
    [problem] = problems_of(excinfo)
    assert problem.startswith(f"environment variable {name}: ")
    assert expected in problem


# -- unknown names -----------------------------------------------------------------


def test_unknown_key_in_file_suggests_the_close_one(tmp_path):
    config = write_config(tmp_path, "[flush]\nmax_record = 10\n")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(config, environ={})
    assert problems_of(excinfo) == [f"{config}: [flush] max_record: unknown key (did you mean 'max_records'?)"]


def test_unknown_key_uses_the_path_as_given(tmp_path, monkeypatch):
    write_config(tmp_path, "[flush]\nmax_record = 10\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError) as excinfo:
        load_settings("config.toml", environ={})
    assert problems_of(excinfo) == ["config.toml: [flush] max_record: unknown key (did you mean 'max_records'?)"]


def test_key_in_the_wrong_section_and_unknown_section(tmp_path):
    config = write_config(tmp_path, "mappers = 3\n[actors]\nmax_rows = 5\n[flsh]\nmax_rows = 5\n")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(config, environ={})
    assert problems_of(excinfo) == [
        f"{config}: mappers: a key outside any section; put it under [actors]",
        f"{config}: [actors] max_rows: unknown key (did you mean [flush] max_rows?)",
        f"{config}: [flsh]: unknown section (did you mean [flush]?)",
    ]


def test_unknown_environment_variable_suggests_the_close_one(tmp_path):
    environ = {
        "XMLSHRED__TARGET__PASWORD": "x",
        "XMLSHRED__ACTOR__MAPPERS": "2",
        "XMLSHRED__MAPPERS": "2",
        "XMLSHRED_PG_DSN": "not ours: single underscore",
    }
    with pytest.raises(SettingsError) as excinfo:
        load_settings(None, environ=environ, cwd=tmp_path)
    assert problems_of(excinfo) == [
        "environment variable XMLSHRED__ACTOR__MAPPERS: unknown section 'actor' "
        "(did you mean XMLSHRED__ACTORS__MAPPERS?)",
        "environment variable XMLSHRED__MAPPERS: expected the form XMLSHRED__SECTION__KEY, "
        "e.g. XMLSHRED__TARGET__PASSWORD",
        "environment variable XMLSHRED__TARGET__PASWORD: unknown key 'pasword' in [target] "
        "(did you mean XMLSHRED__TARGET__PASSWORD?)",
    ]


def test_unknown_command_line_setting(tmp_path):
    with pytest.raises(SettingsError) as excinfo:
        load_settings(None, {"actors.mapers": 3, "mappers": 3}, environ={}, cwd=tmp_path)
    problems = problems_of(excinfo)
    assert problems[0] == "command line: actors.mapers: unknown setting (did you mean 'actors.mappers'?)"
    assert problems[1].startswith("command line: mappers: unknown setting")


# -- values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[actors]\nmappers = "4"\n', "[actors] mappers: expected an integer ≥ 1 (got '4')"),
        ("[actors]\nmappers = true\n", "[actors] mappers: expected an integer ≥ 1 (got true)"),
        ("[actors]\nmappers = 2.5\n", "[actors] mappers: expected an integer ≥ 1 (got 2.5)"),
        ("[flush]\nmax_rows = 0\n", "[flush] max_rows: expected an integer ≥ 1 (got 0)"),
        ("[target]\nconnect_retries = -1\n", "[target] connect_retries: expected an integer ≥ 0 (got -1)"),
        ("[target]\nretry_backoff_s = 0\n", "[target] retry_backoff_s: expected a number > 0 (got 0)"),
        ('[run]\ndry_run = "yes"\n', "[run] dry_run: expected true or false (got 'yes')"),
        ('[log]\nlevel = "LOUD"\n', '[log] level: expected one of "TRACE", "DEBUG", "INFO"'),
        ('[log]\nprogress = "sometimes"\n', '[log] progress: expected one of "auto", "always", "never"'),
        ('[source]\nkey_column = ""\n', "[source] key_column: expected a non-empty string (got '')"),
        ('[target]\nurl = "mysql://db/x"\n', "[target] url: unknown scheme 'mysql'"),
        ('[target]\nurl = "postgresql://db:54x2/x"\n', "[target] url: a PostgreSQL URL has port '54x2'"),
        ('[target]\nurl = "out/target.db"\n',
         '[target] url: expected "sqlite:///path.db", "odbc:<connection string>" or '
         '"postgresql://user@host/dbname"'),
        ('[target]\nurl = "sqlite://out.db"\n', "[target] url: sqlite: URLs take three slashes"),
        ('[source]\nencrypt = "maybe"\n', '[source] encrypt: expected true, false, "yes"'),
        ("[actors]\nmappers = [1, 2]\n", "[actors] mappers: expected an integer ≥ 1 (got [1, 2])"),
        ('actors = 3\n', "actors: expected a [actors] table of keys"),
        ("[source]\nprefix_bytes = -1\n", "[source] prefix_bytes: expected an integer ≥ 0 (got -1)"),
        ('[source]\nprefix_bytes = "32k"\n', "[source] prefix_bytes: expected an integer ≥ 0 (got '32k')"),
        ("[source]\nprefix_bytes = 4096.5\n", "[source] prefix_bytes: expected an integer ≥ 0 (got 4096.5)"),
    ],
)
def test_bad_values_in_file_name_file_section_key_and_expectation(tmp_path, toml, expected):
    config = write_config(tmp_path, toml)
    with pytest.raises(SettingsError) as excinfo:
        load_settings(config, environ={})
    [problem] = problems_of(excinfo)
    assert problem.startswith(f"{config}: {expected}")


def test_every_problem_is_reported_at_once(tmp_path):
    config = write_config(
        tmp_path,
        '[actors]\nmappers = 0\nbatch_sise = 5\n[flush]\nmax_rows = "many"\n[run]\nnow = "yesterday"\n',
    )
    with pytest.raises(SettingsError) as excinfo:
        load_settings(
            config,
            {"flush.max_records": -1},
            environ={"XMLSHRED__LOG__LEVEL": "chatty", "XMLSHRED__LOG__LEVL": "INFO"},
        )
    problems = problems_of(excinfo)
    assert len(problems) == 7
    text = str(excinfo.value)
    assert text.splitlines() == problems
    for fragment in (
        "[actors] mappers:",
        "[actors] batch_sise: unknown key (did you mean 'batch_size'?)",
        "[flush] max_rows:",
        "[run] now:",
        "command line: [flush] max_records:",
        "XMLSHRED__LOG__LEVEL: [log] level:",
        "XMLSHRED__LOG__LEVL: unknown key 'levl' in [log] (did you mean XMLSHRED__LOG__LEVEL?)",
    ):
        assert fragment in text


def test_cross_key_rules(tmp_path):
    config = write_config(
        tmp_path,
        '[target]\nurl = "odbc:"\nretry_backoff_s = 5\nretry_backoff_max_s = 1\n[run]\nkey_start = 10\nkey_end = 5\n',
    )
    with pytest.raises(SettingsError) as excinfo:
        load_settings(config, environ={})
    assert problems_of(excinfo) == [
        f"{config}: [target] retry_backoff_max_s: must be ≥ [target] retry_backoff_s (5.0) (got 1.0)",
        f"{config}: [run] key_end: must be ≥ [run] key_start (10) (got 5)",
        f'{config}: [target] url: "odbc:" with an empty connection string needs [target] server '
        "(and driver, database, ...) set",
    ]


# -- [run] now --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml_value", "expected"),
    [
        ('"2025-01-01T00:00:00"', datetime(2025, 1, 1)),
        ('"2025-06-30T14:15:16.5"', datetime(2025, 6, 30, 14, 15, 16, 500000)),
        ('"2025-01-01T02:30:00+02:00"', datetime(2025, 1, 1, 0, 30)),
        ('"2025-01-01T00:00:00Z"', datetime(2025, 1, 1)),
        ('"2025-03-04"', datetime(2025, 3, 4)),
        ("2025-01-01T08:00:00-01:00", datetime(2025, 1, 1, 9)),  # a TOML date-time, unquoted
        ("2025-03-04", datetime(2025, 3, 4)),  # a TOML date
        ('""', None),
    ],
)
def test_run_now_becomes_a_naive_utc_datetime(tmp_path, toml_value, expected):
    config = write_config(tmp_path, f"[run]\nnow = {toml_value}\n")
    now = load_settings(config, environ={}).run.now
    assert now == expected
    assert now is None or now.tzinfo is None


def test_run_now_from_environment(tmp_path):
    settings = load_settings(None, environ={"XMLSHRED__RUN__NOW": "2024-02-29T23:59:59"}, cwd=tmp_path)
    assert settings.run.now == datetime(2024, 2, 29, 23, 59, 59)


@pytest.mark.parametrize("bad", ['"yesterday"', '"2025-13-01T00:00:00"', '"01/02/2025"', "12", "10:00:00"])
def test_bad_run_now_is_an_error_naming_the_key(tmp_path, bad):
    config = write_config(tmp_path, f"[run]\nnow = {bad}\n")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(config, environ={})
    [problem] = problems_of(excinfo)
    assert problem.startswith(f"{config}: [run] now: expected an ISO date-time")


# -- files ------------------------------------------------------------------------------


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError) as excinfo:
        load_settings(tmp_path / "absent.toml", environ={})
    [problem] = problems_of(excinfo)
    assert problem.startswith(f"{tmp_path / 'absent.toml'}: config file not found")


def test_toml_syntax_error_names_file_and_line(tmp_path):
    config = write_config(tmp_path, "[actors]\nmappers = 2\nbatch_size = = 3\n")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(config, environ={"XMLSHRED__ACTORS__MAPPERS": "x"})
    problems = problems_of(excinfo)
    assert problems[0].startswith(f"{config}: invalid TOML:")
    assert "line 3" in problems[0]
    # Other layers are still checked.
    assert problems[1].startswith("environment variable XMLSHRED__ACTORS__MAPPERS:")


def test_relative_paths_resolve_against_the_config_directory(tmp_path):
    config_dir = tmp_path / "other" / "dir"
    config = write_config(
        config_dir,
        """
[source]
url = "docs/*.xml"
[target]
url = "sqlite:///../out/t.db"
[contract]
path = "contracts/c.json"
[log]
file = "logs/run.log"
metrics = ""
""",
    )
    elsewhere = tmp_path / "cwd"
    settings = load_settings(config, environ={}, cwd=elsewhere)

    assert settings.source.url == str(config_dir / "docs" / "*.xml")
    assert settings.target.url == f"sqlite:///{tmp_path / 'other' / 'out' / 't.db'}"
    assert settings.target.url.startswith("sqlite:////")
    assert settings.contract.path == str(config_dir / "contracts" / "c.json")
    assert settings.log.file == str(config_dir / "logs" / "run.log")
    assert settings.log.metrics == ""


def test_config_path_relative_to_cwd_and_defaults_beside_it(tmp_path):
    write_config(tmp_path / "conf", "")
    settings = load_settings("conf/config.toml", environ={}, cwd=tmp_path)
    assert settings.config_path == tmp_path / "conf" / "config.toml"
    assert settings.target.url == f"sqlite:///{tmp_path / 'conf' / 'out' / 'target.db'}"


def test_absolute_urls_stay_and_flag_paths_resolve_against_cwd(tmp_path):
    config = write_config(
        tmp_path / "conf",
        '[target]\nurl = "sqlite:////srv/data/t.db"\n[source]\nurl = "odbc:DSN=docs"\n',
    )
    settings = load_settings(
        config,
        {"contract.path": "mine.json"},
        environ={"XMLSHRED__LOG__FILE": "run.log"},
        cwd=tmp_path / "here",
    )
    assert settings.target.url == "sqlite:////srv/data/t.db"
    assert settings.source.url == "odbc:DSN=docs"
    assert settings.contract.path == str(tmp_path / "here" / "mine.json")
    assert settings.log.file == str(tmp_path / "here" / "run.log")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///out/t.db", "sqlite:////base/out/t.db"),
        ("sqlite:////abs/t.db", "sqlite:////abs/t.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("files:///srv/feeds/*.xml", "/srv/feeds/*.xml"),  # RFC 8089: always absolute
        ("files://localhost/srv/feeds", "/srv/feeds"),
        ("files:/srv/feeds", "/srv/feeds"),
        ("file:///srv/a%20b", "/srv/a b"),
        ("files:relative/x", "files:relative/x"),  # not an RFC 8089 URL: left for the check to refuse
        ("examples/sample", "/base/examples/sample"),
        ("docs/*.xml", "/base/docs/*.xml"),
        ("/abs/docs", "/abs/docs"),
        ("odbc:DRIVER={x};SERVER=s", "odbc:DRIVER={x};SERVER=s"),
    ],
)
def test_resolve_url(url, expected):
    assert resolve_url(url, "/base") == expected


# -- secrets -------------------------------------------------------------------------------


def test_password_is_masked_in_repr_and_str(tmp_path):
    settings = load_settings(
        None,
        environ={
            "XMLSHRED__TARGET__PASSWORD": "hunter2-target",
            "XMLSHRED__SOURCE__PASSWORD": "hunter2-source",
            "XMLSHRED__SOURCE__URL": "odbc:DRIVER={d};SERVER=s;UID=u;PWD={hunter2-url}",
        },
        cwd=tmp_path,
    )
    assert settings.target.password == "hunter2-target"
    for text in (repr(settings), str(settings), repr(settings.target), str(settings.source)):
        assert "hunter2" not in text
    assert "password='***'" in repr(settings.target)
    assert "PWD=***" in repr(settings.source)


def test_password_never_appears_in_errors(tmp_path):
    config = write_config(tmp_path, '[target]\npassword = 12345\nurl = "odbcx:UID=u;PWD=hunter2"\n')
    with pytest.raises(SettingsError) as excinfo:
        load_settings(
            config,
            {"source.password": 987},
            environ={"XMLSHRED__TARGET__PASWORD": "hunter2-env", "XMLSHRED__SOURCE__URL": "odbc:PWD=hunter2;X"},
        )
    text = str(excinfo.value)
    assert len(problems_of(excinfo)) == 4
    assert "[target] password: expected a string (value hidden)" in text
    assert "[source] password: expected a string (value hidden)" in text
    for secret in ("12345", "987", "hunter2"):
        assert secret not in text


# -- the shipped config and its documentation --------------------------------------------------


def test_shipped_config_loads_clean_with_the_defaults():
    shipped = load_settings(SHIPPED_CONFIG, environ={})
    defaults_beside_it = load_settings(None, environ={}, cwd=SHIPPED_CONFIG.parent)

    assert shipped == Settings(**{name: getattr(defaults_beside_it, name) for name in SECTIONS},
                               config_path=SHIPPED_CONFIG)
    assert shipped.target.url == f"sqlite:///{ROOT / 'out' / 'target.db'}"
    assert shipped.contract.path == str(ROOT / "examples" / "credit_card" / "contract.json")


def test_shipped_config_lists_every_key_with_its_default():
    document = tomllib.loads(SHIPPED_CONFIG.read_text(encoding="utf-8"))
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")

    assert list(document) == list(SECTIONS)
    for info in describe_settings():
        assert info.key in document[info.section], f"[{info.section}] {info.key} missing from config.toml"
        assert f"\n{info.key} = {info.default}\n" in text
    for section, keys in document.items():
        assert list(keys) == [f.name for f in fields(SECTIONS[section])]


def test_describe_settings_documents_every_field():
    described = [(info.section, info.key) for info in describe_settings()]
    expected = [(section, f.name) for section, cls in SECTIONS.items() for f in fields(cls)]
    assert described == expected
    for section, key, type_, default, help_ in describe_settings():
        assert type_ and help_, f"[{section}] {key} lacks a type or help"
        assert isinstance(default, str)
    mappers = next(info for info in describe_settings() if info.key == "mappers")
    assert (mappers.type, mappers.default) == ("an integer ≥ 1", "2")


def test_prefix_bytes_zero_means_whole_documents_and_is_valid(tmp_path):
    config = write_config(tmp_path, "[source]\nprefix_bytes = 0\n")
    assert load_settings(config, environ={}).source.prefix_bytes == 0
    environ = {"XMLSHRED__SOURCE__PREFIX_BYTES": "-5"}
    with pytest.raises(SettingsError) as excinfo:
        load_settings(None, environ=environ, cwd=tmp_path)
    assert "[source] prefix_bytes: expected an integer ≥ 0" in problems_of(excinfo)[0]


def test_settings_are_frozen(tmp_path):
    settings = load_settings(None, environ={}, cwd=tmp_path)
    with pytest.raises(AttributeError):
        settings.actors.mappers = 9  # type: ignore[misc]


def test_odbc_options_hold_only_the_pieces_that_are_set(tmp_path):
    config = write_config(
        tmp_path,
        '[target]\nurl = "odbc:"\ndriver = "ODBC Driver 18 for SQL Server"\nserver = "db1"\nport = 1433\n'
        'encrypt = "strict"\ntrusted_connection = true\n',
    )
    settings = load_settings(config, environ={"XMLSHRED__TARGET__USERNAME": "loader"})

    assert settings.target.odbc_options() == {
        "driver": "ODBC Driver 18 for SQL Server",
        "server": "db1",
        "port": 1433,
        "username": "loader",
        "trusted_connection": True,
        "encrypt": "strict",
        "timeout": 15,
    }
    assert settings.source.odbc_options() == {"timeout": 15}


def test_source_and_target_odbc_pieces_are_one_model(tmp_path):
    """[source] and [target] pieces both read into db.spec.OdbcSettings, and every piece is one of its fields."""
    from xmlshred.db.spec import OdbcSettings, odbc_location
    from xmlshred.settings import ODBC_KEYS

    assert set(ODBC_KEYS) <= {f.name for f in fields(OdbcSettings)}
    config = tmp_path / "config.toml"
    config.write_text(
        '[source]\nurl = "odbc:"\ndriver = "PostgreSQL Unicode"\nserver = "src"\nport = 5432\ndatabase = "feeds"\n'
        '[target]\nurl = "odbc:"\ndriver = "PostgreSQL Unicode"\nserver = "dst"\ndatabase = "rows"\n'
    )
    settings = load_settings(config, {}, {})
    assert isinstance(settings.source.odbc(), OdbcSettings) and isinstance(settings.target.odbc(), OdbcSettings)
    source = odbc_location("", settings.source.odbc(), role="source")
    assert source.dialect.name == "postgresql"
    assert "SERVER=src" in source.connection_string and "DATABASE=feeds" in source.connection_string


def test_the_unpinned_run_clock_is_utc_in_whole_milliseconds(tmp_path):
    """GETUTCDATE() values must fit a legacy SQL Server DATETIME column (three fraction digits)."""
    from datetime import UTC, timedelta

    from xmlshred.db.values import canonical_datetime, tsql_datetime
    from xmlshred.supervisor import run_clock

    settings = load_settings(None, environ={}, cwd=tmp_path)
    for _ in range(5):
        before = datetime.now(UTC).replace(tzinfo=None)
        now = run_clock(settings)
        assert now.tzinfo is None and now.microsecond % 1000 == 0
        assert before - timedelta(milliseconds=1) <= now <= datetime.now(UTC).replace(tzinfo=None)
        assert len(tsql_datetime(canonical_datetime(now)).partition(".")[2]) <= 3
