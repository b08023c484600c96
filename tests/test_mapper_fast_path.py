"""The specialised field readers give exactly what the generic path gives.

``mapper.field_reader`` picks a short reader per field at compile time;
with ``mapper.SPECIALISE`` off every field reads through
``_Document.locate``/``value``/``text``. Both product lines' realistic
corpora, edge cases included, are mapped both ways and must give identical
records: same keys, tables, rows, value types and warnings, or the same
failure.
"""

from __future__ import annotations

import pytest

from tests.contract_support import compiled_for
from tests.helpers import ROOT
from xmlshred.contract import mapper
from xmlshred.generator import generate_documents
from xmlshred.vocab.results import MappedRecord, RecordFailure

CONTRACTS = {
    "cc": ROOT / "examples" / "credit_card" / "contract.json",
    "rl": ROOT / "examples" / "recreational_lending" / "contract.json",
}


def _generic_compiled(path, monkeypatch, **options):
    with monkeypatch.context() as patch:
        patch.setattr(mapper, "SPECIALISE", False)
        return compiled_for(path, **options)


def _readers(compiled) -> set[str]:
    return {field.read.__name__ for plan in compiled.plans for column in plan.columns
            for field in column.fields}


def _exact(result) -> object:
    """The result with every value's type beside it (Decimal('1.0') == Decimal('1.00'))."""
    if isinstance(result, RecordFailure):
        return result
    return (result.key, result.warnings,
            [(name, [[(type(value).__name__, repr(value)) for value in row] for row in rows])
             for name, rows in result.tables])


@pytest.mark.parametrize("product", sorted(CONTRACTS))
@pytest.mark.parametrize("strict", [False, True])
def test_specialised_readers_map_the_realistic_corpus_like_the_generic_path(product, strict,
                                                                            monkeypatch):
    fast = compiled_for(CONTRACTS[product], strict_wellformed=strict)
    generic = _generic_compiled(CONTRACTS[product], monkeypatch, strict_wellformed=strict)
    assert mapper.SPECIALISE
    assert _readers(generic) == {"generic"}
    assert "read" in _readers(fast)  # the comparison is between two different paths

    documents = [d.to_bytes() for d in generate_documents(
        300, seed=41, profile="realistic", edge_share=0.3, product=product)]
    mapped = failed = warned = 0
    for number, document in enumerate(documents):
        expected = generic.map_document(document)
        actual = fast.map_document(document)
        assert _exact(actual) == _exact(expected), f"{product} document {number}"
        if isinstance(expected, MappedRecord):
            mapped += 1
            warned += bool(expected.warnings)
        else:
            failed += 1
    # The corpus reaches the interesting paths: rows, failures and warnings.
    assert mapped > 200 and failed > 0 and warned > 0, (mapped, failed, warned)
