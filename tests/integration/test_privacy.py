"""No personal data in logs, metrics or processing_log: scan a real run for the documents' values."""

from __future__ import annotations

import re
import sqlite3

from lxml import etree

from tests.helpers import make_source, pipeline_config, read_summary, run_cli

PERSONAL = ("first_name", "middle_name", "last_name", "ssn", "email", "birth_date", "street_name",
            "street_num", "city", "zip", "cell_phone", "home_phone", "employer_name", "id_number",
            "annual_income", "income_amt", "ip_address", "device_id", "application_num")


def _personal_values(docs) -> set[str]:
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    values = set()
    for doc in docs:
        data = doc.xml.encode(doc.encoding, errors="replace")
        root = etree.fromstring(data, parser)
        if root is None:
            continue
        for element in root.iter():
            for name, value in element.attrib.items():
                value = value.strip()
                # Short values ("M", "12") would match by chance anywhere; names and numbers are long.
                if name in PERSONAL and len(value) >= 5:
                    values.add(value)
    return values


def test_no_document_value_reaches_logs_metrics_or_processing_log(tmp_path):
    docs = make_source(tmp_path / "source.db", 250, edge_share=0.4, seed=31)
    values = _personal_values(docs)
    assert len(values) > 500, "the corpus should hold plenty of personal values to look for"
    target = f"sqlite:///{tmp_path / 'target.db'}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target,
                             log__level="DEBUG", log__report_every_s=0.2)
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 3, result.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    assert summary.records_failed > 10

    connection = sqlite3.connect(tmp_path / "target.db")
    reasons = " | ".join(r or "" for (r,) in connection.execute("SELECT reason FROM processing_log"))
    connection.close()
    report = run_cli("report", "--config", str(config), "--target", target)
    assert report.returncode == 0, report.stderr
    texts = {
        "stderr": result.stderr + result.stdout,
        "log file": (tmp_path / "run.log").read_text(encoding="utf-8"),
        "metrics.jsonl": (tmp_path / "metrics.jsonl").read_text(encoding="utf-8"),
        "processing_log reasons": reasons,
        "report": report.stdout,
    }
    for where, text in texts.items():
        # Process ids are numbers the logs rightly name; one may equal a zip code by chance.
        text = re.sub(r"\b(pid|process) \d+", r"\1 N", text)
        words = set(re.split(r"[\s\"'=,;:()\[\]{}|]+", text))
        leaked = sorted(v for v in values if v in words or (len(v) >= 8 and v in text))
        assert not leaked, f"{where} contains document values, e.g. {leaked[:3]}"


def test_summary_counts_equal_the_database(tmp_path):
    make_source(tmp_path / "source.db", 150, edge_share=0.3, seed=33)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}", target)
    result = run_cli("migrate", "--config", str(config))
    assert result.returncode == 3, result.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    connection = sqlite3.connect(tmp_path / "target.db")
    counts = dict(connection.execute("SELECT status, COUNT(*) FROM processing_log GROUP BY status"))
    by_stage = dict(connection.execute(
        "SELECT stage, COUNT(*) FROM processing_log WHERE status='failed' GROUP BY stage"))
    rows = sum(connection.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
               for (t,) in connection.execute(
                   "SELECT name FROM sqlite_master WHERE type='table' "
                   "AND name NOT IN ('processing_log', 'xmlshred_runs', 'xmlshred_quality', 'xmlshred_rejects')"))
    connection.close()
    assert summary.records_ok == counts["success"]
    assert summary.records_failed == counts["failed"]
    assert summary.failures_by_stage == by_stage
    assert summary.rows == rows


def test_summary_gives_cpu_by_stage_that_adds_up(tmp_path):
    """Every stage of a real run costs something, and the stages never claim more CPU than the run used."""
    import resource

    make_source(tmp_path / "source.db", 120, profile="realistic", seed=5)
    config = pipeline_config(tmp_path, f"sqlite:///{tmp_path / 'source.db'}",
                             f"sqlite:///{tmp_path / 'target.db'}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_cli("migrate", "--config", str(config))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode in (0, 3), result.stderr[-3000:]
    summary = read_summary(tmp_path / "metrics.jsonl")
    stages = summary.cpu_ms_per_record
    assert set(stages) == {"read", "transfer", "map", "insert"}
    assert all(ms > 0 for ms in stages.values()), stages
    records = summary.records_ok + summary.records_failed
    used_ms = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000 / records
    assert sum(stages.values()) < used_ms
    assert stages["map"] == max(stages.values()), stages  # mapping is the work; the rest is plumbing
