"""Public benchmark instances with proven optima, solved through the territory MILP (`build_territory_model` + `solve`).

Data in tests/data/ (sources and citations in tests/data/README.md), read and converted by the benchmark
readers of `spmopt.territory.instances` (the same ones `spmopt bench` uses):

* OR-Library pmed1 (Beasley 1985): uncapacitated p-median, n = 100, p = 5, optimum 5819. Chosen-centre
  mode, sites = units, distance = all-pairs shortest paths of the instance graph, unit weights.
* Validi & Buchanan (2022) county dual graphs: Maine (county23, n = 16, k = 2) and New Mexico
  (county35, n = 33, k = 3). Partition into k districts with population in [L, U], minimising cut
  edges, with and without contiguity. Chosen-centre mode, compactness "cut_edges", one TOTPOP band.

Symmetry breaking for the districting instances: every district is given the most populous of its
counties as its centre, i.e. unit i may join centre j only if j ranks at or above i by population
(pairs pruned to rank(j) <= rank(i)). Any partition still has exactly one such representation (its
own most populous county), with the same cut edges, so the optimum is unchanged; this only removes
the many equivalent choices of centre, which otherwise make HiGHS slow (Maine with contiguity: about
60 s unpruned against under 1 s pruned on 2 cores). `test_maine_unpruned_model_agrees` checks the
unpruned model once, and `test_maine_published_optima_by_enumeration` checks the published Maine
values by brute force over all 2^15 bipartitions, independently of any solver.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pyomo.environ as pyo
import pytest

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveStatus, solve
from spmopt.territory.inputs import TerritoryInputs
from spmopt.territory.instances import read_district, read_pmedian, read_pmedian_graph, to_inputs
from spmopt.territory.model import build_territory_model

DATA = Path(__file__).resolve().parents[1] / "data"
EXACT = SolverSettings(time_limit=60, mip_gap=0)


# --------------------------------------------------------------------------------------------------
# OR-Library p-median
# --------------------------------------------------------------------------------------------------


def pmed_inputs(path: Path) -> TerritoryInputs:
    """Chosen-centre inputs through the benchmark reader: all n x n pairs, shortest-path distances, unit weights."""
    inp = to_inputs(read_pmedian(path))
    assert len(inp.distance) == len(inp.units) ** 2  # the graph is connected (the reader checks it too)
    return inp


def test_pmed1_optimum_5819() -> None:
    graph = read_pmedian_graph(DATA / "pmed1.txt")
    p = graph.p
    assert (graph.n, p) == (100, 5)
    assert graph.repeats == 2  # the trap: 200 lines but only 198 distinct edges
    assert len(graph.cost_of) == 198
    inp = pmed_inputs(DATA / "pmed1.txt")
    m = build_territory_model(inp)
    report = solve(m, EXACT)
    assert report.status == SolveStatus.OPTIMAL
    assert report.objective == pytest.approx(5819, abs=1e-6)
    # independent recomputation: every vertex to its nearest open median
    medians = [j for j in inp.sites if pyo.value(m.assign[j, j]) > 0.5]
    assert len(medians) == p
    nearest = sum(min(inp.distance[i, j] for j in medians) for i in inp.units)
    assert nearest == pytest.approx(5819, abs=1e-6)


# --------------------------------------------------------------------------------------------------
# Validi-Buchanan districting (min cut edges, population band, optional contiguity)
# --------------------------------------------------------------------------------------------------

# state file, k, L, U, published minimum cut edges without / with contiguity (tables 6 and 8/14)
MAINE = ("county23.json", 2, 660860, 667501, 8, 16)
NEW_MEXICO = ("county35.json", 3, 682962, 689824, 17, 17)


def read_county(name: str, k: int, contiguity: bool = False):
    """The benchmark reader's instance: nodes 0..n-1 in file order, TOTPOP weights, L and U from the source rule."""
    return read_district(DATA / name, k, 0.005, contiguity)


def districting_inputs(
    name: str, k: int, low: int, high: int, contiguity: bool, pruned: bool = True
) -> TerritoryInputs:
    inst = read_county(name, k, contiguity)
    assert (inst.lower, inst.upper) == (low, high)
    inp = to_inputs(inst)
    pop = inst.weight
    rank = {u: r for r, u in enumerate(sorted(inp.units, key=lambda u: (-pop[int(u)], int(u))))}
    pairs = tuple((i, j) for i, j in inp.pairs if not pruned or rank[j] <= rank[i])
    return dataclasses.replace(inp, pairs=pairs, distance=dict.fromkeys(pairs, 0.0))


def solve_districting(inp: TerritoryInputs) -> tuple[float, dict[str, str]]:
    m = build_territory_model(inp)
    report = solve(m, EXACT)
    assert report.status == SolveStatus.OPTIMAL, report
    site_of = {i: j for i, j in inp.pairs if pyo.value(m.assign[i, j]) > 0.5}
    return report.objective, site_of


def check_districts(inp: TerritoryInputs, site_of: dict[str, str], cut: float) -> bool:
    """Recompute from the plan: k districts, each in [L, U], cut edges = objective. Returns 'all contiguous'."""
    band = inp.bands[0]
    districts: dict[str, set[str]] = {}
    for u, j in site_of.items():
        districts.setdefault(j, set()).add(u)
    assert len(districts) == inp.territories
    for j, part in districts.items():
        assert band.lower[j] <= sum(band.values[u] for u in part) <= band.upper[j]
    assert sum(site_of[u] != site_of[v] for u, v in inp.edges) == round(cut)
    graph = nx.Graph(inp.edges)
    return all(nx.is_connected(graph.subgraph(part)) for part in districts.values())


@pytest.mark.parametrize("instance", [MAINE, NEW_MEXICO], ids=["ME", "NM"])
def test_population_bounds_match_the_source_rule(instance: tuple) -> None:
    # L = ceil((1 - 0.005) P / k), U = floor((1 + 0.005) P / k) as in the source's src/main.py
    name, k, low, high, _, _ = instance
    inst = read_county(name, k)
    total = sum(inst.weight.tolist())
    assert (math.ceil((1 - 0.005) * total / k), math.floor((1 + 0.005) * total / k)) == (low, high)
    assert (inst.lower, inst.upper) == (low, high)


@pytest.mark.parametrize(
    ("instance", "contiguity"),
    [
        (MAINE, False),
        (MAINE, True),
        (NEW_MEXICO, False),
        pytest.param(NEW_MEXICO, True, marks=pytest.mark.slow),  # about 8 s on 2 cores
    ],
    ids=["free-ME", "contiguous-ME", "free-NM", "contiguous-NM"],
)
def test_districting_published_optimum(instance: tuple, contiguity: bool) -> None:
    name, k, low, high, free_opt, contiguous_opt = instance
    inp = districting_inputs(name, k, low, high, contiguity)
    cut, site_of = solve_districting(inp)
    expected = contiguous_opt if contiguity else free_opt
    assert cut == pytest.approx(expected, abs=1e-6)
    connected = check_districts(inp, site_of, cut)
    if contiguity:
        assert connected
    elif free_opt < contiguous_opt:
        assert not connected  # below the contiguous optimum, some district must be disconnected


def test_maine_published_optima_by_enumeration() -> None:
    # Solver-free check of the published Maine values (8 free, 16 contiguous): all 2^15 bipartitions
    # (the first county fixed on side 0), balance by [L, U], count cut edges.
    name, k, low, high, free_opt, contiguous_opt = MAINE
    inst = read_county(name, k)
    graph = inst.graph
    units = sorted(graph.nodes)
    at = {u: i for i, u in enumerate(units)}
    n = len(units)
    side = (np.arange(1 << (n - 1))[:, None] >> np.arange(n - 1)[None, :]) & 1
    side = np.hstack([np.zeros((len(side), 1), dtype=side.dtype), side])  # (2^15, 16)
    weights = inst.weight[units]
    one = side @ weights
    balanced = (one >= low) & (one <= high) & (weights.sum() - one >= low) & (weights.sum() - one <= high)
    a, b = np.array([[at[u], at[v]] for u, v in graph.edges]).T
    cuts = (side[:, a] != side[:, b]).sum(axis=1)
    assert cuts[balanced].min() == free_opt
    contiguous = [
        c
        for row, c in zip(side[balanced], cuts[balanced], strict=True)
        if all(nx.is_connected(graph.subgraph([u for u in units if row[at[u]] == s])) for s in (0, 1))
    ]
    assert min(contiguous) == contiguous_opt


@pytest.mark.slow
def test_maine_unpruned_model_agrees() -> None:
    # The full Hess model (every unit may join every centre) reaches the same free optimum, 8; the
    # contiguous unpruned model also gives 16 but takes about a minute, so it is not run here.
    name, k, low, high, free_opt, _ = MAINE
    inp = districting_inputs(name, k, low, high, contiguity=False, pruned=False)
    assert len(inp.pairs) == len(inp.units) ** 2
    cut, site_of = solve_districting(inp)
    assert cut == pytest.approx(free_opt, abs=1e-6)
    check_districts(inp, site_of, cut)
