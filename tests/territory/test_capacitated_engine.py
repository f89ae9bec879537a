"""The capacitated p-median method: published optima, agreement with the Pyomo path, honest reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveStatus
from spmopt.territory.alignment import score_alignment
from spmopt.territory.capacitated import applies, solve_capacitated
from spmopt.territory.exact import solve_exact
from spmopt.territory.inputs import Band, TerritoryInputs
from spmopt.territory.instances import read_cpmp, to_inputs

CPMP = Path(__file__).resolve().parents[2] / "benchmarks" / "instances" / "cpmp"
SETTINGS = SolverSettings(time_limit=60, mip_gap=1e-4, threads=1)


def _loads(inp: TerritoryInputs, site_of: dict[str, str]) -> dict[str, float]:
    band = inp.bands[0]
    load: dict[str, float] = {}
    for unit, site in site_of.items():
        load[site] = load.get(site, 0.0) + band.values[unit]
    return load


def _check(inp: TerritoryInputs, alignment) -> None:
    """Every unit placed at an open centre that serves itself, capacities held, bound <= objective."""
    report = alignment.report
    assert set(alignment.site_of) == set(inp.units)
    centres = set(alignment.site_of.values())
    assert len(centres) == inp.territories
    assert all(alignment.site_of[c] == c for c in centres)
    band = inp.bands[0]
    for site, load in _loads(inp, alignment.site_of).items():
        assert load <= band.upper[site] + 1e-9
    assert report.bound is not None
    assert report.bound <= report.objective + 1e-9
    assert score_alignment(inp, alignment.site_of) == pytest.approx(report.objective, abs=1e-6)


def _random_inputs(n: int, p: int, capacity: float, seed: int) -> TerritoryInputs:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    demand = rng.integers(1, 20, size=n).astype(float)
    units = tuple(str(i) for i in range(n))
    pairs = tuple((a, b) for a in units for b in units)
    d = np.sqrt(((xy[:, None] - xy[None, :]) ** 2).sum(axis=2))
    band = Band(
        measure="demand",
        tolerance=0.0,
        values=dict(zip(units, demand.tolist(), strict=True)),
        lower=dict.fromkeys(units, 0.0),
        upper=dict.fromkeys(units, capacity),
        target=dict.fromkeys(units, capacity),
    )
    return TerritoryInputs(
        units=units,
        sites=units,
        fixed_sites=False,
        territories=p,
        pairs=pairs,
        distance={(a, b): float(d[int(a), int(b)]) for a, b in pairs},
        distance_weight=dict.fromkeys(units, 1.0),
        bands=(band,),
    )


def test_cpmp01_published_optimum():
    inp = to_inputs(read_cpmp(CPMP / "cpmp01.txt", distance="floor"))
    assert applies(inp)
    alignment = solve_capacitated(inp, SETTINGS)
    assert alignment.method == "capacitated"
    assert alignment.report.status == SolveStatus.OPTIMAL
    assert alignment.report.objective == pytest.approx(713.0)
    _check(inp, alignment)


@pytest.mark.slow
def test_sjc1_published_optimum():
    inp = to_inputs(read_cpmp(CPMP / "SJC1.dat", distance="euclid"))
    alignment = solve_capacitated(inp, SETTINGS)
    assert alignment.report.status == SolveStatus.OPTIMAL
    assert round(alignment.report.objective, 2) == 17288.99
    assert alignment.report.gap <= 1e-4
    _check(inp, alignment)


@pytest.mark.parametrize("seed", [1, 2])
def test_direct_path_agrees_with_pyomo_path(seed):
    inp = _random_inputs(30, 4, capacity=110.0, seed=seed)
    direct = solve_capacitated(inp, SolverSettings(time_limit=30, mip_gap=0.0, threads=1))
    pyomo = solve_exact(inp, SolverSettings(time_limit=30, mip_gap=0.0, threads=1))
    assert direct.report.status == pyomo.report.status == SolveStatus.OPTIMAL
    assert direct.report.objective == pytest.approx(pyomo.report.objective, rel=1e-7)
    _check(inp, direct)


def test_pruned_pairs_are_respected():
    full = _random_inputs(30, 4, capacity=110.0, seed=3)
    keep = tuple((a, b) for a, b in full.pairs if a == b or full.distance[a, b] < 40)
    inp = TerritoryInputs(
        units=full.units,
        sites=full.sites,
        fixed_sites=False,
        territories=full.territories,
        pairs=keep,
        distance={k: full.distance[k] for k in keep},
        distance_weight=full.distance_weight,
        bands=full.bands,
    )
    alignment = solve_capacitated(inp, SolverSettings(time_limit=30, mip_gap=0.0, threads=1))
    assert alignment.report.status == SolveStatus.OPTIMAL
    assert all((i, j) in inp.distance for i, j in alignment.site_of.items())
    _check(inp, alignment)


def test_capacity_below_total_demand_is_infeasible():
    inp = _random_inputs(20, 3, capacity=40.0, seed=4)
    alignment = solve_capacitated(inp, SolverSettings(time_limit=10, threads=1))
    assert alignment.report.status == SolveStatus.INFEASIBLE
    assert alignment.site_of == {}
    assert "capacit" in str(alignment.details["infeasible"])


def test_capacity_infeasible_only_by_single_sourcing():
    # Two centres of capacity 10 and three units of demand 6: total capacity 20 >= 18, yet no split exists.
    inp = _random_inputs(3, 2, capacity=10.0, seed=5)
    band = inp.bands[0]
    bands = (Band(band.measure, 0.0, dict.fromkeys(inp.units, 6.0), band.lower, band.upper, band.target),)
    inp = TerritoryInputs(
        units=inp.units,
        sites=inp.sites,
        fixed_sites=False,
        territories=2,
        pairs=inp.pairs,
        distance=inp.distance,
        distance_weight=inp.distance_weight,
        bands=bands,
    )
    alignment = solve_capacitated(inp, SolverSettings(time_limit=10, threads=1))
    assert alignment.report.status == SolveStatus.INFEASIBLE
