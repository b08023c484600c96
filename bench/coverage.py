"""Benchmark: what the mapping-path check (``contract.coverage``) costs a worker per document.

Prints, per product line (synthetic realistic corpus, its example contract),
milliseconds of CPU per document (``time.process_time``, best of ``--repeat``):

  map                 ``map_document`` (parse to the horizon + map), what a worker does anyway
  check, worst case   ``PathCoverage.observe`` looking for a path no document has (so every
                      document is parsed again and searched), the cost while a path stays unseen
  check, usual case   ``PathCoverage`` for the contract's real paths over the whole corpus: it
                      stops parsing once every path has been seen

and each check as a share of map. The worst case stops after ``CHECK_LIMIT``
documents per worker, so its share of a long run falls to ~0 too.

    PYTHONPATH=. python bench/coverage.py [--count N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

from xmlshred.contract import MapOptions, compile_contract, load_contract
from xmlshred.contract.coverage import PathCoverage, for_contract
from xmlshred.generator.corpus import generate_documents

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = {"cc": ROOT / "examples" / "credit_card" / "contract.json",
             "rl": ROOT / "examples" / "recreational_lending" / "contract.json"}


def _documents(product: str, count: int) -> list[bytes]:
    docs = generate_documents(count, seed=3, profile="realistic", edge_share=0.0, product=product)
    return [doc.to_bytes() for doc in docs]


def _best(repeat: int, work) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def measure(product: str, path: Path, count: int, repeat: int) -> str:
    """One product line's figures, as the line ``main`` prints."""
    contract = load_contract(path)
    compiled = compile_contract(contract, MapOptions(now=datetime(2025, 6, 1)))
    docs = _documents(product, count)

    def map_all():
        for doc in docs:
            compiled.map_document(doc)

    def worst():
        coverage = PathCoverage(["/Nowhere/At/All"], compiled.horizon, limit=len(docs) + 1)
        for doc in docs:
            coverage.observe(doc)

    def usual():
        coverage = for_contract(contract, compiled.horizon)
        for doc in docs:
            coverage.observe(doc)

    per_doc = 1000 / len(docs)
    mapped = _best(repeat, map_all) * per_doc
    worst_ms = _best(repeat, worst) * per_doc
    usual_ms = _best(repeat, usual) * per_doc
    return (f"{product}: {len(docs)} documents, ms CPU per document: map {mapped:.3f} | "
            f"check, worst case {worst_ms:.3f} ({worst_ms / mapped:.1%} of map) | "
            f"check, usual case {usual_ms:.4f} ({usual_ms / mapped:.2%} of map)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for product, path in CONTRACTS.items():
        print(measure(product, path, args.count, args.repeat))


if __name__ == "__main__":
    main()
