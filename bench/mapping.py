"""Benchmark: milliseconds per document to parse, and to parse + map.

Prints these figures per corpus, on one core (``time.process_time``, best of
``--repeat`` runs):

  parse-only          lxml.etree.fromstring of the whole document
  horizon parse only  lxml parsing just the horizon prefix, the way
                      map_document parses (``parsing.parse_document``)
  map (no horizon)    parse the whole document + map (strict_wellformed=True)
  map (horizon)       parse up to the contract's horizon + map (the default)

and the mapper ratio: map (horizon) / horizon parse only, both as the ratio of
the best figures and as the median of paired runs (each run times the horizon
parse and the map back to back, so a drift of the machine's speed between
the two loops does not show as a change of ratio).
It prints which ``xmlshred`` it imports: run it from a worktree with
``PYTHONPATH=.`` to measure that worktree rather than the installed checkout.

By default it measures both product lines, each on its synthetic corpus
(``generator``, realistic profile) under its example contract: credit card
(``examples/credit_card``) and recreational lending
(``examples/recreational_lending``); ``--product cc|rl`` measures one.
With ``--corpus-dir`` (every *.xml in it) or ``--contract`` it measures that
corpus or contract alone; a contract without a generator of its own gets
documents built here from the conformance contract's shape (its business
part plus a bulky Reports section).

    python bench/mapping.py [--product cc|rl|both] [--contract PATH] [--corpus-dir DIR] [--count N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from lxml import etree  # noqa: E402

from xmlshred.contract import MapOptions, compile_contract, load_contract  # noqa: E402
from xmlshred.contract.parsing import parse_document  # noqa: E402
from xmlshred.vocab.results import MappedRecord  # noqa: E402

EXAMPLE_CONTRACT = ROOT / "examples" / "credit_card" / "contract.json"
EXAMPLE_CONTRACTS = {
    "cc": EXAMPLE_CONTRACT,
    "rl": ROOT / "examples" / "recreational_lending" / "contract.json",
}
CONFORMANCE = ROOT.parent / "shared" / "conformance"


def _built_corpus(count: int) -> list[bytes]:
    """~250 KB documents: a conformance-shaped business part, then a big Reports tail."""
    documents = []
    for key in range(1, count + 1):
        contacts = "".join(
            f'<contact con_id="{key * 10 + i}" ac_role_tp_c="{"PR" if i == 0 else "AUTHU"}" '
            f'first_name="Name{i}" ssn="666-0{i}-1234">'
            f'<contact_address address_tp_c="CURR" city="Town{i}" cell_phone="(801) 555-01{i:02d}" '
            f'residence_monthly_pymnt="{400 + i}.50" months_at_residence="{i}" years_at_residence="2"/>'
            f'<contact_address address_tp_c="PREV" city="Old{i}" months_at_residence="7"/>'
            f"</contact>"
            for i in range(3)
        )
        filler = " ".join(f'x{i}="filler value {i}"' for i in range(60))
        business = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Provenir><Request ID="{key}" Status="A">'
            f'<CustData><application app_receive_date="2025-10-14 20:9:54.0" signature_ind="Y" '
            f'paperless_flag="true" pricing_tier="59" campaign="X1" {filler}>'
            f'<app_product credit_line="1,500" late_fee="Up to $40.50" apr="2.345" '
            f'decision_date="10/14/2025" review_count="3" fico_score="712" fraud_ind="Y" '
            f'legacy_code="LC7" {filler}/>{contacts}</application></CustData></Request>'
        )
        lines = "".join(
            f'<Tradeline seq="{i}" creditor="CREDITOR {i}" balance="{i * 37}" limit="{i * 50}" '
            f'status="OPEN" opened="2019-01-{1 + i % 28:02d}"><Remark>remark text {i}</Remark></Tradeline>'
            for i in range(1400)
        )
        documents.append((business + f"<Reports><Bureau>{lines}</Bureau></Reports></Provenir>").encode())
    return documents


def _generated(product: str, count: int) -> list[bytes]:
    from xmlshred.generator.corpus import generate_documents

    return [d.to_bytes() for d in generate_documents(count, seed=7, profile="realistic", edge_share=0.0,
                                                     product=product)]


def _corpora(args) -> list[tuple[list[bytes], Path]]:
    """(documents, contract) pairs to measure, one per product line unless told otherwise."""
    if args.corpus_dir:
        files = sorted(Path(args.corpus_dir).glob("*.xml"))[: args.count]
        if not files:
            sys.exit(f"no *.xml files in {args.corpus_dir}")
        return [([f.read_bytes() for f in files], Path(args.contract or EXAMPLE_CONTRACT))]
    if args.contract is not None:
        contract = Path(args.contract).resolve()
        for product, example in EXAMPLE_CONTRACTS.items():
            if contract == example.resolve():
                return [(_generated(product, args.count), example)]
        return [(_built_corpus(args.count), contract)]
    products = tuple(EXAMPLE_CONTRACTS) if args.product == "both" else (args.product,)
    return [(_generated(product, args.count), EXAMPLE_CONTRACTS[product]) for product in products]


def _run(documents: list[bytes], work) -> float:
    """Milliseconds of process time per document for one pass over ``documents``."""
    start = time.process_time()
    for document in documents:
        work(document)
    return (time.process_time() - start) / len(documents) * 1000


def _time(label: str, documents: list[bytes], work, repeat: int) -> float:
    best = [_run(documents, work) for _ in range(repeat)]
    figure = min(best)
    print(f"  {label:<20} {figure:8.3f} ms/doc   (median of runs {statistics.median(best):.3f})")
    return figure


def _paired_ratios(documents: list[bytes], parse, mapping, repeat: int) -> list[float]:
    """map / parse per run, the two passes back to back."""
    return [_run(documents, mapping) / _run(documents, parse) for _ in range(repeat)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--product", choices=("both", *EXAMPLE_CONTRACTS), default="both",
                        help="product lines to measure with their example contracts (default both)")
    parser.add_argument("--contract", help="contract JSON (default: the example contract of each product)")
    parser.add_argument("--corpus-dir", help="directory of *.xml documents")
    parser.add_argument("--count", type=int, default=200, help="documents (default 200)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best counts")
    args = parser.parse_args()
    import xmlshred

    print(f"xmlshred from {Path(xmlshred.__file__).parent}")

    for documents, contract_path in _corpora(args):
        _measure(documents, contract_path, args.repeat)


def _measure(documents: list[bytes], contract_path: Path, repeat: int) -> None:
    contract = load_contract(contract_path)
    now = datetime(2025, 1, 1)
    horizon = compile_contract(contract, MapOptions(now=now))
    whole = compile_contract(contract, MapOptions(now=now, strict_wellformed=True))
    results = [horizon.map_document(d) for d in documents]
    mapped = sum(isinstance(r, MappedRecord) for r in results)
    rows = sum(r.row_count for r in results if isinstance(r, MappedRecord))
    sizes = [len(d) for d in documents]
    print(f"contract: {contract_path}  horizon: {'/' + '/'.join(horizon.horizon or ()) or 'none'}")
    print(f"corpus: {len(documents)} documents, mean {statistics.mean(sizes) / 1024:.1f} KB, "
          f"{mapped} mapped, {rows / max(mapped, 1):.1f} rows/record")
    parser_options = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

    def parse_only(document: bytes) -> None:
        etree.fromstring(document, etree.XMLParser(**parser_options))

    def horizon_parse_only(document: bytes) -> None:
        parse_document(document, horizon.horizon)

    _time("parse-only", documents, parse_only, repeat)
    prefix = _time("horizon parse only", documents, horizon_parse_only, repeat)
    _time("map (no horizon)", documents, whole.map_document, repeat)
    mapped_ms = _time("map (horizon)", documents, horizon.map_document, repeat)
    print(f"  mapper ratio = map (horizon) / horizon parse only = {mapped_ms / prefix:.2f}")
    paired = sorted(_paired_ratios(documents, horizon_parse_only, horizon.map_document, repeat))
    print(f"  paired runs: mapper ratio median {statistics.median(paired):.2f} "
          f"(range {paired[0]:.2f}..{paired[-1]:.2f})")


if __name__ == "__main__":
    main()
