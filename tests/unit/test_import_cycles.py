"""No module of `roleplay/` imports itself through others, not even from inside a function.

A lazy import inside a function hides a cycle from Python's import machinery but not from a
reader: the two modules are still one concept split in two. The graph is read from the
source with `ast`, so the test sees every import, whichever branch or function holds it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import roleplay

PACKAGE = Path(roleplay.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, name: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """Return (module, imported names) for every import run at some point, at any depth."""
    found: list[tuple[str, list[str]]] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            # Annotations only: never executed, so they cannot make an import cycle.
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, [alias.name for alias in node.names]))
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """Return, for every module of `roleplay`, the `roleplay` modules it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges: set[str] = set()
        for base, names in _imports(tree, name, path.name == "__init__.py"):
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules]
            if submodules:
                edges.update(submodules)  # `from roleplay import mood` imports roleplay.mood
            if len(submodules) < len(names) or not names:
                edges.add(base)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle as [a, b, ..., a], or None if the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_find_cycle_sees_a_cycle_and_a_function_level_import() -> None:
    # The detector itself: a lazy import inside a function closes the loop a -> b -> a.
    source_b = "def f():\n    from roleplay.a import x\n"
    tree = ast.parse(source_b)
    assert _imports(tree, "roleplay.b", False) == [("roleplay.a", ["x"])]
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_relative_imports_resolve_to_the_package() -> None:
    tree = ast.parse("from .render import x\nfrom . import app\n")
    assert sorted(_imports(tree, "roleplay.web", True)) == [("roleplay.web", ["app"]),
                                                            ("roleplay.web.render", ["x"])]
    tree = ast.parse("from ..mood import Rung\n")
    assert _imports(tree, "roleplay.harness.plots", False) == [("roleplay.mood", ["Rung"])]


def test_the_graph_holds_the_known_edges() -> None:
    graph = import_graph()
    assert "roleplay.moves" in graph["roleplay.lexicon"]
    assert "roleplay.lexicon" in graph["roleplay.signals"]


def test_roleplay_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
