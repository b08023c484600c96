"""Poison and hostile documents among good ones: each bad one fails alone, at the right stage,
with a reason that carries none of its values; the good ones all succeed."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import replace

import pytest

from tests.helpers import read_summary, run_cli
from tests.reliability.support import (
    file_text,
    make_corpus,
    planted_values_absent,
    read_log,
    source_config,
)

pytestmark = pytest.mark.reliability

BIG_BYTES = 50 * 1024 * 1024
LIMIT_BYTES = 10 * 1024 * 1024
KILL_MARKER = "KILLMARK-5d1e"


def _planted(key: int) -> str:
    """A value no engine would invent: seeing it anywhere outside the source is a leak."""
    return f"PLANTEDVAL{key}ZQX"


def _body(xml: str) -> str:
    """The document without its XML declaration (so a DOCTYPE can go in front)."""
    return xml.split("?>", 1)[1].lstrip() if xml.startswith("<?xml") else xml


def _with_first_name(xml: str, value: str) -> str:
    return re.sub(r'first_name="[^"]*"', f'first_name="{value}"', xml, count=1)


def _billion_laughs(xml: str, key: int) -> str:
    levels = [f'<!ENTITY lol0 "{_planted(key)}">']
    levels += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?>\n<!DOCTYPE Provenir [{"".join(levels)}]>\n'
            + _with_first_name(_body(xml), "&lol9;"))


def _external_entity(xml: str, url: str, key: int) -> str:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE Provenir [<!ENTITY ext SYSTEM "{url}">]>\n'
            + _with_first_name(_body(xml), f"{_planted(key)}&ext;"))


def _external_dtd(xml: str, url: str, key: int) -> str:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE Provenir SYSTEM "{url}">\n'
            + _with_first_name(_body(xml), _planted(key)))


def _big(xml: str, key: int) -> str:
    """A valid document over 50 MB: the padding follows the business data, as bureau reports do."""
    padding = "<Reports><Blob>" + _planted(key) + "A" * BIG_BYTES + "</Blob></Reports>"
    return xml.replace("</Provenir>", padding + "</Provenir>", 1)


class _Listener:
    """A local TCP server that counts connections: any XML fetch over the network would show up."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


def _planting(edit):
    """A transform that plants the record's value in its first contact's name, then applies ``edit``."""
    return lambda xml, key: edit(_with_first_name(xml, _planted(key)))


def _hostile_cases(listener_port: int) -> dict[int, tuple[str, str, object]]:
    """key -> (what, expected stage, transform(document text, key) -> hostile text)."""
    request_id = re.compile(r'(<Request) ID="\d+"')
    return {
        7: ("malformed attribute", "parse",
            _planting(lambda x: re.sub(r'(first_name="[^"]*")', r"\1 x<", x, count=1))),
        19: ("mismatched tag", "parse", _planting(lambda x: x.replace("</contact>", "</contactX>", 1))),
        23: ("billion laughs", "parse", _billion_laughs),
        31: ("external entity file", "parse", lambda x, k: _external_entity(x, "file:///etc/passwd", k)),
        37: ("external entity http", "parse", lambda x, k: _external_entity(x, "http://127.0.0.1:9/x", k)),
        41: ("external entity listener", "parse",
             lambda x, k: _external_entity(x, f"http://127.0.0.1:{listener_port}/x", k)),
        43: ("external DTD", "parse", lambda x, k: _external_dtd(x, f"http://127.0.0.1:{listener_port}/d", k)),
        53: ("50 MB document", "validate", _big),
        59: ("wrong root", "validate",
             _planting(lambda x: x.replace("<Provenir>", "<Other>", 1).replace("</Provenir>", "</Other>", 1))),
        61: ("missing key", "validate", _planting(lambda x: request_id.sub(r"\1", x, count=1))),
        67: ("key differs from the source's", "validate",
             _planting(lambda x: request_id.sub(r'\1 ID="999999"', x, count=1))),
        71: ("tinyint over range", "map",
             _planting(lambda x: re.sub(r'priority="\d+"', 'priority="999"', x, count=1))),
        73: ("worker-killing record", "map",
             _planting(lambda x: x.replace("<Provenir>", f"<Provenir><!-- {KILL_MARKER} -->", 1))),
    }


def test_hostile_documents_fail_alone_at_their_stage_without_leaking_values(tmp_path):
    listener = _Listener()
    try:
        cases = _hostile_cases(listener.port)

        def hostile(doc):
            if doc.key in cases:
                return replace(doc, xml=cases[doc.key][2](doc.xml, doc.key), edge_case="hostile")
            return doc

        corpus = make_corpus(tmp_path, 160, seed=51, transform=hostile, left_out=set(cases))
        docs = corpus.docs
        for key, (what, _, _) in cases.items():
            assert _planted(key) in docs[key - 1].xml or what == "billion laughs", f"{what}: nothing planted"
        assert len(docs[52].xml) > BIG_BYTES
        assert not corpus.failed, "the good documents must all map"

        target_url = f"sqlite:///{tmp_path / 'target.db'}"
        config = source_config(tmp_path, target_url, init_db=True, contract__max_document_bytes=LIMIT_BYTES)
        result = run_cli("migrate", "--config", str(config), env={"XMLSHRED_FAULT_KILL_MARKER": KILL_MARKER},
                         timeout=300)
    finally:
        listener.close()

    assert result.returncode == 3, result.stderr[-3000:]
    expected_failed = {key: stage for key, (_, stage, _) in cases.items()}
    corpus.assert_target_matches(target_url, failed=expected_failed)
    log = read_log(target_url, corpus.schema)
    reasons = {key: log[key][2] for key in cases}
    assert all(reasons.values()), f"a failure without a reason: {reasons}"
    assert "poison" in reasons[73] and "worker process died" in result.stderr
    assert "range" in reasons[71] and "999" not in reasons[71], reasons[71]
    assert listener.connections == 0, "a document made the engine open a network connection"

    texts = {
        "processing_log reasons": "\n".join(str(row[2]) for row in log.values()),
        "stderr": result.stderr,
        "stdout": result.stdout,
        "log file": file_text(tmp_path / "run.log"),
        "metrics": file_text(tmp_path / "metrics.jsonl"),
    }
    planted = [_planted(key) for key in cases] + [KILL_MARKER, "root:x:0:0"]
    assert not planted_values_absent(texts, planted), planted_values_absent(texts, planted)
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.records_ok == len(corpus.ok) and summary.records_failed == len(cases)
    print(f"\n[hostile input] records={len(docs)} good={len(corpus.ok)} bad={len(cases)} "
          + ", ".join(f"{cases[k][0]}={stage}" for k, stage in sorted(expected_failed.items())))


def test_a_50mb_document_under_the_default_limit_is_mapped(tmp_path):
    """The size limit is the only thing between a big document and the target: under it, it maps."""
    def big(doc):
        return replace(doc, xml=_big(doc.xml, doc.key)) if doc.key == 5 else doc

    corpus = make_corpus(tmp_path, 20, seed=52, transform=big)
    assert 5 in corpus.ok and not corpus.failed
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    config = source_config(tmp_path, target_url)
    result = run_cli("migrate", "--config", str(config), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    corpus.assert_target_matches(target_url)
    assert _planted(5) not in result.stderr
