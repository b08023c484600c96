"""Synthetic corpus of credit-application XML documents (``cli.py generate``).

Public API:

- ``generate_documents(count, seed=0, profile="realistic", edge_share=0.05, start_key=1, product="cc")``
  yields ``GeneratedDocument`` values, deterministically; ``product`` is ``cc``
  (credit card, ``corpus``) or ``rl`` (recreational lending, ``recreational``);
  what both share (pools, builders, envelope, reports) is ``common``.
- ``write_sqlite(path, docs, ...)`` and ``write_files(folder, docs)`` store them.
- ``run_generate(count, out, ...)`` does both for a destination URL and returns figures.
"""

from .common import EDGE_CASES, FAILING_EDGE_CASES, GeneratedDocument
from .corpus import PRODUCTS, PROFILES, generate_document, generate_documents
from .writers import (
    SOURCE_TABLES,
    GeneratorError,
    file_name,
    parse_destination,
    run_generate,
    write_files,
    write_sqlite,
)

__all__ = [
    "EDGE_CASES",
    "FAILING_EDGE_CASES",
    "PRODUCTS",
    "PROFILES",
    "SOURCE_TABLES",
    "GeneratedDocument",
    "GeneratorError",
    "file_name",
    "generate_document",
    "generate_documents",
    "parse_destination",
    "run_generate",
    "write_files",
    "write_sqlite",
]
