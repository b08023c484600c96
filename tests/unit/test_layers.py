"""The import layers of xmlshred, checked by reading every module's imports (``ast``).

The rules (arrows point down; a package may import itself):

* ``vocab``    (shared values: schema, results, names, exit codes) imports nothing of xmlshred.
* ``contract`` (the mapping engine) imports only ``vocab``.
* ``db``       (dialects, SQL, URLs, secrets, connections) imports only ``vocab``.
* ``sources``  and ``targets`` import ``db`` and ``vocab`` (never each other, never ``contract``).
* ``messages`` imports ``vocab`` (and ``sources.types``, the plain items a batch carries).
* ``loading``  imports ``targets``, ``sources`` (the read cursor), ``db``, ``vocab``, ``messages``.
* ``settings`` imports ``db`` (URL syntax, the masker, the ODBC model) and ``vocab``.
* ``reporting`` imports ``targets``, ``db``, ``vocab``, ``messages``, ``contract`` (``report`` reads the contract).
* ``workers``  imports ``contract``, ``vocab``, ``sources`` (a worker reads its own documents) and ``db``
  (dialect records, ``db.values``: rows made ready).
* ``actors``   import the layers below; only ``supervisor`` and ``cli`` import ``actors``.
* ``generator`` (a dev/bench tool) imports ``db`` and ``vocab``; nothing imports it but ``cli`` (``generate``).
* nothing imports ``supervisor`` but ``cli`` and ``engine`` (a shard runs ``run_migration``), nor ``cli``.

The package root (``xmlshred/__init__.py``: version, data_root) may be imported by anyone.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "xmlshred"

ALLOWED: dict[str, set[str]] = {
    "vocab": set(),
    "contract": {"vocab"},
    "db": {"vocab"},
    "sources": {"db", "vocab"},
    "targets": {"db", "vocab"},
    "messages": {"vocab", "sources"},
    "loading": {"targets", "sources", "db", "vocab", "messages"},
    "settings": {"db", "vocab"},
    "reporting": {"targets", "db", "vocab", "messages", "contract"},
    "workers": {"contract", "vocab", "sources", "db"},
    "generator": {"db", "vocab"},
    "actors": {"contract", "db", "vocab", "sources", "targets", "loading", "messages", "reporting", "workers",
               "settings"},
    "supervisor": {"actors", "contract", "db", "vocab", "sources", "targets", "loading", "messages", "reporting",
                   "workers", "settings"},
    "engine": {"supervisor", "contract", "db", "vocab", "sources", "targets", "reporting", "settings"},
    "verify": {"contract", "db", "vocab", "sources", "targets", "loading", "workers"},
    "cli": {"verify",
            "engine", "supervisor", "actors", "contract", "db", "vocab", "sources", "targets", "loading", "messages",
            "reporting", "workers", "settings", "generator"},
    "__main__": {"cli"},
}
"""Layer -> the other layers it may import."""

ROOT_MODULE = ""  # ``import xmlshred`` / ``from xmlshred import __version__``


def layer_of(module: str) -> str:
    """``xmlshred.db.sql`` -> ``db``; ``xmlshred`` -> ""."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT_MODULE


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every xmlshred import in the file, lazy ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from xmlshred import supervisor`` imports a layer by name
            if target == "xmlshred":
                found += [(node.lineno, f"xmlshred.{alias.name}") for alias in node.names
                          if (PACKAGE / alias.name).exists() or (PACKAGE / f"{alias.name}.py").exists()]
    return [(line, name) for line, name in found if name == "xmlshred" or name.startswith("xmlshred.")]


def violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source_layer = layer_of(module_name(path))
        if source_layer == ROOT_MODULE:
            continue
        assert source_layer in ALLOWED, f"{path}: layer {source_layer!r} has no rule in tests/test_layers.py"
        for line, target in imported_modules(path):
            target_layer = layer_of(target)
            if target_layer in (ROOT_MODULE, source_layer):
                continue
            if target_layer not in ALLOWED[source_layer]:
                problems.append(f"{path.relative_to(ROOT)}:{line}: {source_layer} imports {target}")
    return problems


def test_every_import_follows_the_layer_rules():
    assert violations() == []


def test_the_check_sees_a_forbidden_import(tmp_path, monkeypatch):
    """The checker itself works: a vocab module importing contract is reported (and a lazy one too)."""
    fake = tmp_path / "xmlshred"
    (fake / "vocab").mkdir(parents=True)
    (fake / "vocab" / "bad.py").write_text("def f():\n    from xmlshred.contract import loader\n")
    (fake / "db").mkdir()
    (fake / "db" / "ok.py").write_text("from xmlshred.vocab import names\nfrom . import ok\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert violations() == ["xmlshred/vocab/bad.py:2: vocab imports xmlshred.contract"]


def _loaded_after(statement: str) -> set[str]:
    script = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_messages_and_targets_do_not_load_the_contract_engine():
    for statement in ("import xmlshred.messages", "import xmlshred.targets", "import xmlshred.settings"):
        loaded = _loaded_after(statement)
        assert not {m for m in loaded if m.startswith("xmlshred.contract")}, statement
        assert "pyodbc" not in loaded, statement


def module_graph() -> dict[str, set[str]]:
    """Module -> the xmlshred modules it imports at module level (``TYPE_CHECKING`` blocks included,
    imports inside functions left out: they run later and cannot make a cycle at import time)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        nodes = list(tree.body)
        while nodes:
            node = nodes.pop()
            if isinstance(node, ast.If | ast.Try):
                nodes += node.body + node.orelse + getattr(node, "finalbody", []) + \
                    [n for handler in getattr(node, "handlers", []) for n in handler.body]
            elif isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    if f"{target}.{alias.name}" in modules:
                        edges.add(f"{target}.{alias.name}")
                    elif target in modules:
                        edges.add(target)
        edges.discard(name)
        graph[name] = edges
    return graph


def test_no_import_cycle_between_modules():
    """No import cycle between modules (e.g. db.dialects <-> db.sql, contract.compiler <-> contract.mapper)."""
    graph = module_graph()
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []
