"""The package's folders are its layers: imports only run down, and no import cycle exists.

Every import in ``p2pchain/`` and ``frontend_api/`` is read from the source (module level,
inside functions, and under ``TYPE_CHECKING`` alike), so a lazy import cannot hide a dependency
that runs back up.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Each layer and its rank: a module may import its own layer and lower ranks, never a layer of
#: the same rank beside it. Shared helpers (the exception root, paths, the loopback server) sit
#: at the bottom; the package's ``__init__`` is the public facade above everything.
LAYERS: dict[str, int] = {
    "p2pchain._errors": 0,
    "p2pchain._paths": 1,
    "p2pchain._serve": 1,
    "p2pchain.compiler": 2,
    "p2pchain.wallet": 2,
    "p2pchain.ipfs": 2,
    "p2pchain.chain": 3,
    "p2pchain.market": 4,
    "p2pchain.indexer": 5,
    # messaging reads trades and listing documents (market) to find parties and contacts, and
    # stores attachments on IPFS; the demo and the front ends use it
    "p2pchain.messaging": 5,
    "p2pchain.demo": 6,
    "p2pchain.cli": 7,
    "frontend_api": 7,
    "p2pchain": 8,
}

#: Front ends that may call each other: ``p2pchain api serve`` starts the HTTP API.
FRONT_END_CALLS = {("p2pchain.cli", "frontend_api")}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in ("p2pchain", "frontend_api"):
        for path in sorted((ROOT / top).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every project module ``name`` imports (``from x import y`` counts ``x.y`` if a module)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target in MODULES:
                yield target


def _layer(module: str) -> str:
    best = ""
    for layer in LAYERS:
        if (module == layer or module.startswith(layer + ".")) and len(layer) > len(best):
            best = layer
    assert best, f"{module} belongs to no layer: add its folder to LAYERS"
    return best


GRAPH: dict[str, set[str]] = {
    name: {t for t in _imports(name, path) if t != name} for name, path in MODULES.items()
}


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        _layer(name)


def test_top_level_holds_only_small_shared_helpers() -> None:
    top = sorted(p.name for p in (ROOT / "p2pchain").glob("*.py"))
    assert top == ["__init__.py", "_errors.py", "_paths.py", "_serve.py"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_run_down(name: str) -> None:
    here = _layer(name)
    for target in sorted(GRAPH[name]):
        there = _layer(target)
        if there == here or (here, there) in FRONT_END_CALLS:
            continue
        assert LAYERS[there] < LAYERS[here], (
            f"{name} ({here}) imports {target} ({there}): imports must run down the layers"
        )
        # a package's __init__ may import its own modules; nobody below may import the facade
        assert there != "p2pchain"


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_checks_see_a_cycle_and_an_upward_import() -> None:
    """The graph checks can fail: a made-up upward import and a made-up cycle are caught."""
    saved = {k: set(v) for k, v in GRAPH.items()}
    try:
        GRAPH["p2pchain.chain._tx"].add("p2pchain.chain._sender")
        GRAPH["p2pchain.chain._sender"].add("p2pchain.chain._tx")
        assert any("p2pchain.chain._tx" in c for c in _cycles())
        assert LAYERS[_layer("p2pchain.market._client")] > LAYERS[_layer("p2pchain.chain._tx")]
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


def test_imports_named_in_the_makefile_and_scripts_exist() -> None:
    """`make solc` and friends run ``python -c "from p2pchain.x import y"``: a moved module
    must not leave a target that fails only when someone types it."""
    import importlib
    import re

    text = (ROOT / "Makefile").read_text() + (ROOT / ".ci" / "run").read_text()
    found = re.findall(r"from (p2pchain[\w.]*|frontend_api[\w.]*) import (\w+)", text)
    assert found, "the Makefile's import snippets were not found"
    for module, name in found:
        assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"
