"""Where a run's time went, and which stage bounded it: the verdict every run's summary carries.

Stages (CPU from the actors' thread times and the workers' own measurements; wall time where a
stage has a wall clock of its own):

* ``read``: the reader's paging and done-key lookups, and the workers' source reads (CPU);
* ``transfer``: batches to the worker processes and results back (the mapper actors and the
  workers' pipe traffic, CPU);
* ``map``: parsing and mapping in the workers (CPU); its wall time is the mappers' busy time,
  the wall time the workers spent on batches (read, transfer and map inside them, and waiting
  for a core);
* ``insert``: the InsertActor's own CPU (buffering, statements, the driver); its wall time is the
  flushes' wall time;
* ``database wait``: the flushes' wall time the InsertActor did not spend on its own CPU:
  waiting for the database (its CPU, locks, commits to disk) and the network.

Busy shares are taken over the run's active window (from its first batch sent to its last commit:
start-up and stopping belong to no stage). The bounding stage is the busier of the two ends,
when it is busy more than half of that window:
mappers busy most of their capacity while the insert actor idles is *mapping-bound*; the insert
actor busy most of the run (flushing or waiting on the database) while the mappers wait for
credits is *insert-bound*. Neither busy: the run was short, or held back by ``max_in_flight``.
"""

from __future__ import annotations

from typing import Any

from xmlshred.reporting.summary import RunSummary

BUSY = 0.5
"""A stage busier than this share of the run's wall time (of the mappers' capacity for mapping) bounds it."""


def stage_times(*, seconds: float, mappers: int, records: int, mapper_busy_s: float, flush_s: float,
                read_cpu_s: float, transfer_cpu_s: float, map_cpu_s: float, insert_cpu_s: float) -> dict[str, Any]:
    """The summary's ``time_by_stage`` (CPU and wall seconds, CPU ms per record, by stage) and
    ``busy`` (mappers, insert actor: shares of their wall capacity over ``seconds``, the run's
    active window). A run that mapped no record has no per-record figures (None)."""
    database_wait = max(flush_s - insert_cpu_s, 0.0)

    def stage(cpu: float | None, wall: float | None) -> dict[str, float | None]:
        return {
            "cpu_s": None if cpu is None else round(cpu, 3),
            "cpu_ms_per_record": None if cpu is None or records <= 0 else round(cpu * 1000.0 / records, 3),
            "wall_s": None if wall is None else round(wall, 3),
        }

    capacity = seconds * max(mappers, 1)
    return {
        "time_by_stage": {
            "read": stage(read_cpu_s, None),
            "transfer": stage(transfer_cpu_s, None),
            "map": stage(map_cpu_s, mapper_busy_s),
            "insert": stage(insert_cpu_s, flush_s),
            "database wait": stage(None, database_wait),
        },
        "busy": {
            "mappers": round(min(mapper_busy_s / capacity, 1.0), 3) if capacity > 0 else 0.0,
            "insert": round(min(flush_s / seconds, 1.0), 3) if seconds > 0 else 0.0,
            "database_wait": round(min(database_wait / seconds, 1.0), 3) if seconds > 0 else 0.0,
        },
    }


def verdict(busy: dict[str, float], mappers: int, records: int = 1) -> dict[str, str]:
    """``{"bound": "mapping" | "insert" | "none", "text": …}`` from the ``busy`` shares; a run that
    mapped no record (everything already done) is bound by nothing worth naming."""
    if records <= 0:
        return {"bound": "none", "text": "no verdict: this run mapped no record (nothing to do)"}
    mapping, insert, wait = busy.get("mappers", 0.0), busy.get("insert", 0.0), busy.get("database_wait", 0.0)
    if insert >= BUSY and insert >= mapping:
        return {"bound": "insert", "text": (
            f"insert-bound: insert actor busy {insert:.0%} (waiting on the database {wait:.0%} of the run), "
            f"mappers busy {mapping:.0%}: larger flushes ([flush] max_records/max_rows), a faster target, "
            "or postgresql:// (COPY) for PostgreSQL")}
    if mapping >= BUSY:
        more = "add cores or mappers" if mappers > 1 else "add mappers ([actors] mappers) or cores"
        return {"bound": "mapping", "text": (
            f"mapping-bound: mappers busy {mapping:.0%}, insert actor idle {1 - insert:.0%}: {more}")}
    return {"bound": "none", "text": (
        f"neither end bounds the run: mappers busy {mapping:.0%}, insert actor busy {insert:.0%}: "
        "the reader or the source, the start-up of a short run, or [actors] max_in_flight held it back")}


def verdict_clause(summary: RunSummary) -> str:
    """`` | CPU/wall s read 0.15/- … | mapping-bound: …`` for the summary line ("" for a summary
    without the figures)."""
    if not summary.verdict:
        return ""
    times = ", ".join(f"{name} {_figure(figures.get('cpu_s'), 2)}/{_figure(figures.get('wall_s'), 2)}"
                      for name, figures in (summary.time_by_stage or {}).items())
    return (f" | CPU/wall s: {times}" if times else "") + f" | {summary.verdict['text']}"


def bottleneck_section(run_id: str, summary: RunSummary | None) -> str:
    """``report``'s per-stage table (CPU and wall time) and the verdict of one run."""
    title = f"Where the time went, run {run_id}"
    if summary is None or summary.time_by_stage is None:
        return f"{title}\n(no per-stage figures: the run has no summary, or an older xmlshred wrote it)"
    lines = [f"{title} (wall {float(summary.seconds or 0):,.1f} s, {summary.mappers or '?'} mappers)"]
    header = ("stage", "CPU ms/record", "CPU s", "wall s")
    rows = []
    for name, figures in summary.time_by_stage.items():
        rows.append((name, _figure(figures.get("cpu_ms_per_record"), 3), _figure(figures.get("cpu_s"), 2),
                     _figure(figures.get("wall_s"), 2)))
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(4)]
    lines.append("  ".join(header[i].ljust(widths[i]) if i == 0 else header[i].rjust(widths[i]) for i in range(4)))
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append("  ".join(row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(4)))
    busy = summary.busy or {}
    lines.append(f"(map wall = the mappers' busy time; insert wall = the flushes' wall time; busy: mappers "
                 f"{busy.get('mappers', 0):.0%} of their capacity, "
                 f"insert actor {busy.get('insert', 0):.0%} of the run's active window)")
    if summary.verdict:
        lines.append(f"verdict: {summary.verdict['text']}")
    return "\n".join(lines)


def _figure(value: Any, digits: int) -> str:
    return "-" if value is None else f"{float(value):,.{digits}f}"
