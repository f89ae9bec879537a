"""The p-median method of the territory engine: published optima, agreement with the Pyomo path, honest bounds.

OR-Library pmed1 and pmed2 (Beasley 1985; optima 5819 and 4093 from pmedopt.txt) check the whole
pipeline from the benchmark file. Small random instances compare the direct method against
`solve_exact` (the general Pyomo model) on the same `TerritoryInputs`, with and without pruned pairs.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from spmopt.config import SolverSettings
from spmopt.errors import ConfigError, DataError, InfeasibleModelError
from spmopt.optim.solve import SolveStatus
from spmopt.territory.alignment import score_alignment
from spmopt.territory.exact import solve_exact
from spmopt.territory.inputs import Band, TerritoryInputs
from spmopt.territory.instances import read_pmedian, to_inputs
from spmopt.territory.pmedian import solve_pmedian

PMED = Path(__file__).resolve().parents[2] / "benchmarks" / "instances" / "pmed"
EXACT = SolverSettings(time_limit=30, mip_gap=0, threads=1)


def random_inputs(n: int, p: int, seed: int, nearest: int | None = None, weighted: bool = True) -> TerritoryInputs:
    """n random points in a 100 x 100 square, Euclidean distances, optional pruning to each unit's nearest sites."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    units = tuple(f"u{i:02d}" for i in range(n))
    keep = np.ones((n, n), dtype=bool)
    if nearest is not None:
        keep = np.zeros((n, n), dtype=bool)
        keep[np.arange(n)[:, None], np.argsort(d, axis=1)[:, :nearest]] = True
        np.fill_diagonal(keep, True)
    pairs = tuple((units[i], units[j]) for i in range(n) for j in range(n) if keep[i, j])
    weights = rng.integers(1, 10, size=n).astype(float) if weighted else np.ones(n)
    return TerritoryInputs(
        units=units,
        sites=units,
        fixed_sites=False,
        territories=p,
        pairs=pairs,
        distance={(units[i], units[j]): float(d[i, j]) for i in range(n) for j in range(n) if keep[i, j]},
        distance_weight=dict(zip(units, weights.tolist(), strict=True)),
    )


def brute_force(inp: TerritoryInputs) -> float:
    """min over every p-subset of sites of sum_i min_j w_i d_ij (eligible pairs only)."""
    idx = {u: k for k, u in enumerate(inp.units)}
    n = len(inp.units)
    c = np.full((n, n), np.inf)
    for (i, j), dist in inp.distance.items():
        c[idx[i], idx[j]] = inp.distance_weight[i] * dist
    return min(float(c[:, list(s)].min(axis=1).sum()) for s in combinations(range(n), inp.territories))


def check_honest(inp: TerritoryInputs, alignment) -> None:
    """Objective = what the alignment scores; bound <= objective; every unit on an eligible pair; p centres."""
    report = alignment.report
    assert report.objective == pytest.approx(score_alignment(inp, alignment.site_of), rel=1e-12, abs=1e-9)
    assert report.bound is not None
    assert report.bound <= report.objective + 1e-9
    pairs = set(inp.pairs)
    assert all((u, s) in pairs for u, s in alignment.site_of.items())
    centres = set(alignment.site_of.values())
    assert len(centres) == inp.territories
    assert all(alignment.site_of[j] == j for j in centres)


@pytest.mark.parametrize(("name", "optimum"), [("pmed1", 5819.0), ("pmed2", 4093.0)])
def test_orlib_published_optimum(name: str, optimum: float) -> None:
    inp = to_inputs(read_pmedian(PMED / f"{name}.txt"))
    alignment = solve_pmedian(inp, EXACT)
    check_honest(inp, alignment)
    assert alignment.method == "pmedian"
    assert alignment.report.status == SolveStatus.OPTIMAL
    assert alignment.report.objective == optimum
    assert alignment.report.bound == optimum
    assert alignment.details["lagrangian_bound"] <= optimum


def test_direct_and_pyomo_paths_agree() -> None:
    inp = random_inputs(40, 4, seed=7)
    direct = solve_pmedian(inp, EXACT)
    pyomo = solve_exact(inp, EXACT)
    check_honest(inp, direct)
    assert direct.report.status == SolveStatus.OPTIMAL
    assert pyomo.report.status == SolveStatus.OPTIMAL
    assert direct.report.objective == pytest.approx(pyomo.report.objective, rel=1e-9)


def test_pruned_pairs_are_respected_and_optimal() -> None:
    inp = random_inputs(40, 3, seed=11, nearest=16)
    direct = solve_pmedian(inp, EXACT)
    check_honest(inp, direct)
    pyomo = solve_exact(inp, EXACT)
    assert direct.report.status == SolveStatus.OPTIMAL
    assert direct.report.objective == pytest.approx(pyomo.report.objective, rel=1e-9)


def test_small_instance_matches_brute_force() -> None:
    inp = random_inputs(14, 3, seed=3)
    alignment = solve_pmedian(inp, EXACT)
    check_honest(inp, alignment)
    assert alignment.report.objective == pytest.approx(brute_force(inp), rel=1e-12)


def test_every_unit_a_centre_when_p_equals_n() -> None:
    inp = random_inputs(12, 12, seed=5)
    alignment = solve_pmedian(inp, EXACT)
    check_honest(inp, alignment)
    assert alignment.report.objective == 0.0
    assert alignment.report.status == SolveStatus.OPTIMAL


def test_single_centre_is_the_weighted_1_median() -> None:
    inp = random_inputs(30, 1, seed=9)
    alignment = solve_pmedian(inp, EXACT)
    check_honest(inp, alignment)
    assert alignment.report.status == SolveStatus.OPTIMAL
    assert alignment.report.objective == pytest.approx(brute_force(inp), rel=1e-12)


def test_tiny_time_limit_still_returns_an_honest_alignment() -> None:
    inp = to_inputs(read_pmedian(PMED / "pmed6.txt"))
    alignment = solve_pmedian(inp, SolverSettings(time_limit=0.05, mip_gap=0, threads=1))
    check_honest(inp, alignment)
    assert alignment.report.bound <= 7824.0


def test_more_centres_than_sites_is_a_data_error() -> None:
    inp = random_inputs(5, 2, seed=1)
    bad = TerritoryInputs(**{f: getattr(inp, f) for f in inp.__dataclass_fields__} | {"territories": 6})
    with pytest.raises(DataError, match="territories = 6"):
        solve_pmedian(bad, EXACT)


def test_balance_bands_are_not_a_p_median() -> None:
    inp = random_inputs(5, 2, seed=1)
    band = Band("v", 0.1, dict.fromkeys(inp.units, 1.0), {}, {}, {})
    banded = TerritoryInputs(**{f: getattr(inp, f) for f in inp.__dataclass_fields__} | {"bands": (band,)})
    with pytest.raises(ConfigError, match="p-median"):
        solve_pmedian(banded, EXACT)


def test_pruning_that_leaves_no_feasible_choice_is_reported() -> None:
    inp = random_inputs(30, 2, seed=11, nearest=3)
    with pytest.raises(InfeasibleModelError, match="no choice of 2 centres"):
        solve_pmedian(inp, EXACT)
