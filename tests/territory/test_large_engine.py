"""The large-design method on small ZIP instances: contiguous, balanced, certified, deterministic; locks and the
disruption cap and penalty kept in every phase, scored as the exact model scores them."""

from __future__ import annotations

import dataclasses

import pytest

from spmopt.config import SolverSettings
from spmopt.errors import ConfigError, InfeasibleModelError
from spmopt.optim.solve import SolveStatus
from spmopt.territory.alignment import score_alignment
from spmopt.territory.large import solve_large
from spmopt_bench.scale import check_alignment, make_scale_inputs

SETTINGS = SolverSettings(time_limit=60, mip_gap=1e-4, threads=1)


@pytest.fixture(scope="module")
def small():
    inp = make_scale_inputs(n_units=2000, k=20, seed=7)
    return inp, solve_large(inp, SETTINGS)


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


# Disruption and locks. The current alignment is planted: the method's own plan for unweighted distance, which is
# balanced and contiguous, so any cap is feasible (staying put moves nothing), while the potential-weighted
# optimum moves a few per cent of potential away from it.


def _moved_share(inp, site_of) -> float:
    """Moved share of the disruption measure in %, recomputed from ids alone."""
    site_of_territory = {t: s for s, t in inp.site_territory.items()}
    dis = inp.disruption
    moved = sum(dis.weights[u] for u, t in inp.current.items() if site_of[u] != site_of_territory.get(t))
    return 100.0 * moved / dis.total


def _with_disruption(inp, cap: float | None, penalty: float):
    from spmopt.territory.inputs import Disruption

    pot = inp.bands[0].values
    weights = {u: pot[u] for u in inp.current}
    return dataclasses.replace(inp, disruption=Disruption("potential", weights, sum(pot.values()), cap, penalty))


def _planted(n_units: int, k: int, seed: int, root_distances: bool = False):
    inp = make_scale_inputs(n_units=n_units, k=k, seed=seed, root_distances=root_distances)
    flat = solve_large(dataclasses.replace(inp, distance_weight=dict.fromkeys(inp.units, 1.0)), SETTINGS)
    return dataclasses.replace(inp, current={u: inp.site_territory[s] for u, s in flat.site_of.items()})


@pytest.fixture(scope="module")
def planted():
    inp = _planted(1000, 10, 3)
    free = solve_large(inp, SETTINGS)
    return inp, free, _moved_share(_with_disruption(inp, None, 0.0), free.site_of)


def _assert_valid(inp, result) -> None:
    contiguous, worst = check_alignment(inp, result.site_of)
    assert contiguous
    assert worst <= inp.bands[0].tolerance * 100 + 1e-6
    assert result.report.bound <= result.report.objective + 1e-6 * abs(result.report.objective)


@pytest.mark.slow
def test_binding_cap_is_met_and_moves_less_than_without_it(planted) -> None:
    inp, free, free_share = planted
    assert free_share > 2.0
    capped = _with_disruption(inp, cap=free_share / 100 / 2, penalty=0.0)
    result = solve_large(capped, SETTINGS)
    _assert_valid(capped, result)
    share = _moved_share(capped, result.site_of)
    assert share <= 100 * capped.disruption.cap + 1e-9
    assert share < free_share
    assert result.details["moved_share_pct"] == pytest.approx(share, rel=1e-12)
    assert result.report.objective == pytest.approx(score_alignment(capped, result.site_of), rel=1e-12)
    # The cap costs compactness, and the bound (LP with the cap row) knows it: it lies above the free plan's bound.
    assert result.report.bound > free.report.bound
    assert result.report.gap <= 0.02


@pytest.mark.parametrize("cap", [None, 0.03])
@pytest.mark.slow
def test_penalty_is_priced_into_objective_and_bound(planted, cap) -> None:
    inp, free, free_share = planted
    priced = _with_disruption(inp, cap=cap, penalty=200.0)
    result = solve_large(priced, SETTINGS)
    _assert_valid(priced, result)
    share = _moved_share(priced, result.site_of)
    if cap is not None:
        assert share <= 100 * cap + 1e-9
    expected = score_alignment(priced, result.site_of) + 200.0 * share
    assert result.report.objective == pytest.approx(expected, rel=1e-12)
    assert result.report.gap <= 0.02
    if cap is None:  # at 200 per point the penalty outweighs the compactness the free plan gains by moving
        free_value = score_alignment(priced, free.site_of) + 200.0 * free_share
        assert result.report.objective < free_value
        assert share < free_share


