"""Pre-checks that name an impossible territory design before any solve, and the time-boxed diagnosis after one.

Each check gets a tiny hand-built design where it fires, with the figure in its message worked out by hand
next to the test, and a neighbouring design where it must stay quiet because the design is feasible: that
one is solved exactly and the alignment checked against every requirement independently of the model.

Notation: path p0-p1-p2-... is the adjacency graph; site R<n> is rep R<n> of territory T<n>.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import networkx as nx
import pytest
from instance_helpers import make_instance, scenario
from test_territory_families import _edges, band, chosen, fixed

from spmopt.config import SolverSettings
from spmopt.data.loader import load_planning_data
from spmopt.errors import InfeasibleModelError
from spmopt.optim.solve import SolveReport, SolveStatus, Termination
from spmopt.scenario import load_scenario
from spmopt.territory import design
from spmopt.territory.alignment import Alignment
from spmopt.territory.diagnose import explain_infeasibility, precheck
from spmopt.territory.exact import solve_exact
from spmopt.territory.inputs import Band, Disruption, TerritoryInputs, territory_inputs

EXACT = SolverSettings(time_limit=30, mip_gap=0, threads=1)


# --------------------------------------------------------------------------------------------- helpers


def fires(inp: TerritoryInputs, *fragments: str) -> str:
    """The pre-check message, which must contain every fragment."""
    with pytest.raises(InfeasibleModelError) as caught:
        precheck(inp)
    text = str(caught.value)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in: {text}"
    return text


def feasible(inp: TerritoryInputs) -> dict[str, str]:
    """Pre-checks pass, and an exact solve finds an alignment that meets every requirement (checked here)."""
    precheck(inp)
    solved = solve_exact(inp, EXACT)
    assert solved.report.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE), solved.report
    site_of = solved.site_of
    assert sorted(site_of) == sorted(inp.units)
    if inp.fixed_sites:
        territory = {u: inp.site_territory[s] for u, s in site_of.items()}
    else:
        territory = {u: solved.label_of[s] for u, s in site_of.items()}
    for b in inp.bands:
        for s in set(site_of.values()):
            load = sum(b.values[u] for u, t in site_of.items() if t == s)
            assert b.lower[s] - 1e-6 <= load <= b.upper[s] + 1e-6, (b.measure, s, load)
    for u, t in inp.locks.items():
        assert territory[u] == t, (u, t)
    if inp.contiguity:
        graph = nx.Graph(inp.edges)
        for s in set(site_of.values()):
            part = [u for u, t in site_of.items() if t == s]
            assert nx.is_connected(graph.subgraph(part)), part
            assert inp.roots[s] in part if inp.fixed_sites else True
    dis = inp.disruption
    if dis is not None and dis.cap is not None:
        moved = sum(w for u, w in dis.weights.items() if territory[u] != inp.current[u])
        assert moved <= dis.cap * dis.total + 1e-9, (moved, dis.cap * dis.total)
    return territory


def line_of_reps(values: dict[str, float], near: dict[str, str], k: int, tol: float, **kw) -> TerritoryInputs:
    """Fixed sites R1..Rk; each unit is 1 km from the rep named in `near` and 5 km from the others."""
    sites = tuple(f"R{i}" for i in range(1, k + 1))
    dist = {u: {s: (1 if near[u] == s else 5) for s in sites} for u in values}
    return fixed(dist, bands=(band("potential", values, sites, tol, k),), **kw)


def capped(values: dict[str, float], current: dict[str, str], cap: float) -> Disruption:
    weights = {u: values[u] for u in current}
    return Disruption(measure="potential", weights=weights, total=sum(values.values()), cap=cap, penalty_per_point=0)


def path(n: int) -> tuple[tuple[str, str], ...]:
    return _edges([(f"p{i}", f"p{i + 1}") for i in range(n - 1)])


def on_path(values: list[float], homes: dict[str, str], tol: float, **kw) -> TerritoryInputs:
    """Units p0..p{n-1} on a path, 1 km apart; reps live at their home units; contiguity on."""
    units = [f"p{i}" for i in range(len(values))]
    sites = tuple(homes)
    dist = {u: {s: abs(i - int(homes[s][1:])) for s in sites} for i, u in enumerate(units)}
    bands = (band("potential", dict(zip(units, values, strict=True)), sites, tol, len(sites)),)
    return fixed(dist, homes=homes, edges=path(len(units)), contiguity=True, bands=bands, **kw)


# --------------------------------------------------------------------------------------------- disruption cap


# potential a=550, b=299 (both in T1 today), c=100, d=51 (T2); total 1000, target 500, +-10%: [450, 550].
# T1 keeps at most 550 of its 849, so 299 = 29.9% must move, whatever else happens.
EXCESS = {"a": 550.0, "b": 299.0, "c": 100.0, "d": 51.0}
EXCESS_NOW = {"a": "T1", "b": "T1", "c": "T2", "d": "T2"}
EXCESS_NEAR = {"a": "R1", "b": "R1", "c": "R2", "d": "R2"}


def excess(cap: float) -> TerritoryInputs:
    dis = capped(EXCESS, EXCESS_NOW, cap)
    return line_of_reps(EXCESS, EXCESS_NEAR, 2, 0.1, current=EXCESS_NOW, disruption=dis)


def test_disruption_cap_below_the_excess_over_the_upper_limit() -> None:
    fires(
        excess(0.2),
        "at least 29.9% of potential must move to bring every territory within ±10.0%",
        "territory T1 holds 84.9% of potential, 29.9 points above its upper limit of 55.0%",
        "territory.max_disruption is 20.0%",
        "Raise the cap to at least 29.9% or widen the tolerance on potential",
    )


def test_disruption_cap_that_allows_the_excess_is_feasible() -> None:
    # Moving b alone (29.9%) gives T1 = {a} = 550 and T2 = {b, c, d} = 450.
    assert feasible(excess(0.3)) == {"a": "T1", "b": "T2", "c": "T2", "d": "T2"}


# potential a1=100, a2=50 (T1 today), b1=100, b2=50 (T2); rep R3 has no units today. Total 300, target 100,
# +-50%: [50, 150]. Nothing is over, but T3 must gain 50 and every unit has a current territory: 50 / 300 =
# 16.67% must move, shown as "at least 16.6%" (rounded down) and "raise to 16.7%" (rounded up).
DEFICIT = {"a1": 100.0, "a2": 50.0, "b1": 100.0, "b2": 50.0}
DEFICIT_NOW = {"a1": "T1", "a2": "T1", "b1": "T2", "b2": "T2"}
DEFICIT_NEAR = {"a1": "R1", "a2": "R1", "b1": "R2", "b2": "R2"}


def deficit(cap: float) -> TerritoryInputs:
    dis = capped(DEFICIT, DEFICIT_NOW, cap)
    return line_of_reps(DEFICIT, DEFICIT_NEAR, 3, 0.5, current=DEFICIT_NOW, disruption=dis)


def test_disruption_cap_below_the_deficit_under_the_lower_limit() -> None:
    fires(
        deficit(0.1),
        "at least 16.6% of potential must move",
        "territory T3 holds 0.0% of potential, 16.7 points below its lower limit of 16.7%",
        "Raise the cap to at least 16.7%",
    )


def test_disruption_cap_that_allows_the_deficit_is_feasible() -> None:
    territory = feasible(deficit(0.17))
    assert sorted(u for u, t in territory.items() if t == "T3") in (["a2"], ["b2"])


def test_new_units_fill_a_deficit_without_moving_anything() -> None:
    # a=100 (T1), b=100 (T2), n=100 new (no current territory); 3 reps, target 100, +-10%: T3 needs 90 and n
    # brings 100, so nothing has to move: a cap of 0 holds (a bound ignoring new units would claim 30%).
    values = {"a": 100.0, "b": 100.0, "n": 100.0}
    now = {"a": "T1", "b": "T2"}
    inp = line_of_reps(
        values, {"a": "R1", "b": "R2", "n": "R3"}, 3, 0.1, current=now, disruption=capped(values, now, 0.0)
    )
    assert feasible(inp) == {"a": "T1", "b": "T2", "n": "T3"}


# a=100 (T1), b=100 (T2), c=50 in T9, which no rep covers: c must move, 50 / 250 = 20.0%.
ORPHAN = {"a": 100.0, "b": 100.0, "c": 50.0}
ORPHAN_NOW = {"a": "T1", "b": "T2", "c": "T9"}


def orphan(cap: float) -> TerritoryInputs:
    dis = capped(ORPHAN, ORPHAN_NOW, cap)
    near = {"a": "R1", "b": "R2", "c": "R2"}
    return line_of_reps(ORPHAN, near, 2, 0.5, current=ORPHAN_NOW, disruption=dis)


def test_units_of_a_territory_no_rep_covers_must_move() -> None:
    fires(orphan(0.1), "at least 20.0% of potential", "units now in T9, which no rep covers, hold 20.0% and must move")


def test_cap_that_lets_the_uncovered_units_move_is_feasible() -> None:
    assert feasible(orphan(0.2))["c"] in ("T1", "T2")


# a=100, b=100 (T1 today), c=100 (T2); b is locked to T2, so it moves: 100 / 300 = 33.3%.
def locked_away(cap: float) -> TerritoryInputs:
    values = {"a": 100.0, "b": 100.0, "c": 100.0}
    now = {"a": "T1", "b": "T1", "c": "T2"}
    near = {"a": "R1", "b": "R1", "c": "R2"}
    return line_of_reps(values, near, 2, 0.5, current=now, locks={"b": "T2"}, disruption=capped(values, now, cap))


def test_units_locked_away_from_their_territory_count_as_moved() -> None:
    fires(
        locked_away(0.3),
        "at least 33.3% of potential",
        "units locked away from their current territory hold 33.3%",
        "Raise the cap to at least 33.4%",
    )
    assert feasible(locked_away(0.34))["b"] == "T2"


def test_disruption_counted_in_units_is_not_checked_against_bands() -> None:
    inp = excess(0.2)
    counted = dataclasses.replace(inp.disruption, measure=None, weights=dict.fromkeys(EXCESS_NOW, 1.0), total=4.0)
    precheck(dataclasses.replace(inp, disruption=counted))  # 1 of 4 units (25%) moves in the best plan


# Chosen centres on a line 0..3, load 1 each (total 4), k = 2, target 2, +-25%: at most 2.5 per territory.
# Every unit is in A today; A keeps at most 2.5 of its 4, so 1.5 / 4 = 37.5% moves.
def chosen_all_in_a(cap: float) -> TerritoryInputs:
    units = ("u0", "u1", "u2", "u3")
    load = dict.fromkeys(units, 1.0)
    now = dict.fromkeys(units, "A")
    dis = Disruption(measure="load", weights=load, total=4.0, cap=cap, penalty_per_point=0)
    bands = (band("load", load, units, 0.25, 2),)
    pos = {u: float(i) for i, u in enumerate(units)}
    return chosen(pos, 2, bands=bands, labels=("A", "NEW-1"), current=now, disruption=dis)


def test_chosen_centres_cap_below_the_excess_of_a_label() -> None:
    fires(
        chosen_all_in_a(0.3),
        "at least 37.5% of load must move",
        "territory A holds 100.0% of load, 37.5 points above the upper limit of 62.5%",
    )


def test_chosen_centres_cap_that_allows_the_excess_is_feasible() -> None:
    territory = feasible(chosen_all_in_a(0.5))
    assert sorted(territory.values()) == ["A", "A", "NEW-1", "NEW-1"]


# Chosen centres, k = 2, but three current territories A (u0), B (u1), C (u2, u3), load 1 each, +-50%: at most
# 3 per territory. Only two names survive; the best keeps C (2) and one of A, B (1): at least 1 / 4 = 25% moves.
def three_names_two_territories(cap: float) -> TerritoryInputs:
    units = ("u0", "u1", "u2", "u3")
    load = dict.fromkeys(units, 1.0)
    now = {"u0": "A", "u1": "B", "u2": "C", "u3": "C"}
    dis = Disruption(measure="load", weights=load, total=4.0, cap=cap, penalty_per_point=0)
    pos = {u: float(i) for i, u in enumerate(units)}
    bands = (band("load", load, units, 0.5, 2),)
    return chosen(pos, 2, bands=bands, labels=("A", "B", "C"), current=now, disruption=dis)


def test_chosen_centres_with_more_current_territories_than_designed() -> None:
    fires(
        three_names_two_territories(0.2),
        "at least 25.0% of load",
        "only 2 of the 3 current territories can keep their name, so the units of A (25.0%) move",
    )
    assert feasible(three_names_two_territories(0.25))["u2"] == "C"


# --------------------------------------------------------------------------------------------- home units


def test_two_reps_with_one_home_unit_under_contiguity() -> None:
    fires(
        on_path([10, 10, 10, 10], {"R1": "p1", "R2": "p1"}, 0.5),
        "reps R1 (territory T1), R2 (territory T2) have their home base in the same unit p1",
        "Move all but one of these home bases",
        "territory.contiguity: false",
    )


def test_two_reps_with_their_own_home_units_are_feasible() -> None:
    feasible(on_path([10, 10, 10, 10], {"R1": "p0", "R2": "p3"}, 0.5))


def test_home_unit_locked_to_another_territory() -> None:
    fires(
        on_path([10, 10, 10], {"R1": "p0", "R2": "p2"}, 0.9, locks={"p2": "T1"}),
        "unit p2, the home unit of rep R2 (territory T2), is locked to territory T1",
    )
    feasible(on_path([10, 10, 10], {"R1": "p0", "R2": "p2"}, 0.9, locks={"p2": "T2"}))


# --------------------------------------------------------------------------------------------- locks walled off


def test_lock_cut_off_from_its_home_by_another_reps_home() -> None:
    # p0 (R1's home) - p1 - p2 (R2's home) - p3 - p4 locked to T1: T1 would have to pass through p2.
    fires(
        on_path([1] * 5, {"R1": "p0", "R2": "p2"}, 0.9, locks={"p4": "T1"}),
        "unit p4 is locked to territory T1 and cannot be connected to its rep's home unit p0 (rep R1)",
        "every path from p0 to p4 passes through p2 (home unit of rep R2)",
        "Unlock p4 or lock it to another territory (territory.locks)",
    )


def test_lock_on_the_far_side_of_its_own_rep_is_feasible() -> None:
    assert feasible(on_path([1] * 5, {"R1": "p0", "R2": "p2"}, 0.9, locks={"p4": "T2"}))["p4"] == "T2"


def test_lock_cut_off_by_a_unit_locked_elsewhere() -> None:
    # p0 (R1) - p1 - p2 locked T2 - p3 locked T1 - p4 (R2): each lock sits behind the other one.
    fires(
        on_path([1] * 5, {"R1": "p0", "R2": "p4"}, 0.9, locks={"p2": "T2", "p3": "T1"}),
        "unit p2 is locked to territory T2",
        "every path from p4 to p2 passes through p3 (locked to territory T1)",
        "1 other locked unit(s) are cut off the same way",
    )
    feasible(on_path([1] * 5, {"R1": "p0", "R2": "p4"}, 0.9, locks={"p2": "T1", "p3": "T2"}))


# --------------------------------------------------------------------------------------------- bands out of reach


def test_band_out_of_reach_of_a_walled_in_home() -> None:
    # p0..p4 hold 10 each (total 50), two reps, target 25, +-20%: at least 20 each. R1 at p0 is walled in by R2's
    # home p1, so T1 can hold only p0 = 10: 10 short.
    fires(
        on_path([10] * 5, {"R1": "p0", "R2": "p1"}, 0.2),
        "territory T1 cannot reach its lower limit of potential",
        "home unit p0 without crossing p1 (home unit of rep R2) hold 10 of potential (20.0%), 10 short of its "
        "lower limit 20 (tolerance ±20.0%)",
    )


def test_band_within_reach_is_feasible() -> None:
    feasible(on_path([10] * 5, {"R1": "p0", "R2": "p4"}, 0.2))


def _limits(b: Band, lower: float, upper: float) -> Band:
    return dataclasses.replace(b, lower=dict.fromkeys(b.lower, lower), upper=dict.fromkeys(b.upper, upper))


def test_lower_limits_adding_up_to_more_than_the_total() -> None:
    # a, b, c, d hold 25 each (total 100); two territories with [60, 80] each need at least 120.
    inp = line_of_reps(dict.fromkeys("abcd", 25.0), dict(zip("abcd", ("R1", "R1", "R2", "R2"), strict=True)), 2, 0.1)
    bad = dataclasses.replace(inp, bands=(_limits(inp.bands[0], 60, 80),))
    fires(bad, "the 2 territories' lower limits add up to 120, more than the 100 of potential there is (20 short)")
    # [20, 40] each can hold at most 80 of the 100.
    bad = dataclasses.replace(inp, bands=(_limits(inp.bands[0], 20, 40),))
    fires(bad, "the 2 territories' upper limits add up to 80, less than the 100 of potential", "(20 left over)")
    feasible(dataclasses.replace(inp, bands=(_limits(inp.bands[0], 40, 60),)))


# --------------------------------------------------------------------------------------------- time


def grid_design(rows: int, cols: int, k: int, tol: float) -> TerritoryInputs:
    """A rows x cols grid, every unit worth 10, k reps on distinct cells, contiguity on."""
    grid = nx.grid_2d_graph(rows, cols)

    def name(cell: tuple[int, int]) -> str:
        return f"u{cell[0]:02d}{cell[1]:02d}"

    units = sorted(name(c) for c in grid.nodes)
    homes = {f"R{i + 1}": name((i * rows // k, (i * 7) % cols)) for i in range(k)}
    assert len(set(homes.values())) == k
    dist = {name(c): {s: math.dist(c, (int(h[1:3]), int(h[3:5]))) for s, h in homes.items()} for c in grid.nodes}
    edges = _edges([(name(a), name(b)) for a, b in grid.edges])
    bands = (band("potential", dict.fromkeys(units, 10.0), tuple(homes), tol, k),)
    return fixed(dist, homes=homes, edges=edges, contiguity=True, bands=bands)


def parity_design(rows: int, cols: int, k: int, tol: float) -> TerritoryInputs:
    """`grid_design` with a band that holds no multiple of 10: infeasible, while every pre-check passes."""
    inp = grid_design(rows, cols, k, tol)
    lower, upper = next(iter(inp.bands[0].lower.values())), next(iter(inp.bands[0].upper.values()))
    assert math.floor(upper / 10) * 10 < lower, "the band must hold no multiple of 10"
    return inp


@pytest.mark.slow
def test_prechecks_take_well_under_a_second_on_2000_units_and_30_reps() -> None:
    # 40 x 50 = 2,000 units, 30 reps, 60,000 pairs; target 666.7, +-0.4%: [664.0, 669.3] holds no multiple of 10.
    inp = parity_design(40, 50, 30, 0.004)
    clock = time.perf_counter()
    precheck(inp)
    assert time.perf_counter() - clock < 1.0


def test_diagnosis_keeps_to_a_2_s_budget_and_names_what_it_could_not_check() -> None:
    # Neither relaxed 2,000-unit model can even be built and handed over in 2 s, so neither probe starts.
    inp = parity_design(40, 50, 30, 0.004)
    clock = time.perf_counter()
    error = explain_infeasibility(inp, SolverSettings(time_limit=300, threads=1), budget_seconds=2.0)
    assert time.perf_counter() - clock < 10.0
    text = str(error)
    assert "Not checked within the 2 s left for the diagnosis" in text
    assert "balance of potential within ±0.4%" in text
    assert "contiguity" in text
    assert "territory.solver.time_limit" in text


def test_diagnosis_stops_probing_when_the_budget_runs_out() -> None:
    # A solver stand-in that never decides: each probe runs to its limit, and with 1.2 s for three probes of at
    # least 0.5 s each the third cannot start.
    inp = dataclasses.replace(grid_design(6, 6, 2, 0.01), locks={"u0505": "T1"})
    limits: list[float] = []

    def undecided(model, settings: SolverSettings) -> SolveReport:
        limits.append(settings.time_limit)
        time.sleep(settings.time_limit)
        return SolveReport(SolveStatus.NO_SOLUTION, Termination.TIME_LIMIT, None, None, None, settings.time_limit, 0.0)

    clock = time.perf_counter()
    text = str(explain_infeasibility(inp, SolverSettings(time_limit=300), undecided, budget_seconds=1.2))
    assert time.perf_counter() - clock < 2.5
    assert 1 <= len(limits) < 3
    assert sum(limits) <= 1.2
    assert "Not checked within the 1.2 s left for the diagnosis" in text
    for name in ("balance of potential within ±1.0%", "contiguity", "locks"):
        assert name in text


def test_diagnosis_runs_no_probe_when_a_precheck_names_the_conflict() -> None:
    def no_solve(model, settings):
        raise AssertionError("no probe should run")

    text = str(explain_infeasibility(excess(0.2), SolverSettings(time_limit=300), no_solve, budget_seconds=2.0))
    assert "at least 29.9% of potential must move" in text


def test_diagnosis_names_the_single_culprit_when_time_allows() -> None:
    # 6 x 6 grid worth 360, 5 reps: target 72, +-2%: [70.56, 73.44] holds no multiple of 10, with or without
    # contiguity; dropping the band alone makes the design feasible.
    inp = parity_design(6, 6, 5, 0.02)
    clock = time.perf_counter()
    text = str(explain_infeasibility(inp, SolverSettings(time_limit=300, threads=1), budget_seconds=20.0))
    assert time.perf_counter() - clock < 25.0
    assert "dropping balance of potential within ±2.0% alone makes it feasible" in text
    assert "Not checked" not in text


def test_lock_walled_in_on_a_grid_names_the_locks_around_it() -> None:
    # The far corner u0505 is locked to T1, both its neighbours to T2.
    inp = dataclasses.replace(grid_design(6, 6, 2, 0.01), locks={"u0505": "T1", "u0405": "T2", "u0504": "T2"})
    fires(
        inp,
        "unit u0505 is locked to territory T1",
        "passes through u0405 (locked to territory T2), u0504 (locked to territory T2)",
    )


@pytest.mark.parametrize(("time_limit", "least", "most"), [(2.0, 5.0, 5.0), (20.0, 18.0, 19.5)])
def test_pipeline_gives_the_diagnosis_what_is_left_of_the_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, time_limit: float, least: float, most: float
) -> None:
    # The solve takes 1 s and proves infeasibility; the diagnosis gets the rest of the limit, at least 5 s.
    spec = scenario({"solver": {"time_limit": time_limit, "threads": 1}})
    cfg = load_scenario(make_instance(tmp_path, spec), ())
    data = load_planning_data(cfg)
    budgets: list[float] = []

    def infeasible_after_a_second(inp, settings, progress):
        time.sleep(1.0)
        report = SolveReport(SolveStatus.INFEASIBLE, Termination.INFEASIBLE, None, None, None, 1.0, 0.0)
        return Alignment(site_of={}, report=report, method="stand-in")

    def record(inp, settings, budget_seconds):
        budgets.append(budget_seconds)
        return InfeasibleModelError("explained")

    monkeypatch.setattr(design, "solve_territory", infeasible_after_a_second)
    monkeypatch.setattr(design, "explain_infeasibility", record)
    with pytest.raises(InfeasibleModelError, match="explained"):
        design.design_territories(territory_inputs(data, cfg), cfg.territory.solver, data)
    assert least <= budgets[0] <= most
