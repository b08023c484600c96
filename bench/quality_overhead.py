#!/usr/bin/env python3
"""What counting changed values costs the inserter: the same flushes with and without the counts.

Maps N generated documents once (as the workers do: ReadyResults in SQLite's form), then, in
alternating rounds in one process, writes them in flushes of --flush records through a real
FlushWriter into a fresh SQLite target twice: once as mapped (their warnings counted into
xmlshred_quality in each flush) and once with the warnings stripped (nothing to count, as before
counting existed). Prints the inserter's CPU ms per record for both, the difference, and the
changed values and labels the corpus had. A figure, never an assertion.

Example: python bench/quality_overhead.py --count 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--flush", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=("realistic", "small"), default="realistic")
    args = parser.parse_args()

    from xmlshred.contract import MapOptions, compile_contract, load_contract
    from xmlshred.db.dialects import SQLITE
    from xmlshred.db.values import ReadyResults
    from xmlshred.generator.corpus import generate_documents
    from xmlshred.loading import FlushWriter, PendingRecord
    from xmlshred.messages import MappedItem
    from xmlshred.sources.types import SourceItem
    from xmlshred.targets import open_target, parse_target_url
    from xmlshred.vocab.results import ReadyRecord

    compiled = compile_contract(load_contract(ROOT / "examples" / "credit_card" / "contract.json"),
                                MapOptions(now=datetime(2025, 1, 1)))
    docs = list(generate_documents(args.count, seed=3, profile=args.profile, edge_share=0.02))
    ready = ReadyResults(compiled.schema, SQLITE)
    counted, stripped = [], []
    changed, labels = 0, set()
    for start in range(0, len(docs), 20):
        batch = docs[start:start + 20]
        for doc, result in zip(batch, ready([compiled.map_document(d.xml, expected_key=d.key) for d in batch]),
                               strict=True):
            if not isinstance(result, ReadyRecord):
                continue
            item = SourceItem(doc.key, doc.key, f"key={doc.key}")
            changed += sum(count for _, count in result.warnings)
            labels.update(label for label, _ in result.warnings)
            counted.append(PendingRecord(MappedItem(item, result), None, None))
            stripped.append(PendingRecord(MappedItem(item, dataclasses.replace(result, warnings=())), None, None))

    def run(records) -> float:
        with tempfile.TemporaryDirectory() as folder:
            target = open_target(parse_target_url(f"sqlite:///{folder}/t.db"), compiled.schema)
            target.create_tables(compiled.schema)
            writer = FlushWriter(target, compiled.schema, "bench", retries=0, backoff_s=0.01, backoff_max_s=0.01)
            started = time.process_time()
            for start in range(0, len(records), args.flush):
                writer.write(records[start:start + args.flush])
            spent = time.process_time() - started
            target.close()
        return spent * 1000.0 / len(records)

    with_counts, without = [], []
    for _ in range(args.rounds):
        without.append(run(stripped))
        with_counts.append(run(counted))
    a, b = statistics.median(without), statistics.median(with_counts)
    print(f"records={len(counted)} changed_values={changed} labels={len(labels)} flush={args.flush}")
    print(f"inserter CPU ms/record without counts: median {a:.4f} (runs {', '.join(f'{v:.4f}' for v in without)})")
    print(f"inserter CPU ms/record with counts:    median {b:.4f} (runs {', '.join(f'{v:.4f}' for v in with_counts)})")
    print(f"counting_overhead_ms_per_record={b - a:.4f} counting_overhead_pct={(b - a) / a * 100:.1f}")


if __name__ == "__main__":
    main()