@pytest.mark.parametrize(("cap", "penalty"), [(0.014, 0.0), (0.014, 100.0), (None, 100.0)])
def test_disruption_agrees_with_the_exact_model(cap, penalty) -> None:
    from spmopt.territory.exact import solve_exact

    inp = _with_disruption(_planted(150, 3, 1, root_distances=True), cap=cap, penalty=penalty)
    large = solve_large(inp, SETTINGS)
    exact = solve_exact(inp, SETTINGS)
    assert exact.report.status == SolveStatus.OPTIMAL
    _assert_valid(inp, large)
    # Both report the same function of the alignment: compactness + penalty * moved %.
    for result in (large, exact):
        share = _moved_share(inp, result.site_of)
        expected = score_alignment(inp, result.site_of) + penalty * share
        assert result.report.objective == pytest.approx(expected, rel=1e-9)
        if cap is not None:
            assert share <= 100 * cap + 1e-9
    tol = 1e-7 * exact.report.objective
    assert large.report.bound <= exact.report.objective + tol
    assert large.report.objective >= exact.report.bound - tol
    assert large.report.objective - exact.report.objective <= large.report.gap * large.report.objective + tol


def _border_locks(inp, site_of, count: int) -> dict[str, str]:
    """Lock `count` border units (no two adjacent, none a home unit) to an adjacent rival territory."""
    nbrs: dict[str, list[str]] = {}
    for u, v in inp.edges:
        nbrs.setdefault(u, []).append(v)
        nbrs.setdefault(v, []).append(u)
    homes = set(inp.roots.values())
    locks: dict[str, str] = {}
    for u in inp.units[:: max(len(inp.units) // (4 * count), 1)]:
        if u in homes or any(v in locks for v in nbrs.get(u, ())):
            continue
        rival = sorted({site_of[v] for v in nbrs.get(u, ())} - {site_of[u]})
        rival = [s for s in rival if (u, s) in inp.distance]
        if rival:
            locks[u] = inp.site_territory[rival[0]]
        if len(locks) == count:
            break
    return locks


@pytest.mark.slow
def test_locks_are_honoured_with_a_cap_and_a_penalty(planted) -> None:
    inp, free, free_share = planted
    locks = _border_locks(inp, free.site_of, 12)
    assert len(locks) == 12
    site_of_territory = {t: s for s, t in inp.site_territory.items()}
    assert all(free.site_of[u] != site_of_territory[t] for u, t in locks.items())
    locked = _with_disruption(dataclasses.replace(inp, locks=locks), cap=0.75 * free_share / 100, penalty=50.0)
    result = solve_large(locked, SETTINGS)
    _assert_valid(locked, result)
    assert all(result.site_of[u] == site_of_territory[t] for u, t in locks.items())
    share = _moved_share(locked, result.site_of)
    assert share <= 100 * locked.disruption.cap + 1e-9
    assert result.report.objective == pytest.approx(score_alignment(locked, result.site_of) + 50.0 * share, rel=1e-12)


@pytest.mark.slow
def test_every_phase_keeps_locks_and_the_cap(planted) -> None:
    import numpy as np

    from spmopt.optim.deadline import Deadline
    from spmopt.optim.solve import solve_milp
    from spmopt.territory.large import (
        _State,
        assignment_milp,
        contiguous_submilp,
        detach_pieces,
        improve,
        index_inputs,
        neighbour_territories,
        regrow,
        restore_within_cap,
        root_order,
    )

    inp, free, free_share = planted
    endless = Deadline(0.0, float("inf"))
    locks = _border_locks(inp, free.site_of, 6)
    design = _with_disruption(dataclasses.replace(inp, locks=locks), cap=0.5 * free_share / 100, penalty=20.0)
    n, k = len(inp.units), len(inp.sites)
    ix = index_inputs(design)
    locked = np.flatnonzero(ix.fixed >= 0)
    site = {s: j for j, s in enumerate(inp.sites)}
    assert len(locked) == len(locks) + k  # locks and home units

    # LP: a locked pair carries the whole unit; the cap row holds.
    lp = solve_milp(assignment_milp(ix, n, k), SETTINGS, relax=True)
    mine = ix.fixed[ix.pu] == ix.ps
    assert np.all(lp.x[mine] == 1.0)
    stays = ix.stays
    kept = float(np.dot(lp.x[stays], ix.moved_weight[ix.pu[stays]]))
    assert ix.moved_weight.sum() - kept <= ix.moved_room + 1e-6

    # Rounding from the free plan, which breaks the cap: units go back until it fits, locks stay.
    st = _State(ix, n, k, np.array([site[free.site_of[u]] for u in inp.units]))
    for i in locked.tolist():
        st.move(i, int(ix.fixed[i]))
    assert st.moved > st.room
    assert restore_within_cap(st, ix, lp.x) > 0
    assert st.within_cap(st.moved_total())
    assert all(st.lab[i] == ix.fixed[i] for i in locked.tolist())
    restored = np.array(st.lab)

    # Neighbourhood sub-MIP: a locked unit has its own site only; the solution respects the room left.
    seed = int(ix.fixed[locked[~np.isin(locked, ix.root)][0]])
    region = {seed} | neighbour_territories(st, {seed})
    problem, cols = contiguous_submilp(st, region, root_order(design, ix))
    assert all(j == ix.fixed[i] for i, j in cols if ix.fixed[i] >= 0)
    sub = solve_milp(problem, SETTINGS)
    assert sub.x is not None
    for c in np.flatnonzero(sub.x > 0.5).tolist():
        i, j = cols[c]
        if st.lab[i] != j:
            st.move(i, j)
    assert st.within_cap(st.moved_total())
    assert all(st.lab[i] == ix.fixed[i] for i in locked.tolist())

    # Regrowth: locked units cut off from their territory rejoin it, even when the units between are loose too.
    homes = set(ix.root.tolist())
    loose = [i for i in locked.tolist() if i not in homes]
    for i in loose:
        for v in [i, *st.nb[i]]:
            if st.lab[v] >= 0 and v not in homes:
                st.unlabel(v)
    detach_pieces(st)
    regrow(st)
    assert all(st.lab[i] == ix.fixed[i] for i in locked.tolist())

    # Local search: never a locked unit; a regrowth that moved too much is brought back within the cap, and from
    # within the cap it never leaves it while it lowers (band violation, objective) lexicographically.
    improve(st, endless, contiguity=True)
    assert st.within_cap(st.moved_total())
    assert all(st.lab[i] == ix.fixed[i] for i in locked.tolist())
    st = _State(ix, n, k, restored)
    before = (round(st.violation(), 6), st.objective())
    assert improve(st, endless, contiguity=True)["moves"] > 0
    assert st.within_cap(st.moved_total())
    assert (round(st.violation(), 6), st.objective()) < before
    assert all(st.lab[i] == ix.fixed[i] for i in locked.tolist())


@pytest.mark.slow
def test_cap_below_the_forced_moves_is_refused(planted) -> None:
    inp, free, _ = planted
    locks = _border_locks(inp, free.site_of, 12)
    # Lock units away from where they are today; a cap below their weight cannot be met.
    away = {u: t for u, t in locks.items() if inp.current[u] != t}
    assert away
    pot = inp.bands[0].values
    least = 100 * sum(pot[u] for u in away) / sum(pot.values())
    design = _with_disruption(dataclasses.replace(inp, locks=away), cap=least / 100 / 2, penalty=0.0)
    with pytest.raises(InfeasibleModelError, match="must move"):
        solve_large(design, SETTINGS)


@pytest.mark.slow
def test_engine_sends_large_designs_with_disruption_and_locks_to_the_large_method(planted) -> None:
    from spmopt.territory.engine import LARGE_UNITS, large_applies

    inp, _, _ = planted
    extra = tuple(f"X{i}" for i in range(LARGE_UNITS + 1 - len(inp.units)))
    big = dataclasses.replace(inp, units=inp.units + extra)
    assert large_applies(big)
    assert large_applies(_with_disruption(big, cap=0.1, penalty=5.0))
    assert large_applies(dataclasses.replace(big, locks={inp.units[0]: "T000"}))
    assert not large_applies(dataclasses.replace(big, compactness="cut_edges"))
    assert not large_applies(dataclasses.replace(_with_disruption(big, 0.1, 0.0), fixed_sites=False))
