"""Benchmark: milliseconds per document to parse, and to parse + map.

Prints these figures per corpus, on one core (``time.process_time``, best of
``--repeat`` runs):

  parse-only          lxml.etree.fromstring of the whole document
  horizon parse only  lxml parsing just the horizon prefix, the way
                      map_document parses (``parsing.parse_document``)
  read floor          parse the horizon, then read and strip each attribute the
                      contract maps on every element carrying a mapped tag: one
                      ``get`` per field and nothing else (no conversion, no rows),
                      the least any mapper written in Python does per document
  map (no horizon)    parse the whole document + map (strict_wellformed=True)
  map (horizon)       parse up to the contract's horizon + map (the default)

and the mapper ratio: map (horizon) / horizon parse only, both as the ratio of
the best figures and as the median of paired runs (each run times the horizon
parse and the map back to back, so a drift of the machine's speed between
the two loops does not show as a change of ratio). Every map pass starts with a newly
compiled contract whose memos were warmed up on ``--count`` other documents (``_fresh``):
the mapper remembers conversions and expression results across documents, and a pass over
documents it had mapped before would be answered from them, flattering the figure.
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
from xmlshred.contract.values import forget_conversions  # noqa: E402
from xmlshred.vocab.results import MappedRecord  # noqa: E402

EXAMPLE_CONTRACT = ROOT / "examples" / "credit_card" / "contract.json"
EXAMPLE_CONTRACTS = {
    "cc": EXAMPLE_CONTRACT,
    "rl": ROOT / "examples" / "recreational_lending" / "contract.json",
}


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


def _time(label: str, documents: list[bytes], make_work, repeat: int) -> float:
    """The best of ``repeat`` passes, each with a new ``make_work()``."""
    best = [_run(documents, make_work()) for _ in range(repeat)]
    figure = min(best)
    print(f"  {label:<20} {figure:8.3f} ms/doc   (median of runs {statistics.median(best):.3f})")
    return figure


def _paired_ratios(documents: list[bytes], parse, make_mapping, repeat: int) -> list[float]:
    """map / parse per run, the two passes back to back."""
    ratios = []
    for _ in range(repeat):
        mapping = make_mapping()
        ratios.append(_run(documents, mapping) / _run(documents, parse))
    return ratios


def _read_floor(contract, horizon):
    """Parse the horizon, then ``get`` and strip every mapped attribute of every element whose
    tag ends a mapped path (by tag alone: it may read a few elements more than the mapping)."""
    names: dict[str, set] = {}
    for mapping in contract.mappings:
        if mapping.xml_attribute and mapping.xml_path:
            names.setdefault(mapping.xml_path[-1], set()).add(mapping.xml_attribute)
    by_tag = {tag: tuple(attributes) for tag, attributes in names.items()}

    def read(document: bytes) -> None:
        for element in parse_document(document, horizon).iter():
            attributes = by_tag.get(element.tag)
            if attributes:
                get = element.get
                for name in attributes:
                    value = get(name)
                    if value:
                        value.strip()
    return read


def _fresh(contract, options: MapOptions, warm: list[bytes]):
    """``map_document`` of a newly compiled contract whose memos hold only what mapping the
    ``warm`` documents (others than those timed) left in them. The mapper memoises conversions
    and expression results across documents; a pass over documents it had mapped before would
    be answered from those memos, which no run's new documents are, while a running worker's
    memos hold the values of the documents it mapped before."""
    def make():
        forget_conversions()
        compiled = compile_contract(contract, options)
        for document in warm:
            compiled.map_document(document)
        return compiled.map_document
    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--product", choices=("both", *EXAMPLE_CONTRACTS), default="both",
                        help="product lines to measure with their example contracts (default both)")
    parser.add_argument("--contract", help="contract JSON (default: the example contract of each product)")
    parser.add_argument("--corpus-dir", help="directory of *.xml documents")
    parser.add_argument("--count", type=int, default=200,
                        help="documents timed (default 200), and as many others to warm the memos up")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best counts")
    args = parser.parse_args()
    import xmlshred

    print(f"xmlshred from {Path(xmlshred.__file__).parent}")

    args.count *= 2  # the second half warms the memos up before each map pass (see _fresh)
    for documents, contract_path in _corpora(args):
        half = len(documents) // 2
        _measure(documents[:half] or documents, contract_path, args.repeat, warm=documents[half:])


def _measure(documents: list[bytes], contract_path: Path, repeat: int, warm: list[bytes]) -> None:
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

    _time("parse-only", documents, lambda: parse_only, repeat)
    prefix = _time("horizon parse only", documents, lambda: horizon_parse_only, repeat)
    floor = _time("read floor", documents, lambda: _read_floor(contract, horizon.horizon), repeat)
    _time("map (no horizon)", documents, _fresh(contract, whole.options, warm), repeat)
    mapped_ms = _time("map (horizon)", documents, _fresh(contract, horizon.options, warm), repeat)
    print(f"  read floor ratio = read floor / horizon parse only = {floor / prefix:.2f}")
    print(f"  mapper ratio = map (horizon) / horizon parse only = {mapped_ms / prefix:.2f}")
    paired = sorted(_paired_ratios(documents, horizon_parse_only, _fresh(contract, horizon.options, warm), repeat))
    print(f"  paired runs: mapper ratio median {statistics.median(paired):.2f} "
          f"(range {paired[0]:.2f}..{paired[-1]:.2f})")


if __name__ == "__main__":
    main()
