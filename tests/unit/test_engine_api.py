"""The engines use only public names of other modules (``ast``): the supervisor's engine API.

An engine (``xmlshred/engine/``) is built from the supervisor's public functions
(preflight, lease, tables, run id, masked URL), ``ExitCode`` and the targets'
public methods. A private name (``_x``) of another module, reached as
``module._x`` or imported with ``from module import _x``, fails this test.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "xmlshred" / "engine"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_module(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError):
        return False


def private_uses(source: str, module: str) -> list[str]:
    """Each use of another module's private name in ``source`` (a module named ``module``), as text."""
    tree = ast.parse(source)
    modules: set[str] = set()  # local names bound to an imported module
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if node.module != module and _private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                elif _is_module(f"{node.module}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                and node.value.id in modules):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return sorted(found, key=lambda use: int(use.split()[1].rstrip(":")))


def test_the_check_finds_private_names_of_other_modules():
    source = ("from xmlshred import supervisor\nimport xmlshred.db.secrets as secrets\n"
              "from xmlshred.supervisor import _ping\n"
              "def f(x):\n    supervisor._preflight(x)\n    secrets._hidden\n    x._cursor()\n")
    assert private_uses(source, "xmlshred.engine.sample") == [
        "line 3: from xmlshred.supervisor import _ping",
        "line 5: supervisor._preflight", "line 6: secrets._hidden"]


def test_no_engine_module_uses_a_private_name_of_another_module():
    problems = []
    for path in sorted(ENGINE.glob("*.py")):
        module = "xmlshred.engine." + path.stem
        problems += [f"{path.relative_to(ROOT)} {use}" for use in private_uses(path.read_text(), module)]
    assert not problems, "engine modules use private names of other modules:\n" + "\n".join(problems)


def test_actors_get_a_retry_policy_and_workers_the_runs_map_options(tmp_path):
    from dataclasses import fields
    from datetime import datetime

    from xmlshred import supervisor
    from xmlshred.settings import load_settings
    from xmlshred.sources import SourceSpec

    config = tmp_path / "config.toml"
    config.write_text('[target]\nurl = "odbc:Driver={PostgreSQL Unicode};Server=db;Database=d;UID=u;PWD=s3cret"\n'
                      "connect_retries = 7\nretry_backoff_s = 0.25\nretry_backoff_max_s = 4\n"
                      "[contract]\nmax_document_bytes = 1000\nstrict_wellformed = true\n", encoding="utf-8")
    settings = load_settings(config, environ={})
    policy = supervisor.retry_policy(settings)
    assert (policy.connect_retries, policy.backoff_s, policy.backoff_max_s) == (7, 0.25, 4)
    assert [f.name for f in fields(policy)] == ["connect_retries", "backoff_s", "backoff_max_s"]
    assert "s3cret" not in repr(policy)

    now = datetime(2025, 1, 1)
    target = supervisor.run_target(settings)
    assert target.dialect.name == "postgresql"
    worker = supervisor._worker_config(settings, SourceSpec("files:/nowhere", "t", "c", "k"), target, now)
    assert worker.options == supervisor.map_options(settings, now)
    assert (worker.options.max_document_bytes, worker.options.strict_wellformed) == (1000, True)
    assert worker.target_dialect == "postgresql"


def test_the_ray_drivers_metrics_lines_end_a_torn_line_first(tmp_path):
    from xmlshred.engine.ray_engine import _Report
    from xmlshred.reporting.metrics import read_metrics
    from xmlshred.settings import load_settings

    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text('{"event": "progress", "run_id": "a"}\n{"event": "progr', encoding="utf-8")  # a crash
    config = tmp_path / "config.toml"
    config.write_text(f'[target]\nurl = "sqlite:///{tmp_path / "t.db"}"\n[log]\nmetrics = "{metrics}"\n',
                      encoding="utf-8")
    report = _Report(load_settings(config, environ={}), "run-b", total=0, shard_count=0)
    summary = report.finish({}, [], interrupted=False, lost=False)
    records = read_metrics(metrics)
    assert [(r["event"], r["run_id"]) for r in records] == [("progress", "a"), ("summary", "run-b")]
    assert records[-1]["engine"] == "ray" and summary.outcome == "finished"
