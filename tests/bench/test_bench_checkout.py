"""`spmopt bench` finds the benchmark package in the source checkout, and says so clearly where there is none; the
package's imports run one way."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import networkx as nx
import pytest
from cli_helpers import assert_clean_failure
from typer.testing import CliRunner

from spmopt.cli import bench as cli

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def not_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if spmopt ran without the test setup that puts benchmarks/ on sys.path."""
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p and Path(p).resolve() != BENCHMARKS])
    monkeypatch.delitem(sys.modules, cli.BENCH_PACKAGE, raising=False)


@pytest.mark.usefixtures("not_on_path")
def test_bench_from_a_checkout_finds_the_package() -> None:
    assert importlib.util.find_spec(cli.BENCH_PACKAGE) is None
    cli._use_bench()
    assert sys.path[0] == str(BENCHMARKS)
    assert importlib.util.find_spec(cli.BENCH_PACKAGE) is not None


@pytest.mark.usefixtures("not_on_path")
def test_bench_outside_a_checkout_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed spmopt has no benchmarks/ beside its package folder."""
    monkeypatch.setattr(cli, "CHECKOUT", tmp_path)
    result = CliRunner().invoke(cli.app, ["bench", "suite", "pmed", "--only", "pmed1"])
    assert_clean_failure(result, tmp_path, "spmopt bench runs from a source checkout", str(tmp_path / "benchmarks"))


def test_benchmark_package_has_no_import_cycle() -> None:
    """Function-level imports count too: a cycle hidden in a function still ties the modules together."""
    package = BENCHMARKS / cli.BENCH_PACKAGE
    files = {f"{package.name}.{p.stem}": p for p in package.glob("*.py") if p.stem != "__init__"}
    graph = nx.DiGraph()
    for here, path in files.items():
        graph.add_node(here)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                graph.add_edges_from((here, name) for name in names if name in files and name != here)
    assert graph.number_of_nodes() > 10
    assert graph.has_edge(f"{package.name}.compare", f"{package.name}.suites")  # the graph sees the imports
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"
