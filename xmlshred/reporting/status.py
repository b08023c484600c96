"""``xmlshred status``: what a target holds, read-only.

Records by status (processing_log), the last run and any run still holding
the lease (xmlshred_runs), and every table of the contract with its row
count. Nothing is created or written: the target is opened read-only
(``targets.readonly``); a SQLite file that is not there is reported as such.
"""

from __future__ import annotations

import sys
from typing import TextIO

from xmlshred.db.errors import TargetError
from xmlshred.db.spec import target_spec
from xmlshred.targets.readonly import open_readonly
from xmlshred.targets.runs_table import RUNNING, record_of
from xmlshred.vocab.exit_codes import ExitCode
from xmlshred.vocab.names import PROCESSING_LOG, RUNS_TABLE
from xmlshred.vocab.schema import TargetSchema


def _contract_schema(settings) -> tuple[TargetSchema | None, str | None]:
    """The contract's schema (for its tables), or None and why not."""
    from xmlshred.contract import ContractError, contract_schema, load_contract

    try:
        return contract_schema(load_contract(settings.contract.path)), None
    except (ContractError, OSError) as exc:
        return None, f"the contract {settings.contract.path} cannot be read ({type(exc).__name__}); " \
                     "only processing_log and xmlshred_runs are shown"


def status_lines(settings) -> list[str]:
    """The status report; TargetError when the target cannot be read, FileNotFoundError when it is not there."""
    spec = target_spec(settings)
    if spec.path is not None and not spec.path.is_file():
        raise FileNotFoundError(spec.description)
    schema, problem = _contract_schema(settings)
    reading = schema or TargetSchema(schema_name=None, key_column=settings.source.key_column, tables=())
    target = open_readonly(spec, reading)
    try:
        lines = [f"Target {spec.description}"]
        if problem:
            lines.append(f"  note: {problem}")
        counts = target.status_counts()
        if not target.has_processing_log:
            lines.append("Records: none (no processing_log yet: migrate or init-db creates it)")
        else:
            total = sum(counts.values())
            by_status = ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items()))
            lines.append(f"Records: {total:,} ({by_status or 'none'})")
        lines += _runs_lines(target, reading.schema_name)
        lines.append("Tables (rows):")
        names = [table.name for table in reading.tables] + [PROCESSING_LOG, RUNS_TABLE]
        width = max(len(name) for name in names)
        for name in names:
            count = target.count_rows(name, reading.schema_name)
            shown = "not created" if count is None else f"{count:,}"
            lines.append(f"  {name:<{width}}  {shown}")
        return lines
    finally:
        target.close()
        if spec.path is not None:
            from xmlshred.db.sqlite import tidy_wal

            tidy_wal(spec.path)  # a read-only look leaves no -wal/-shm behind either


def _runs_lines(target, schema_name: str | None) -> list[str]:
    if not target.has_table(RUNS_TABLE):
        return ["Last run: none recorded", "Lease: free"]
    runs = sorted((record_of(row) for row in target.table_rows(RUNS_TABLE, schema_name)),
                  key=lambda run: run.started)
    if not runs:
        return ["Last run: none recorded", "Lease: free"]
    last = runs[-1]
    ended = f"{last.outcome} at {last.finished} UTC" if last.finished else last.outcome
    lines = [f"Last run: {last.run_id}, started {last.started} UTC on {last.host} (pid {last.pid}), {ended}"]
    holders = [run for run in runs if run.outcome == RUNNING and run.finished is None]
    if holders:
        lines += [f"Lease: held by {run.describe()}" for run in holders]
    else:
        lines.append("Lease: free")
    return lines


def run_status_command(settings, out: TextIO | None = None) -> int:
    """Print the status of ``settings.target``; 0, 2 when the target is not there, 1 when it cannot be read."""
    out = out if out is not None else sys.stdout
    try:
        lines = status_lines(settings)
    except FileNotFoundError as exc:
        print(f"status: target {exc} does not exist (no such file); check --target or [target] url "
              "(migrate and init-db create it)", file=sys.stderr)
        return ExitCode.USAGE
    except TargetError as exc:
        print(f"status: cannot read the target: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    out.write("\n".join(lines) + "\n")
    return ExitCode.OK
