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
    parser = argparse.ArgumentParser(prog="xmlshred", description=__doc__.splitlines()[0],
                                     epilog=_examples_epilog())
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
    migrate.add_argument("--reprocess", metavar="WHAT",
                         help="reload records already loaded, replacing their rows: stale (written by another "
                              "contract fingerprint), failed (as --retry-failed), all, or keys:FILE "
                              "(one key a line) ([run] reprocess)")
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
    migrate.add_argument("--quality", type=_quality_rule, action="append", metavar="KIND=count|fail",
                         help="count (default) or fail records whose value of this kind the rules changed: "
                              "truncated, not_a_number, bad_date, unmapped_code; repeatable ([quality])")

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
    validate.add_argument("--strict", action="store_true",
                          help="every warning is a problem too (exit 2), as [contract] strict makes it for migrate")

    verify = commands.add_parser("verify", help="compare the target's rows with the source mapped by the "
                                                 "contract; read-only (exit 0 agree, 1 differ, 2 bad input)")
    _common(verify)
    verify.add_argument("--source", help="the source the target was loaded from (default: [source] url)")
    verify.add_argument("--target", help="the target to check (default: [target] url)")
    chosen = verify.add_mutually_exclusive_group()
    chosen.add_argument("--sample", type=int, metavar="N", help="a random sample of N source records (default 1000)")
    chosen.add_argument("--keys", type=Path, metavar="FILE", help="the record keys in FILE, one a line")
    chosen.add_argument("--all", action="store_true", help="every source record")
    verify.add_argument("--seed", type=int, default=0, help="the sample's random seed (default 0)")
    verify.add_argument("--mappers", type=int, help="processes reading and mapping documents ([actors] mappers)")
    verify.add_argument("--now", help="the clock the load pinned (ISO datetime, UTC); without it columns made "
                                      "from the clock are not compared")
    verify.add_argument("--write-keys", type=Path, metavar="FILE",
                        help="write the keys that differ, one a line (for migrate --reprocess keys:FILE)")

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
    _starting_point_commands(commands)
    return parser


def _quality_rule(text: str) -> tuple[str, str]:
    """``truncated=fail`` -> ("truncated", "fail"); the settings loader checks kind and action."""
    kind, equals, action = text.partition("=")
    if not equals or not kind.strip() or not action.strip():
        raise argparse.ArgumentTypeError(f"expected KIND=count or KIND=fail (e.g. truncated=fail), got {text!r}")
    return kind.strip(), action.strip()


def _examples_epilog() -> str:
    from xmlshred.settings.starter import examples_folder
    from xmlshred.vocab.program import command

    folder = examples_folder()
    return (f"The built-in example contracts are {folder / 'credit_card' / 'contract.json'} and "
            f"{folder / 'recreational_lending' / 'contract.json'} (sample documents: {folder / 'sample'}). "
            f"`{command('init')} DIR` copies them into DIR with a commented config.toml.")


def _starting_point_commands(commands) -> None:
    """``init`` and ``status`` (issue 29): a starting point and a look at a target."""
    init = commands.add_parser("init", help="write a commented config.toml and the example contracts into DIR",
                               epilog=_examples_epilog())
    init.add_argument("dir", nargs="?", default=".", metavar="DIR",
                      help="the folder to write into (default: the current one); existing files are never "
                           "overwritten")
    status = commands.add_parser("status", help="what a target holds: records by status, last run, lease, "
                                                "tables and row counts (read-only)")
    _common(status)
    status.add_argument("--target", help="sqlite:///path.db or odbc:<connection string> (default: [target])")


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
        "run.reprocess": getattr(args, "reprocess", None),
        "run.now": getattr(args, "now", None),
        "run.wait_s": getattr(args, "wait", None),
        "engine.kind": getattr(args, "engine", None),
        "engine.address": getattr(args, "ray_address", None),
        "engine.shards": getattr(args, "shards", None),
        "log.metrics": getattr(args, "metrics", None),
    }
    for kind, action in getattr(args, "quality", None) or ():
        pairs[f"quality.{kind}"] = action
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
    except (supervisor.ConfigurationError, supervisor.RunError) as exc:
        return supervisor.log_failure(exc)
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

    report = check_contract(args.path, strict=args.strict)
    for warning in () if args.strict else report.warnings:  # --strict lists them as problems
        print(f"warning: {warning}", file=sys.stderr)
    if report.problems:
        print(f"{args.path}: {len(report.problems)} problem(s):", file=sys.stderr)
        for problem in report.problems:
            print(f"  - {problem}", file=sys.stderr)
        return ExitCode.USAGE
    schema = report.contract  # a valid contract
    from xmlshred.contract import fingerprint_file

    print(f"{args.path}: valid ({len(schema.mappings)} mappings)")
    print(f"fingerprint: {fingerprint_file(args.path)}")
    return ExitCode.OK


