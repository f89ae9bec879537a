"""Public benchmark instances with proven optima, solved through the territory MILP (`build_territory_model` + `solve`).

Data in tests/data/ (sources and citations in tests/data/README.md):

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

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pyomo.environ as pyo
import pytest
from networkx.readwrite import json_graph

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveStatus, solve
from spmopt.territory.inputs import Band, TerritoryInputs
from spmopt.territory.model import build_territory_model

DATA = Path(__file__).resolve().parent / "data"
EXACT = SolverSettings(time_limit=60, mip_gap=0)


# --------------------------------------------------------------------------------------------------
# OR-Library p-median
# --------------------------------------------------------------------------------------------------


def read_pmed(path: Path) -> tuple[nx.Graph, int, int]:
    """(graph, p, duplicated pairs). Header `n m p`, then m lines `i j cost`.

    OR-Library convention: a vertex pair listed twice keeps its LAST cost (nx.Graph.add_edge overwrites).
    """
    tokens = [int(t) for t in path.read_text().split()]
    n, m, p = tokens[:3]
    graph = nx.Graph()
    graph.add_nodes_from(range(1, n + 1))
    duplicates = 0
    body = iter(tokens[3 : 3 + 3 * m])
    for i, j, cost in zip(body, body, body, strict=True):
        duplicates += graph.has_edge(i, j)
        graph.add_edge(i, j, cost=cost)
    assert len(tokens) == 3 + 3 * m
    return graph, p, duplicates


def pmed_inputs(graph: nx.Graph, p: int) -> TerritoryInputs:
    units = tuple(str(v) for v in sorted(graph.nodes))
    lengths = dict(nx.all_pairs_dijkstra_path_length(graph, weight="cost"))
    distance = {(str(i), str(j)): float(d) for i, row in lengths.items() for j, d in row.items()}
    assert len(distance) == len(units) ** 2  # the graph is connected
    return TerritoryInputs(
        units=units,
        sites=units,
        fixed_sites=False,
        territories=p,
        pairs=tuple(sorted(distance)),
        distance=distance,
        distance_weight=dict.fromkeys(units, 1.0),
    )


def test_pmed1_optimum_5819() -> None:
    graph, p, duplicates = read_pmed(DATA / "pmed1.txt")
    assert (graph.number_of_nodes(), p) == (100, 5)
    assert duplicates == 2  # the trap: 200 lines but only 198 distinct edges
    assert graph.number_of_edges() == 198
    inp = pmed_inputs(graph, p)
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


def read_county(name: str) -> tuple[nx.Graph, dict[str, float]]:
    """Dual graph with nodes renamed to their county FIPS code (GEOID10) and the TOTPOP of each."""
    with (DATA / name).open() as f:
        raw = json_graph.adjacency_graph(json.load(f))
    graph = nx.relabel_nodes(raw, {v: str(raw.nodes[v]["GEOID10"]) for v in raw.nodes})
    population = {u: float(graph.nodes[u]["TOTPOP"]) for u in graph.nodes}
    return graph, population


def districting_inputs(
    name: str, k: int, low: int, high: int, contiguity: bool, pruned: bool = True
) -> TerritoryInputs:
    graph, pop = read_county(name)
    units = tuple(sorted(graph.nodes))
    edges = tuple(sorted((min(u, v), max(u, v)) for u, v in graph.edges))
    rank = {u: r for r, u in enumerate(sorted(units, key=lambda u: (-pop[u], u)))}
    pairs = tuple((i, j) for i in units for j in units if not pruned or rank[j] <= rank[i])
    band = Band(
        measure="TOTPOP",
        tolerance=0.005,
        values=pop,
        lower=dict.fromkeys(units, float(low)),
        upper=dict.fromkeys(units, float(high)),
        target=dict.fromkeys(units, sum(pop.values()) / k),
    )
    extra = {}
    if contiguity:
        hops = dict(nx.all_pairs_shortest_path_length(graph))
        extra = {
            "roots": {u: u for u in units},
            "root_distance": {u: {v: float(d) for v, d in hops[u].items()} for u in units},
        }
    return TerritoryInputs(
        units=units,
        sites=units,
        fixed_sites=False,
        territories=k,
        pairs=pairs,
        distance=dict.fromkeys(pairs, 0.0),
        distance_weight=dict.fromkeys(units, 1.0),
        bands=(band,),
        compactness="cut_edges",
        contiguity=contiguity,
        edges=edges,
        **extra,
    )


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
    _, pop = read_county(name)
    total = sum(pop.values())
    assert (math.ceil((1 - 0.005) * total / k), math.floor((1 + 0.005) * total / k)) == (low, high)


@pytest.mark.parametrize("instance", [MAINE, NEW_MEXICO], ids=["ME", "NM"])
@pytest.mark.parametrize("contiguity", [False, True], ids=["free", "contiguous"])
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
    name, _, low, high, free_opt, contiguous_opt = MAINE
    graph, pop = read_county(name)
    units = sorted(graph.nodes)
    at = {u: i for i, u in enumerate(units)}
    n = len(units)
    side = (np.arange(1 << (n - 1))[:, None] >> np.arange(n - 1)[None, :]) & 1
    side = np.hstack([np.zeros((len(side), 1), dtype=side.dtype), side])  # (2^15, 16)
    weights = np.array([pop[u] for u in units])
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
