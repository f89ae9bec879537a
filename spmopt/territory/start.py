"""A first contiguous alignment for the exact model, so HiGHS starts from a feasible point.

The flow form of contiguity is exact but its LP relaxation is weak: on the 159-county Georgia demo
HiGHS found no feasible alignment in 120 s from scratch. The shortest-path form (see
`add_contiguity_shortest_path`) is far tighter and finds one in seconds; its alignment is fed to
the flow model as a MIP start, and the flow model then improves on it with a proven bound.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import pyomo.environ as pyo

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveReport, SolveStatus, solve
from spmopt.territory.inputs import TerritoryInputs
from spmopt.territory.model import build_territory_model


def contiguous_start(exact: pyo.ConcreteModel, inp: TerritoryInputs, settings: SolverSettings) -> SolveReport:
    """Solve the shortest-path model; when it finds an alignment, load it into `exact` as a start."""
    seed_model = build_territory_model(inp, contiguity="shortest_path")
    report = solve(seed_model, settings)
    if report.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        load_start(exact, seed_model, inp)
    return report


def load_start(exact: pyo.ConcreteModel, solved: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Copy shared variable values from `solved` and add the flows that make them feasible for `exact`."""
    for var in solved.component_objects(pyo.Var, active=True):
        target = exact.find_component(var.name)
        if target is None:
            continue
        for index, data in var.items():
            if data.value is not None:
                target[index].set_value(round(data.value) if data.is_integer() else data.value, skip_validation=True)
    if hasattr(exact, "flow"):
        _set_tree_flows(exact, inp)


def _set_tree_flows(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Flow along a BFS tree of each territory from its root: an arc carries its subtree's size - roots excluded."""
    site_of = {i: j for i, j in inp.pairs if (m.assign[i, j].value or 0) > 0.5}
    members: dict[str, list[str]] = defaultdict(list)
    for unit, site in site_of.items():
        members[site].append(unit)
    graph = nx.Graph(list(inp.edges))
    graph.add_nodes_from(inp.units)
    for arc in m.arcs:
        m.flow[arc].set_value(0.0)
    for site, units in members.items():
        root = inp.roots[site]
        tree = nx.bfs_tree(graph.subgraph(units), root)
        for node in reversed(list(nx.topological_sort(tree))):
            size = 1 + sum(m.flow[node, child].value for child in tree.successors(node))
            for parent in tree.predecessors(node):
                m.flow[parent, node].set_value(float(size))
    for u, v in inp.edges:
        m.cut[u, v].set_value(1.0 if site_of[u] != site_of[v] else 0.0)
