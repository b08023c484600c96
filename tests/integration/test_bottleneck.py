"""The bottleneck verdict, from real runs: one mapper is mapping-bound; a slow target is insert-bound.

Nothing is timed: the verdict compares shares of the run's own wall time (mappers busy against
the insert actor busy), each far from the other in these set-ups, so a loaded machine slows
both without turning one into the other.
"""

from __future__ import annotations

import pytest

from tests.helpers import make_source, pipeline_config, read_summary, run_cli, server_connection
from xmlshred.db.spec import libpq_url


def _run(tmp_path, target_url: str, count: int, **overrides) -> dict:
    make_source(tmp_path / "src.db", count, profile="realistic", seed=52)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'src.db'}", target_url, **overrides)
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode in (0, 3), result.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    report = run_cli("report", "--config", str(config))
    assert report.returncode == 0, report.stderr[-3000:]
    return {"summary": summary, "report": report.stdout, "log": result.stderr}


def test_one_mapper_is_mapping_bound(tmp_path):
    # One mapper on realistic documents, into SQLite with the usual flushes: the mapper is
    # busy nearly all the time and the insert actor mostly waits for its batches.
    # Credits never run short (max_in_flight well above the flush size, flushes often), so the
    # one mapper always has a batch waiting: what it does not map is its own time.
    run = _run(tmp_path, f"sqlite:///{tmp_path / 't.db'}", 500, actors__mappers=1,
               actors__max_in_flight=2000, flush__max_records=100, flush__max_interval_ms=200)
    summary = run["summary"]
    assert summary.verdict["bound"] == "mapping", summary.busy
    assert summary.busy["mappers"] > summary.busy["insert"]
    stages = summary.time_by_stage
    assert set(stages) == {"read", "transfer", "map", "insert", "database wait"}
    assert stages["map"]["cpu_s"] > 0 and stages["map"]["wall_s"] > 0 and stages["insert"]["wall_s"] > 0
    # the report names it, with the evidence, and so does the run's summary line
    assert "mapping-bound: mappers busy" in run["report"] and "insert actor idle" in run["report"]
    assert "Where the time went" in run["report"]
    assert "mapping-bound" in run["log"]


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["odbc", "psycopg"])
def test_a_slow_target_is_insert_bound(tmp_path, pg_database, path):
    # Every record its own transaction, each commit waiting for the disk (synchronous_commit on):
    # the insert actor waits on the database nearly all the run, the mappers on credits.
    admin = server_connection(f"odbc:{pg_database}")
    database = dict(part.split("=", 1) for part in pg_database.split(";") if "=" in part)["DATABASE"]
    admin.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = on')
    admin.close()
    if path == "psycopg":
        pytest.importorskip("psycopg")
        url = libpq_url(pg_database)
    else:
        url = f"odbc:{pg_database}"
    run = _run(tmp_path, url, 250, flush__max_records=1, actors__batch_size=1)
    summary = run["summary"]
    assert summary.verdict["bound"] == "insert", summary.busy
    assert summary.busy["insert"] > summary.busy["mappers"]
    assert summary.time_by_stage["database wait"]["wall_s"] > 0
    assert "insert-bound: insert actor busy" in run["report"]
