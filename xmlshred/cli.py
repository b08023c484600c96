"""xmlshred command line: migrate, init-db, generate, validate-contract, report, tune.

Exit codes (this run's records only): 0 all succeeded, 3 finished with some
failed records, 1 the run stopped on an error, 2 bad usage or configuration,
130 stopped by a signal.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from xmlshred.vocab.exit_codes import ExitCode


def _version() -> str:
    from xmlshred import __version__

    return __version__


def _default_config() -> Path | None:
    """``./config.toml`` when there is one; else None: the built-in defaults."""
    local = Path.cwd() / "config.toml"
    return local if local.is_file() else None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None,
                        help="config file (default: ./config.toml when there is one, else the built-in defaults)")
    parser.add_argument("--contract", help="mapping contract JSON ([contract] path)")
    parser.add_argument("--log-level", help="TRACE, DEBUG, INFO, WARNING, ERROR ([log] level)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xmlshred", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"xmlshred {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="move every source record into the target, exactly once")
    _common(migrate)
    migrate.add_argument("--source", help="sqlite:///path.db, odbc:<conn>, postgresql://…, a folder or glob "
                                          "of .xml files, "
                                          "or files:///absolute/folder (RFC 8089)")
    migrate.add_argument("--target", help="sqlite:///path.db, postgresql://user@host/dbname (psycopg) "
                                          "or odbc:<connection string>")
    migrate.add_argument("--mappers", type=int, help="mapper actors (one worker process each)")
    migrate.add_argument("--max-in-flight", type=int, help="records out at most (credits)")
    migrate.add_argument("--flush-records", type=int, help="flush after this many records")
    migrate.add_argument("--flush-rows", type=int, help="flush after this many rows")
    migrate.add_argument("--flush-interval-ms", type=int, help="flush when the oldest record is this old")
    migrate.add_argument("--limit", type=int, help="process at most this many records this run")
    migrate.add_argument("--key-start", type=int, help="first key (inclusive)")
    migrate.add_argument("--key-end", type=int, help="last key (inclusive)")
    migrate.add_argument("--retry-failed", action="store_true", default=None,
                         help="also process records whose processing_log row says failed")
    migrate.add_argument("--dry-run", action="store_true", default=None,
                         help="map and validate everything, write nothing, report what would fail")
    migrate.add_argument("--now", help="pin the run's clock (ISO datetime, UTC)")
    migrate.add_argument("--wait", type=float, metavar="SECONDS",
                         help="wait this long for another run holding the target, instead of exit 2 ([run] wait_s)")
    migrate.add_argument("--engine", choices=("local", "ray"),
                         help="local: this machine; ray: shard the run over a Ray cluster ([engine] kind)")
    migrate.add_argument("--ray-address", metavar="ADDRESS",
                         help='Ray cluster: "auto", ray://head:10001, or "" for a local Ray ([engine] address)')
    migrate.add_argument("--shards", type=int, metavar="N",
                         help="key ranges for --engine ray (0 = four per cluster CPU) ([engine] shards)")

    init_db = commands.add_parser("init-db", help="create the contract's tables and processing_log")
    _common(init_db)
    init_db.add_argument("--target", help="sqlite:///path.db, postgresql://user@host/dbname (psycopg) "
                                          "or odbc:<connection string>")

    generate = commands.add_parser("generate", help="write a synthetic corpus")
    _common(generate)
    generate.add_argument("--count", type=int, required=True, metavar="N", help="how many documents to write")
    generate.add_argument("--out", required=True, help="sqlite:///path.db or a folder path")
    generate.add_argument("--seed", type=int, default=0, metavar="S",
                          help="random seed: the same seed, count and profile give the same corpus (default 0)")
    generate.add_argument("--profile", choices=("realistic", "small"), default="realistic")
    generate.add_argument("--product", choices=("cc", "rl"), default="cc",
                          help="cc: credit-card applications (table app_xml); rl: recreational lending"
                               " (table app_xml_rl); each matches its contract under examples/")
    generate.add_argument("--edge-share", type=float, default=0.05,
                          help="share of edge-case documents (0 to 1)")

    validate = commands.add_parser("validate-contract", help="check a contract; list every problem")
    validate.add_argument("path", type=Path, metavar="PATH", help="the mapping contract JSON file to check")

    report = commands.add_parser("report", help="summarise runs from metrics.jsonl and processing_log")
    _common(report)
    report.add_argument("--metrics", help="metrics.jsonl ([log] metrics)")
    report.add_argument("--target", help="the target whose runs and processing_log to show "
                                         "(default: [target] of the config)")
    report.add_argument("--run", help="run id (default: the target's latest); a dry run's would-fail list too")
    report.add_argument("--plot", type=Path, help="write a PNG chart: rate, failures by stage, flush p95")

    tune = commands.add_parser("tune", help="find good [actors]/[flush] settings: real runs on a sample of the "
                                            "source into a scratch target")
    _common(tune)
    tune.add_argument("--source", help="the documents to sample (default: [source] of the config)")
    tune.add_argument("--target", help="where the scratch target goes: a SQLite target tunes into temporary "
                                       "SQLite files; a server target into a scratch schema xmlshred_tune_<id> "
                                       "of its database, dropped afterwards (default: [target])")
    tune.add_argument("--sample", type=int, default=2000, metavar="N",
                      help="records per trial run: the first N of the source (default 2,000, or all if fewer)")
    tune.add_argument("--budget-s", type=float, default=120.0, metavar="S",
                      help="seconds the search may take (default 120)")
    tune.add_argument("--write", type=Path, metavar="PATH",
                      help="put the recommended settings into this config file, comments and layout kept")
    return parser


def _overrides(args: argparse.Namespace) -> dict:
    pairs = {
        "contract.path": getattr(args, "contract", None),
        "log.level": getattr(args, "log_level", None),
        "source.url": getattr(args, "source", None),
        "target.url": getattr(args, "target", None),
        "actors.mappers": getattr(args, "mappers", None),
        "actors.max_in_flight": getattr(args, "max_in_flight", None),
        "flush.max_records": getattr(args, "flush_records", None),
        "flush.max_rows": getattr(args, "flush_rows", None),
        "flush.max_interval_ms": getattr(args, "flush_interval_ms", None),
        "run.limit": getattr(args, "limit", None),
        "run.key_start": getattr(args, "key_start", None),
        "run.key_end": getattr(args, "key_end", None),
        "run.retry_failed": getattr(args, "retry_failed", None),
        "run.dry_run": getattr(args, "dry_run", None),
        "run.now": getattr(args, "now", None),
        "run.wait_s": getattr(args, "wait", None),
        "engine.kind": getattr(args, "engine", None),
        "engine.address": getattr(args, "ray_address", None),
        "engine.shards": getattr(args, "shards", None),
        "log.metrics": getattr(args, "metrics", None),
    }
    return {key: value for key, value in pairs.items() if value is not None}


def _load_settings(args):
    from xmlshred.settings import load_settings

    return load_settings(args.config or _default_config(), _overrides(args), os.environ)


def _configure_logging(settings) -> None:
    from xmlshred.reporting.logs import (
        configure_logging,
        install_thread_dump_on_sigusr1,
    )

    configure_logging(level=settings.log.level, file=settings.log.file or None,
                      rotation=settings.log.rotation, json=settings.log.json)
    install_thread_dump_on_sigusr1()


def cmd_migrate(args) -> int:
    from loguru import logger

    from xmlshred import supervisor
    settings = _load_settings(args)
    _configure_logging(settings)
    if settings.engine.kind == "ray":
        from xmlshred.engine.ray_engine import run_on_ray

        return run_on_ray(settings)
    try:
        result = supervisor.run_migration(settings)
    except supervisor.ConfigurationError as exc:
        logger.error("cannot start: {}", exc)
        return ExitCode.USAGE
    except supervisor.RunError as exc:
        logger.error("run stopped: {}", exc)
        return ExitCode.ERROR
    except KeyboardInterrupt:  # Ctrl-C during the checks or while waiting for a lease
        logger.warning("interrupted before the run started; nothing was written")
        return ExitCode.SIGNAL
    return result.exit_code


def cmd_init_db(args) -> int:
    from loguru import logger

    from xmlshred import supervisor
    settings = _load_settings(args)
    _configure_logging(settings)
    try:
        tables = supervisor.init_db(settings)
    except supervisor.ConfigurationError as exc:
        logger.error("cannot start: {}", exc)
        return ExitCode.USAGE
    except Exception as exc:
        from xmlshred.db.secrets import mask_secrets

        logger.error("init-db failed: {}", mask_secrets(str(exc)))
        return ExitCode.ERROR
    logger.info("target ready: {} tables ({})", len(tables), ", ".join(tables))
    return ExitCode.OK


def cmd_generate(args) -> int:
    from loguru import logger

    from xmlshred.generator.writers import run_generate

    settings = _load_settings(args)
    _configure_logging(settings)
    if args.count < 0 or not 0 <= args.edge_share <= 1:
        logger.error("--count must be >= 0 and --edge-share between 0 and 1")
        return ExitCode.USAGE
    stats = run_generate(args.count, args.out, seed=args.seed, profile=args.profile,
                         edge_share=args.edge_share, product=args.product)
    logger.info(_describe_generated(stats))
    return ExitCode.OK


def _describe_generated(stats: dict) -> str:
    """One readable line for ``generate``'s figures."""
    edges = ", ".join(f"{name}={count:,}" for name, count in sorted(stats.get("edge_cases", {}).items()))
    return (f"generated {stats.get('count', 0):,} documents into {stats.get('kind')} {stats.get('destination')} "
            f"(keys {stats.get('first_key')}..{stats.get('last_key')}, {stats.get('bytes', 0) / 1e6:,.1f} MB, "
            f"{stats.get('avg_bytes', 0):,} bytes on average, largest {stats.get('max_bytes', 0):,}) "
            f"in {stats.get('seconds', 0):.1f}s; edge cases: {edges or 'none'}")


