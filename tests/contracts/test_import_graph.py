"""The package's import graph has no circles, and the layers import only downwards.

The graph is read from the source (``ast``), not by importing: every ``import`` / ``from ... import``
statement of every module counts, at module level, inside functions (lazy imports) and under
``if TYPE_CHECKING:`` alike. A lazy import hides a circle from the interpreter, not from the reader.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "synthstruct"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _targets(module: str, node: ast.Import | ast.ImportFrom, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:  # relative import
            base = module.split(".")[: len(module.split(".")) + (1 if is_package else 0) - node.level]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        names = [source] + [f"{source}.{alias.name}" for alias in node.names]
    for name in names:
        while name and name not in MODULES:  # an attribute of a module -> the module
            name = name.rpartition(".")[0]
        if name and name != module:
            yield name


def import_graph() -> dict[str, set[str]]:
    """``module -> modules of synthstruct it imports`` (all import statements, wherever they are)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {t for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                         for t in _targets(module, node, path.name == "__init__.py")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _layer(module: str) -> str:
    """``synthstruct.privacy.metrics`` -> ``synthstruct.privacy``; top-level modules are their own layer."""
    return ".".join(module.split(".")[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    layers: dict[str, set[str]] = {}
    for module, targets in graph.items():
        layers.setdefault(_layer(module), set()).update(_layer(t) for t in targets if _layer(t) != _layer(module))
    return layers


def _explain(graph: dict[str, set[str]], component: list[str], by: Callable[[str], str] = lambda m: m) -> str:
    members = set(component)
    edges = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                   if by(a) in members and by(b) in members and by(a) != by(b))
    return "\n  ".join(edges)


def test_the_graph_is_read():
    graph = import_graph()
    assert len(graph) > 100
    # a module-level, a lazy (function-level) and a TYPE_CHECKING import are all edges
    assert "synthstruct.errors" in graph["synthstruct.schema.model"]
    assert "synthstruct.release.gate" in graph["synthstruct.release.pipeline"]
    assert "synthstruct.evaluation.metric" in graph["synthstruct.privacy.distances"]  # under TYPE_CHECKING


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import circles between modules:\n" + "\n".join(
        f"- {c}:\n  {_explain(graph, c)}" for c in found)


def test_no_package_imports_itself_back():
    """Between packages too: e.g. evaluation never imports privacy (metrics of privacy sit above it)."""
    graph = import_graph()
    found = cycles(package_graph(graph))
    assert not found, "import circles between packages:\n" + "\n".join(
        f"- {c}:\n  {_explain(graph, c, _layer)}" for c in found)


#: What the low layers may import from synthstruct (everything else of theirs is stdlib or third party).
LOW_LAYERS = {
    "synthstruct.errors": set(),
    "synthstruct.pii": {"synthstruct.errors", "synthstruct._yaml", "synthstruct._resources"},
}


@pytest.mark.parametrize("layer", sorted(LOW_LAYERS))
def test_low_layers_import_only_helpers(layer):
    graph = package_graph(import_graph())
    assert graph[layer] <= LOW_LAYERS[layer], f"{layer} imports {sorted(graph[layer] - LOW_LAYERS[layer])}"