VERIFY_DEFAULT_SAMPLE = 1000


def cmd_verify(args) -> int:
    from loguru import logger

    from xmlshred import supervisor
    from xmlshred.contract import LineageError, fingerprint_file, record_lineage
    from xmlshred.db.errors import TargetError
    from xmlshred.db.spec import target_spec
    from xmlshred.loading.reprocess import ReprocessError, read_keys_file
    from xmlshred.verify import VerifyError, VerifyRequest, print_report, run_verify
    from xmlshred.verify.command import write_keys

    settings = _load_settings(args)
    _configure_logging(settings)
    if args.sample is not None and args.sample < 1:
        logger.error("--sample must be at least 1")
        return ExitCode.USAGE
    try:
        contract = supervisor.load_checked_contract(settings)
        compiled = supervisor.compile_for(settings, contract, supervisor.run_clock(settings))
        keys = read_keys_file(args.keys) if args.keys is not None else None
        request = VerifyRequest(
            source=supervisor.source_spec(settings, contract), target=target_spec(settings), contract=contract,
            compiled=compiled, fingerprint=fingerprint_file(settings.contract.path),
            lineage=record_lineage(contract, compiled.schema),
            sample=None if (args.all or keys is not None) else (args.sample or VERIFY_DEFAULT_SAMPLE),
            keys=keys, seed=args.seed, clock_pinned=settings.run.now is not None,
            processes=settings.actors.mappers, prefix_bytes=settings.source.prefix_bytes)
        result = run_verify(request)
    except (supervisor.ConfigurationError, ReprocessError, LineageError, VerifyError, TargetError) as exc:
        logger.error("verify cannot run: {}", exc)
        return ExitCode.USAGE
    print_report(request, result, sys.stdout)
    if args.write_keys is not None:
        count = write_keys(result, args.write_keys)
        print(f"wrote {count} differing keys to {args.write_keys} "
              f"(reload them: migrate --reprocess keys:{args.write_keys})")
    return result.exit_code


def cmd_report(args) -> int:
    from xmlshred.reporting.report import run_report_command

    settings = _load_settings(args)
    return run_report_command(settings, metrics=args.metrics, target=args.target, run_id=args.run,
                              plot=args.plot)


def cmd_init(args) -> int:
    import shlex

    from xmlshred.settings.starter import StarterError, init_folder
    from xmlshred.vocab.program import command

    try:
        written = init_folder(args.dir)
    except StarterError as exc:
        print(f"init: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    folder = Path(args.dir).resolve()
    print(f"wrote {folder / 'config.toml'} and {len(written) - 1} example files under {folder / 'examples'}")
    hop = "" if folder == Path.cwd().resolve() else f"cd {shlex.quote(args.dir)} && "
    print(f"next: {hop}{command('migrate')}   (then {command('status')} or {command('report')})")
    return ExitCode.OK


def cmd_status(args) -> int:
    from xmlshred.reporting.status import run_status_command

    settings = _load_settings(args)
    return run_status_command(settings)


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
    "init": cmd_init,
    "status": cmd_status,
    "migrate": cmd_migrate,
    "init-db": cmd_init_db,
    "generate": cmd_generate,
    "validate-contract": cmd_validate_contract,
    "report": cmd_report,
    "verify": cmd_verify,
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
