"""A run's summary as a typed record: what both engines build and every reader reads.

``RunSummary`` is the final figures of one run. The pykka pipeline builds it
(``RunStats.summary``, then the reporter adds the tags and the coverage); the
Ray driver builds one from its shards' summaries. ``as_dict()`` is the
``summary`` object of metrics.jsonl, key for key; ``from_dict()`` reads such an
object back (``report``, ``chart``), older files' missing keys included.

Three parts of the record are not in every summary:

* the pipeline's figures (flush percentiles, mapper utilisation, the reader's
  counters, worker costs, CPU, time by stage, the verdict): one pipeline
  measures them; a Ray run's total has none (they do not add up across
  shards), and so no such keys in its metrics object;
* the tags (``target``, ``dry_run``, ``engine``), ``coverage`` and ``shards``:
  written only when set.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

_PIPELINE = {"part": "pipeline"}
"""A figure of one pipeline: written when the summary has them (a Ray run's total has none)."""
_OPTIONAL = {"part": "optional"}
"""Written only when set."""


def _pipeline() -> Any:
    return field(default=None, metadata=_PIPELINE)


def _optional() -> Any:
    return field(default=None, metadata=_OPTIONAL)


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """The final figures of one run (metrics.jsonl's ``summary`` object; the field order is its key order).

    ``started_at`` and ``finished_at`` are ISO 8601 texts as written; rates
    count successes only; ``skipped`` counts records found already done.
    """

    run_id: str
    outcome: str  # "finished", "interrupted", "error"
    started_at: str
    finished_at: str
    seconds: float
    records_ok: int
    records_failed: int
    records_per_minute: float
    failures_by_stage: dict[str, int]
    rows: int
    flushes: int
    flush_p50_ms: float | None = _pipeline()
    flush_p95_ms: float | None = _pipeline()
    mapper_utilisation: float | None = _pipeline()
    mappers: int
    sent: int | None = _pipeline()
    in_flight: int | None = _pipeline()
    skipped: int
    resumed: int  # settled by an earlier attempt of this run (a retried Ray shard)
    source_exhausted: bool | None = _pipeline()
    workers_replaced: int
    bytes_read: int | None = _pipeline()
    bytes_read_per_record: float | None = _pipeline()
    read_cpu_ms_per_record: float | None = _pipeline()
    map_cpu_ms_per_record: float | None = _pipeline()
    whole_reads: int | None = _pipeline()
    cpu_ms_per_record: dict[str, float] | None = _pipeline()  # by stage: read, transfer, map, insert
    quality: dict[str, int]  # "kind:table.column" -> values the contract's rules changed
    quality_by_kind: dict[str, int]
    rejects: int
    skipped_rejects: int
    time_by_stage: dict[str, dict[str, float | None]] | None = _pipeline()  # reporting.bottleneck
    busy: dict[str, float] | None = _pipeline()
    verdict: dict[str, str] | None = _pipeline()  # {"bound", "text"}
    shards: list[dict[str, Any]] | None = _optional()  # a Ray run: one object per shard
    target: str | None = _optional()  # the masked target URL
    dry_run: bool | None = _optional()
    engine: str | None = _optional()  # "ray" for a Ray run
    coverage: dict[str, Any] | None = _optional()  # reporting.coverage

    @property
    def has_pipeline_figures(self) -> bool:
        """Whether the summary holds one pipeline's own figures (a Ray run's total does not)."""
        return any(getattr(self, f.name) is not None for f in _FIELDS if _part(f) == "pipeline")

    def as_dict(self) -> dict[str, Any]:
        """The metrics.jsonl ``summary`` object of the run."""
        pipeline = self.has_pipeline_figures
        out: dict[str, Any] = {"event": "summary"}
        for f in _FIELDS:
            value = getattr(self, f.name)
            if (_part(f) == "pipeline" and not pipeline) or (_part(f) == "optional" and value is None):
                continue
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> RunSummary:
        """A summary from a metrics.jsonl ``summary`` object; keys an older xmlshred did not write
        get empty values (0, "", {} or None), unknown keys are left out. Raises ``KeyError``
        without a ``run_id``."""
        values = {f.name: obj[f.name] if f.name in obj else _empty(f) for f in _FIELDS}
        values["run_id"] = str(obj["run_id"])
        return cls(**values)


_FIELDS = dataclasses.fields(RunSummary)


def _part(f: dataclasses.Field) -> str | None:
    return f.metadata.get("part")


def _empty(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    kind = str(f.type).split("[", 1)[0]
    return {"int": 0, "float": 0.0, "str": "", "dict": {}}[kind]
