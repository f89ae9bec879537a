"""The districting engine (`solve_contiguous`): published Validi-Buchanan optima, connected districts, honest bounds.

Maine (county23, k = 2): 16 cut edges with contiguity, 8 without; New Mexico (county35, k = 3): 17
both ways (Validi & Buchanan 2022, tables 6 and 8). A small grid checks agreement with the general
Pyomo path, and a short time limit on West Virginia checks the report on expiry.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import networkx as nx
import pytest

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveStatus
from spmopt.territory.alignment import Alignment, score_alignment
from spmopt.territory.contiguous import district_layout, solve_contiguous
from spmopt.territory.districts_heuristic import balanced_districts, cut_edges
from spmopt.territory.exact import solve_exact
from spmopt.territory.inputs import Band, TerritoryInputs
from spmopt.territory.instances import read_district, to_inputs

DISTRICT = Path(__file__).resolve().parents[2] / "benchmarks" / "instances" / "district"
EXACT = SolverSettings(time_limit=60, mip_gap=0, threads=1)


def county(fips: str, k: int, contiguity: bool) -> TerritoryInputs:
    return to_inputs(read_district(DISTRICT / f"county{fips}.json", k, 0.005, contiguity))


def check(inp: TerritoryInputs, result: Alignment) -> None:
    """k districts within the band, objective = re-scored cut edges, bound <= objective, connected when required."""
    report = result.report
    assert result.method == "contiguous"
    assert report.bound is not None
    assert report.objective is not None
    assert report.bound <= report.objective + 1e-9
    assert score_alignment(inp, result.site_of) == pytest.approx(report.objective)
    districts: dict[str, set[str]] = {}
    for unit, site in result.site_of.items():
        districts.setdefault(site, set()).add(unit)
    assert len(result.site_of) == len(inp.units)
    assert len(districts) == inp.territories
    band = inp.bands[0]
    for site, part in districts.items():
        assert band.lower[site] - 1e-6 <= sum(band.values[u] for u in part) <= band.upper[site] + 1e-6
    if inp.contiguity:
        graph = nx.Graph(inp.edges)
        graph.add_nodes_from(inp.units)
        assert all(nx.is_connected(graph.subgraph(part)) for part in districts.values())


@pytest.mark.parametrize(
    ("fips", "k", "contiguity", "published"),
    [("23", 2, True, 16), ("23", 2, False, 8), ("35", 3, True, 17), ("35", 3, False, 17)],
    ids=["ME-contiguous", "ME-free", "NM-contiguous", "NM-free"],
)
@pytest.mark.slow  # 3-6 s each on 2 cores
def test_published_optimum(fips: str, k: int, contiguity: bool, published: int) -> None:
    inp = county(fips, k, contiguity)
    result = solve_contiguous(inp, EXACT)
    assert result.report.status == SolveStatus.OPTIMAL
    assert result.report.objective == pytest.approx(published)
    assert result.report.bound == pytest.approx(published)
    check(inp, result)


@pytest.mark.slow
def test_maine_free_optimum_is_disconnected() -> None:
    # 8 < 16, so the free optimum must split some district; the cut loop is what restores contiguity
    inp = county("23", 2, False)
    result = solve_contiguous(inp, EXACT)
    graph = nx.Graph(inp.edges)
    parts: dict[str, set[str]] = {}
    for unit, site in result.site_of.items():
        parts.setdefault(site, set()).add(unit)
    assert not all(nx.is_connected(graph.subgraph(p)) for p in parts.values())


def grid(contiguity: bool) -> TerritoryInputs:
    """A 2 x 4 grid, uneven weights, k = 3, band +-25% of the mean: small enough for the general Pyomo path."""
    rows, cols = 2, 4
    units = tuple(f"{r}{c}" for r in range(rows) for c in range(cols))
    weight = {u: float(3 + (int(u) * 7) % 5) for u in units}
    edges = tuple(
        sorted(
            [(f"{r}{c}", f"{r}{c + 1}") for r in range(rows) for c in range(cols - 1)]
            + [(f"{r}{c}", f"{r + 1}{c}") for r in range(rows - 1) for c in range(cols)]
        )
    )
    k = 3
    mean = sum(weight.values()) / k
    pairs = tuple((i, j) for i in units for j in units)
    graph = nx.Graph(edges)
    hops = dict(nx.all_pairs_shortest_path_length(graph))
    return TerritoryInputs(
        units=units,
        sites=units,
        fixed_sites=False,
        territories=k,
        pairs=pairs,
        distance=dict.fromkeys(pairs, 0.0),
        distance_weight=dict.fromkeys(units, 1.0),
        bands=(
            Band(
                "w",
                0.25,
                weight,
                dict.fromkeys(units, 0.75 * mean),
                dict.fromkeys(units, 1.25 * mean),
                dict.fromkeys(units, mean),
            ),
        ),
        compactness="cut_edges",
        contiguity=contiguity,
        edges=edges,
        roots={u: u for u in units},
        root_distance={u: {v: float(d) for v, d in hops[u].items()} for u in units},
    )


@pytest.mark.parametrize("contiguity", [True, False], ids=["contiguous", "free"])
@pytest.mark.slow
def test_agrees_with_general_path(contiguity: bool) -> None:
    inp = grid(contiguity)
    ours = solve_contiguous(inp, EXACT)
    general = solve_exact(inp, EXACT)
    assert ours.report.status == general.report.status == SolveStatus.OPTIMAL
    assert ours.report.objective == pytest.approx(general.report.objective)
    check(inp, ours)


def test_symmetry_breaking_keeps_one_centre_per_partition() -> None:
    # the heaviest unit can only be its own centre; every unit keeps at least its own pair
    inp = county("23", 2, True)
    layout = district_layout(inp)
    assert layout.symmetry_broken
    heaviest = max(range(len(inp.units)), key=lambda n: inp.bands[0].values[inp.units[n]])
    assert [j for i, j in layout.pairs if i == heaviest] == [heaviest]
    assert len(layout.pairs) < len(inp.pairs)


@pytest.mark.slow
def test_time_limit_gives_contiguous_incumbent_with_valid_bound() -> None:
    inp = county("54", 3, True)
    result = solve_contiguous(inp, SolverSettings(time_limit=3, mip_gap=0, threads=1))
    assert result.report.solve_seconds + result.report.build_seconds < 6
    # The engine starts from the annealing heuristic's plan (test_engine_starts_from_the_annealing_incumbent), so
    # even a 3 s limit ends with a contiguous incumbent.
    assert result.report.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL), result.report
    assert result.report.objective >= 23  # the published optimum
    assert result.report.bound is None or result.report.bound <= 23
    check(inp, result)


def test_labels_fall_back_to_the_general_path() -> None:
    inp = grid(True)
    labelled = dataclasses.replace(inp, labels=("A", "B", "C"))
    result = solve_contiguous(labelled, EXACT)
    assert result.method == "exact"


@pytest.mark.parametrize(
    ("fips", "k", "connected", "published", "restarts"),
    [pytest.param("23", 2, True, 16, 300, marks=pytest.mark.slow), ("16", 2, False, 10, 30)],  # 300 restarts: ~4 s
)
def test_heuristic_is_balanced_connected_and_deterministic(
    fips: str, k: int, connected: bool, published: int, restarts: int
) -> None:
    # a restart count (not the clock) ends the search, so two runs must agree exactly
    inst = read_district(DISTRICT / f"county{fips}.json", k, 0.005, connected)
    adjacency = [sorted(inst.graph.neighbors(u)) for u in range(inst.n)]
    runs = [
        balanced_districts(
            adjacency, inst.weight, k, inst.lower, inst.upper, connected, budget=60, max_restarts=restarts
        )
        for _ in range(2)
    ]
    assert runs[0].label == runs[1].label
    found = runs[0]
    assert found.label is not None
    assert found.cut_edges == cut_edges(adjacency, found.label) >= published
    for d in range(k):
        part = [u for u in range(inst.n) if found.label[u] == d]
        assert inst.lower <= sum(inst.weight[u] for u in part) <= inst.upper
        if connected:
            assert nx.is_connected(inst.graph.subgraph(part))


@pytest.mark.slow
def test_engine_starts_from_the_annealing_incumbent() -> None:
    inp = county("54", 3, True)
    result = solve_contiguous(inp, SolverSettings(time_limit=10, mip_gap=0, threads=1))
    assert result.details["seed_method"] == "annealing"
    assert result.details["heuristic_objective"] >= 23
    assert result.report.objective <= result.details["heuristic_objective"]
    check(inp, result)
