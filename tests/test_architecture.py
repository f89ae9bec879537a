"""The package's import graph runs one way: no module imports, directly or through others, one that imports it
back (function-level imports count too: a cycle hidden in a function still ties the modules together)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "spmopt"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    known = {module_name(p) for p in PACKAGE.rglob("*.py")}
    for path in PACKAGE.rglob("*.py"):
        here = module_name(path)
        graph.add_node(here)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name in known and name != here:
                    graph.add_edge(here, name)
    return graph


def test_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert graph.number_of_nodes() > 50
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_the_graph_sees_a_cycle_when_there_is_one() -> None:
    graph = import_graph()
    graph.add_edge("spmopt.config", "spmopt.pipeline")  # config is the bottom layer: this closes a loop
    assert any(len(c) > 1 for c in nx.strongly_connected_components(graph))
