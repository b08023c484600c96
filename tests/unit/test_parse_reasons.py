"""Parse errors name the cause in lxml's own words, with its line and column, never the text (issue 29, 4)."""

from __future__ import annotations

import pytest

from xmlshred.contract.parsing import DocumentRejected, _syntax_reason, parse_document
from xmlshred.reporting.report import failures_from_rows

NBSP = b"<?xml version='1.0'?>\n<Application>\n  <Contact last_name='Ruiz'>Jane&nbsp;Ruiz</Contact>\n</Application>"


def _reason(document, horizon=None) -> str:
    with pytest.raises(DocumentRejected) as rejected:
        parse_document(document, horizon)
    assert rejected.value.stage == "parse"
    return rejected.value.reason


@pytest.mark.parametrize("horizon", [None, ("Application", "Contact")])
@pytest.mark.parametrize("as_text", [False, True])
def test_an_undefined_entity_is_named_where_lxml_finds_it(horizon, as_text):
    document = NBSP.decode() if as_text else NBSP
    reason = _reason(document, horizon)
    assert reason.startswith("not well-formed XML: Entity 'nbsp' not defined, line 3, column ")
    assert "ERR_NAME_REQUIRED" not in reason and "line 1, column 2" not in reason
    assert "Jane" not in reason and "Ruiz" not in reason


def test_an_encoding_error_never_quotes_the_documents_bytes():
    reason = _reason(b"<a>caf\xe9 secret data</a>")
    assert "Invalid bytes in character encoding" in reason or "not proper UTF-8" in reason
    assert "secret" not in reason and "0x" not in reason


def test_quoted_bytes_in_a_libxml2_message_are_cut():
    from lxml import etree

    error = etree.XMLSyntaxError("Input is not proper UTF-8, indicate encoding !\nBytes: 0xE9 0x20 0x73 0x65",
                                 None, 1, 7)
    assert "0x" not in _syntax_reason(error)
    assert "Input is not proper UTF-8, indicate encoding" in _syntax_reason(error)


def test_the_report_groups_the_same_cause_at_different_positions():
    rows = [{"status": "failed", "stage": "parse", "reason": _reason(NBSP), "run_id": "r"},
            {"status": "failed", "stage": "parse", "reason": _reason(b"<a>\n\n<b>&nbsp;</b></a>"), "run_id": "r"}]
    assert failures_from_rows(rows, "r") == [("parse", "not well-formed XML: Entity 'nbsp' not defined", 2)]
