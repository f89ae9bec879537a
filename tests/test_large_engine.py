"""The large-design method on a small ZIP instance: contiguous, balanced, certified, deterministic."""

from __future__ import annotations

import dataclasses

import pytest

from spmopt.bench.scale import check_alignment, make_scale_inputs
from spmopt.config import SolverSettings
from spmopt.errors import ConfigError, InfeasibleModelError
from spmopt.optim.solve import SolveStatus
from spmopt.territory.alignment import score_alignment
from spmopt.territory.large import solve_large

SETTINGS = SolverSettings(time_limit=60, mip_gap=1e-4, threads=1)


@pytest.fixture(scope="module")
def small():
    inp = make_scale_inputs(n_units=2000, k=20, seed=7)
    return inp, solve_large(inp, SETTINGS)


def test_small_design_is_contiguous_balanced_and_certified(small) -> None:
    inp, result = small
    assert set(result.site_of) == set(inp.units)
    assert all((u, s) in inp.distance for u, s in result.site_of.items())
    contiguous, worst = check_alignment(inp, result.site_of)
    assert contiguous
    assert worst <= inp.bands[0].tolerance * 100 + 1e-6
    report = result.report
    assert report.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert report.bound <= report.objective + 1e-6
    assert report.gap <= 0.02
    assert report.objective == pytest.approx(score_alignment(inp, result.site_of), rel=1e-12)


def test_small_design_needed_mending(small) -> None:
    _, result = small
    assert result.details["broken_after_rounding"] > 0
    assert result.details["neighbourhood_resolves"]


def test_same_seed_same_alignment() -> None:
    first = solve_large(make_scale_inputs(n_units=600, k=6, seed=11), SETTINGS)
    again = solve_large(make_scale_inputs(n_units=600, k=6, seed=11), SETTINGS)
    assert again.site_of == first.site_of
    assert again.report.objective == first.report.objective


def test_instance_is_deterministic_and_connected() -> None:
    a = make_scale_inputs(n_units=600, k=6, seed=3)
    b = make_scale_inputs(n_units=600, k=6, seed=3)
    assert a.units == b.units
    assert a.edges == b.edges
    assert a.roots == b.roots
    assert a.bands[0].values == b.bands[0].values
    assert len(a.pairs) == 600 * 6
    assert make_scale_inputs(n_units=600, k=6, seed=4).units != a.units


def test_chosen_centre_mode_is_refused() -> None:
    inp = dataclasses.replace(make_scale_inputs(n_units=300, k=3, seed=1), fixed_sites=False)
    with pytest.raises(ConfigError, match="fixed rep sites"):
        solve_large(inp, SETTINGS)


def test_impossible_balance_is_reported() -> None:
    inp = make_scale_inputs(n_units=300, k=3, seed=1)
    band = inp.bands[0]
    tight = dataclasses.replace(band, lower=dict.fromkeys(band.lower, band.target[inp.sites[0]] * 1.5))
    with pytest.raises(InfeasibleModelError, match="balance"):
        solve_large(dataclasses.replace(inp, bands=(tight,)), SETTINGS)


def test_regrow_reconnects_detached_pieces(small) -> None:
    import numpy as np

    from spmopt.territory.large import _State, broken_territories, detach_pieces, index_inputs, regrow

    inp, result = small
    ix = index_inputs(inp)
    site = {s: j for j, s in enumerate(inp.sites)}
    lab = np.array([site[result.site_of[u]] for u in inp.units])
    st = _State(ix, len(inp.units), len(inp.sites), lab)
    roots = set(ix.root.tolist())
    # Send a non-root unit to an eligible territory it does not touch: that territory is now split.
    unit, far = next(
        (i, j)
        for i in range(st.n)
        if i not in roots
        for j in sorted(st.cost[i])
        if j != st.lab[i] and all(st.lab[v] != j for v in st.nb[i])
    )
    st.move(unit, far)
    assert far in broken_territories(st)
    assert detach_pieces(st) >= 1
    regrow(st)
    assert not broken_territories(st)
    contiguous, _ = check_alignment(inp, {u: inp.sites[j] for u, j in zip(inp.units, st.lab, strict=True)})
    assert contiguous


def test_root_distance_order_gives_contiguous_result() -> None:
    inp = make_scale_inputs(n_units=600, k=6, seed=2, root_distances=True)
    result = solve_large(inp, SETTINGS)
    contiguous, worst = check_alignment(inp, result.site_of)
    assert contiguous
    assert worst <= 5.0 + 1e-6
    assert result.report.bound <= result.report.objective + 1e-6


def test_without_contiguity_only_balance_is_enforced() -> None:
    inp = dataclasses.replace(make_scale_inputs(n_units=600, k=6, seed=2), contiguity=False)
    result = solve_large(inp, SETTINGS)
    _, worst = check_alignment(inp, result.site_of)
    assert worst <= 5.0 + 1e-6
    assert result.report.bound <= result.report.objective + 1e-6
    assert result.report.gap <= 0.02


def test_unit_without_neighbours_is_reported() -> None:
    inp = make_scale_inputs(n_units=300, k=3, seed=1)
    roots = set(inp.roots.values())
    lonely = next(u for u in inp.units if u not in roots)
    edges = tuple(e for e in inp.edges if lonely not in e)
    with pytest.raises(InfeasibleModelError, match=lonely):
        solve_large(dataclasses.replace(inp, edges=edges), SETTINGS)
