"""Bounded memory: the peak RSS of the whole migrate process tree does not grow with the corpus."""

from __future__ import annotations

import time

import pytest

from tests.helpers import make_source, pipeline_config, read_summary
from tests.reliability.support import CliRun, TreeRssSampler

pytestmark = pytest.mark.reliability

SMALL, LARGE = 2_500, 20_000
"""Eight times the records; both runs and their corpora fit the 180 s per-test timeout."""
MAX_GROWTH = 0.25


def _peak_rss(tmp_path, count: int) -> tuple[int, int, float]:
    """Run migrate over ``count`` small-profile documents; (peak tree RSS bytes, samples, seconds)."""
    folder = tmp_path / f"n{count}"
    folder.mkdir()
    make_source(folder / "source.db", count, profile="small", seed=61)
    config = pipeline_config(folder, f"sqlite:///{folder / 'source.db'}", f"sqlite:///{folder / 'target.db'}",
                             actors__max_in_flight=2000, actors__batch_size=50, flush__max_records=500)
    run = CliRun("migrate", "--config", str(config))
    sampler = TreeRssSampler(run.pid, interval=0.05).start()
    try:
        code = run.wait(timeout=150)
        seconds = time.monotonic() - run.started
    finally:
        sampler.stop()
        run.ensure_dead()
    assert code == 0, run.stderr[-3000:]
    summary = read_summary(folder / "metrics.jsonl")
    assert summary.records_ok == count, summary
    assert sampler.samples > 10, "too few RSS samples to trust the peak"
    return sampler.peak, sampler.samples, seconds


def test_peak_rss_of_the_process_tree_does_not_grow_with_the_record_count(tmp_path):
    small_peak, small_samples, small_s = _peak_rss(tmp_path, SMALL)
    large_peak, large_samples, large_s = _peak_rss(tmp_path, LARGE)
    mb = 1024 * 1024
    figures = (f"peak RSS of cli.py + workers: {SMALL:,} docs -> {small_peak / mb:.1f} MB "
               f"({small_samples} samples, {small_s:.1f}s); {LARGE:,} docs -> {large_peak / mb:.1f} MB "
               f"({large_samples} samples, {large_s:.1f}s); growth {large_peak / small_peak - 1:+.1%}")
    print(f"\n[memory] {figures}")
    assert abs(large_peak - small_peak) < MAX_GROWTH * small_peak, figures
