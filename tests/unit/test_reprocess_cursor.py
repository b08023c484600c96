"""The read cursor under --reprocess: selected records are read, this run's own are resumed."""

from __future__ import annotations

from xmlshred.loading.reading import ReadCursor, ReadLimits
from xmlshred.loading.reprocess import Reprocess
from xmlshred.sources.types import SourceItem
from xmlshred.targets.processing_log import Settled


class ListSource:
    """Keys 1..n paged like a table source (keys only)."""

    def __init__(self, count: int) -> None:
        self.items = [SourceItem(key, key, f"key={key}") for key in range(1, count + 1)]

    def page(self, after, limit, key_start, key_end):
        return [item for item in self.items if after is None or item.position > after][:limit]


def _read_all(reprocess, log, run_id="now"):
    limits = ReadLimits(max_in_flight=10, batch_size=5, mapper_queue_batches=1, page_size=4,
                        reprocess=reprocess)
    cursor = ReadCursor(ListSource(10), lambda keys: {k: log[k] for k in keys if k in log}, limits, run_id)
    keys = []
    while batch := cursor.next_items(3):
        keys += [item.key for item in batch]
    return keys, cursor


def test_stale_reads_other_fingerprints_and_never_logged_records_and_resumes_its_own():
    log = {1: Settled("success", None, "old-run", "sha256:a"), 2: Settled("success", None, "old-run", "sha256:b"),
           3: Settled("success", None, "now", "sha256:b"), 4: Settled("failed", "map", "old-run", "sha256:b"),
           5: Settled("failed", "map", "old-run", ""), 6: Settled("success", None, "old-run", "")}
    keys, cursor = _read_all(Reprocess("stale", "sha256:b"), log)
    assert keys == [1, 5, 6, 7, 8, 9, 10]
    assert cursor.reloaded == 3 and cursor.resumed_ok == 1 and cursor.skipped_done == 2


def test_keys_reads_only_the_listed_keys():
    log = {1: Settled("success", None, "old-run", "sha256:a")}
    keys, cursor = _read_all(Reprocess("keys", "sha256:a", frozenset({1, 4, 99})), log)
    assert keys == [1, 4] and cursor.skipped_done == 8 and cursor.reloaded == 1
