"""reporting.bottleneck: the per-stage figures and the verdict, as pure functions."""

from __future__ import annotations

from xmlshred.reporting.bottleneck import stage_times, verdict


def _figures(records: int) -> dict:
    return stage_times(seconds=10.0, mappers=2, records=records, mapper_busy_s=19.0, flush_s=1.0,
                       read_cpu_s=0.5, transfer_cpu_s=1.0, map_cpu_s=18.0, insert_cpu_s=0.8)


def test_per_record_figures_divide_by_the_records_mapped():
    figures = _figures(1000)
    assert figures["time_by_stage"]["map"]["cpu_ms_per_record"] == 18.0
    assert figures["time_by_stage"]["read"]["cpu_ms_per_record"] == 0.5
    assert figures["busy"]["mappers"] == 0.95
    assert verdict(figures["busy"], 2, 1000)["bound"] == "mapping"


def test_a_run_that_mapped_nothing_has_no_per_record_figures_and_no_verdict():
    """A rerun with everything done maps no record: no figure per record (not CPU over one
    imaginary record) and no advice to add cores."""
    figures = _figures(0)
    assert all(stage["cpu_ms_per_record"] is None for stage in figures["time_by_stage"].values())
    assert figures["time_by_stage"]["map"]["cpu_s"] == 18.0
    found = verdict(figures["busy"], 2, 0)
    assert found["bound"] == "none" and "mapped no record" in found["text"]


def test_an_insert_bound_run_is_named_so():
    busy = {"mappers": 0.3, "insert": 0.9, "database_wait": 0.7}
    found = verdict(busy, 2, 500)
    assert found["bound"] == "insert" and found["text"].startswith("insert-bound")
