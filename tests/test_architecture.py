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


LAYERS = (
    ("errors", "facts", "hashing", "folder", "candidate", "cache", "cluster"),
    ("config",),
    ("scenario",),
    ("data",),
    ("optim",),
    ("territory",),
    ("quota",),
    ("comp",),
    ("coaching",),
    ("sim",),
    ("decision", "manifest", "preparation"),
    ("pipeline",),
    ("report",),
    ("batch",),
    ("workbench",),
    ("synthetic", "synthetic_crm", "schema_doc"),
    ("cli",),
    ("__main__",),
)
"""The data flow, bottom up: a module may import its own layer and lower ones only. Coaching sits below the
simulation because the simulator plays the coaching plan's uplift."""


def rank(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else module
    return next(k for k, layer in enumerate(LAYERS) if top in layer)


def upward(graph: nx.DiGraph) -> list[str]:
    out = []
    for a, b in graph.edges:
        same = a.split(".")[:2] == b.split(".")[:2]
        if not same and a != "spmopt" and rank(a) < rank(b):
            out.append(f"{a} -> {b}")
    return sorted(out)


def test_every_package_has_a_layer() -> None:
    tops = {m.split(".")[1] for m in import_graph().nodes if m.count(".")}
    assert not [t for t in tops if not any(t in layer for layer in LAYERS)]


def test_the_import_graph_runs_one_way_from_the_cli_down_to_config() -> None:
    assert upward(import_graph()) == []


def test_the_layer_check_sees_an_upward_import() -> None:
    graph = import_graph()
    graph.add_edge("spmopt.quota.plan", "spmopt.sim.run")  # quota setting must not depend on the simulator
    assert upward(graph) == ["spmopt.quota.plan -> spmopt.sim.run"]


LONG = 600
"""Lines above which a module must say in its docstring why it is one module ("One module, though long: ...")."""


def test_long_modules_say_why_they_are_one_module() -> None:
    unexplained = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > LONG and "though long" not in docstring:
            unexplained.append(f"{module_name(path)} ({text.count(chr(10))} lines)")
    assert unexplained == []