def cmd_validate_contract(args) -> int:
    from xmlshred.contract import check_contract

    report = check_contract(args.path)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.problems:
        print(f"{args.path}: {len(report.problems)} problem(s):", file=sys.stderr)
        for problem in report.problems:
            print(f"  - {problem}", file=sys.stderr)
        return ExitCode.USAGE
    schema = report.contract  # a valid contract
    print(f"{args.path}: valid ({len(schema.mappings)} mappings)")
    return ExitCode.OK


def cmd_report(args) -> int:
    from xmlshred.reporting.report import run_report_command

    settings = _load_settings(args)
    return run_report_command(settings, metrics=args.metrics, target=args.target, run_id=args.run,
                              plot=args.plot)


def cmd_tune(args) -> int:
    from loguru import logger

    from xmlshred.engine.tune import run_tune

    settings = _load_settings(args)
    if args.log_level is None:
        from dataclasses import replace

        settings = replace(settings, log=replace(settings.log, level="WARNING"))  # the trials' lines are noise here
    _configure_logging(settings)
    if args.sample < 1 or args.budget_s <= 0:
        logger.error("--sample must be at least 1 and --budget-s positive")
        return ExitCode.USAGE
    return run_tune(settings, sample=args.sample, budget_s=args.budget_s, write=args.write)


COMMANDS = {
    "migrate": cmd_migrate,
    "init-db": cmd_init_db,
    "generate": cmd_generate,
    "validate-contract": cmd_validate_contract,
    "report": cmd_report,
    "tune": cmd_tune,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except Exception as exc:
        from xmlshred.settings import SettingsError

        if isinstance(exc, SettingsError):
            print(f"configuration problems:\n{exc}", file=sys.stderr)
            return ExitCode.USAGE
        raise


if __name__ == "__main__":
    sys.exit(main())
