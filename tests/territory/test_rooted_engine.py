"""The general heuristic and the rooted-separator method against the Pyomo flow model on random small grids.

Draws come from the property-test generator of `test_territory_properties` (3x3 to 4x4 grids, 2-3
territories, fixed reps or chosen centres, optional band, contiguity and locks). Each alignment is checked
from the alignment alone (`assert_valid`): bands, connection to the root, locks and the objective.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from test_territory_properties import DECIDED, HAS_SOLUTION, PROPERTY, Solved, assert_valid, instances, run

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveStatus
from spmopt.territory.alignment import score_alignment
from spmopt.territory.arrays import territory_arrays
from spmopt.territory.heuristic import design_heuristic
from spmopt.territory.inputs import TerritoryInputs
from spmopt.territory.rooted import solve_rooted

ROOT = Path(__file__).resolve().parents[2]
EXACT = SolverSettings(time_limit=20, mip_gap=0)
COUNTS = {"rooted": 0, "heuristic_found": 0, "heuristic_tried": 0}


def heuristic_solved(inp: TerritoryInputs) -> tuple[bool, Solved]:
    arr = territory_arrays(inp)
    plan = design_heuristic(arr, time_limit=10)
    site_of = {inp.units[i]: inp.sites[int(plan.site[t])] for i, t in enumerate(plan.slot.tolist())}
    if inp.fixed_sites:
        territory_of = {u: inp.site_territory[s] for u, s in site_of.items()}
    else:
        territory_of = {inp.units[i]: arr.slot_label[t] for i, t in enumerate(plan.slot.tolist())}
    return plan.feasible, Solved(SolveStatus.FEASIBLE, score_alignment(inp, site_of), site_of, territory_of)


@PROPERTY
@given(instances())
def test_rooted_method_matches_the_flow_model(inp: TerritoryInputs) -> None:
    assume(inp.fixed_sites)
    flow = run(inp)
    assume(flow.status in DECIDED)
    solved = solve_rooted(inp, EXACT)
    if flow.status == SolveStatus.INFEASIBLE:
        assert not solved.site_of, "the rooted method returned a plan for an infeasible design"
        return
    COUNTS["rooted"] += 1
    assert solved.report.status == SolveStatus.OPTIMAL, solved.details
    assert math.isclose(solved.report.objective, flow.objective, rel_tol=1e-6, abs_tol=1e-6)
    territory_of = {u: inp.site_territory[s] for u, s in solved.site_of.items()}
    assert_valid(inp, Solved(SolveStatus.OPTIMAL, solved.report.objective, solved.site_of, territory_of))


def test_rooted_draws_were_solved() -> None:
    """The property above ran on real optima, not only on rejected or infeasible draws."""
    test_rooted_method_matches_the_flow_model()
    assert COUNTS["rooted"] >= 5, COUNTS


@PROPERTY
@given(instances())
def test_heuristic_plans_meet_every_requirement(inp: TerritoryInputs) -> None:
    flow = run(inp)
    assume(flow.status in HAS_SOLUTION)
    feasible, solved = heuristic_solved(inp)
    COUNTS["heuristic_tried"] += 1
    if feasible:
        COUNTS["heuristic_found"] += 1
        assert_valid(inp, solved)
        assert solved.objective >= flow.objective - 1e-6 or flow.status != SolveStatus.OPTIMAL


def test_heuristic_finds_most_feasible_plans() -> None:
    """On draws where a plan exists the heuristic finds one in at least 90% of them (25 of 25 when written)."""
    COUNTS["heuristic_found"] = COUNTS["heuristic_tried"] = 0
    test_heuristic_plans_meet_every_requirement()
    assert COUNTS["heuristic_tried"] >= 10, COUNTS
    assert COUNTS["heuristic_found"] >= 0.9 * COUNTS["heuristic_tried"], COUNTS


@pytest.mark.slow
def test_heuristic_gives_the_same_plan_twice_on_the_demo() -> None:
    """Effort is counted in passes and starts, so two runs agree exactly (the clock never decides)."""
    from spmopt.data.loader import load_planning_data
    from spmopt.scenario import load_scenario
    from spmopt.territory.inputs import territory_inputs

    cfg = load_scenario(ROOT / "scenarios" / "demo.yaml")
    arr = territory_arrays(territory_inputs(load_planning_data(cfg), cfg))
    first, second = design_heuristic(arr), design_heuristic(arr)
    assert first.slot.tolist() == second.slot.tolist()
    assert first.cost == second.cost
    assert len(set(first.slot.tolist())) == arr.k


def test_minimum_vertex_cut_on_a_path_is_its_weakest_unit() -> None:
    """Path 0-1-2-3 with x = (1, 0.6, 0.3, 0.9): unit 2 (0.3) is the cheapest cut between the root 0 and unit 3."""
    from spmopt.territory.separation import min_vertex_cut

    src, dst = np.array([0, 1, 2]), np.array([1, 2, 3])
    cut, value = min_vertex_cut(4, src, dst, np.array([1.0, 0.6, 0.3, 0.9]), 0, 3)
    assert cut == [2]
    assert value == pytest.approx(0.3)


def test_locks_hold_when_todays_alignment_puts_the_unit_elsewhere() -> None:
    """Six units in a row, reps at both ends; u2 is locked to the far rep B though today it is A's."""
    from spmopt.territory.inputs import Disruption

    units = tuple(f"u{i}" for i in range(6))
    xy = {u: float(i) for i, u in enumerate(units)}
    home = {"A": "u0", "B": "u5"}
    distance = {(u, s): abs(xy[u] - xy[home[s]]) for u in units for s in home}
    current = {u: ("TA" if i < 3 else "TB") for i, u in enumerate(units)}
    inp = TerritoryInputs(
        units=units,
        sites=("A", "B"),
        fixed_sites=True,
        territories=2,
        pairs=tuple(sorted(distance)),
        distance=distance,
        distance_weight=dict.fromkeys(units, 1.0),
        site_territory={"A": "TA", "B": "TB"},
        site_rep={"A": "A", "B": "B"},
        contiguity=True,
        edges=tuple((units[i], units[i + 1]) for i in range(5)),
        locks={"u2": "TB"},
        current=current,
        disruption=Disruption(
            measure=None, weights=dict.fromkeys(units, 1.0), total=6.0, cap=None, penalty_per_point=0.1
        ),
        roots=home,
        root_distance={s: {u: abs(xy[u] - xy[h]) for u in units} for s, h in home.items()},
    )
    solved = solve_rooted(inp, EXACT)
    # u2 with B forces u3 and u4 with B too (contiguity): A keeps u0, u1. Distance 0+1 + 3+2+1+0 = 7, one unit moved.
    assert solved.site_of == {"u0": "A", "u1": "A", "u2": "B", "u3": "B", "u4": "B", "u5": "B"}
    assert solved.report.status == SolveStatus.OPTIMAL
    assert solved.report.objective == pytest.approx(7 + 0.1 * 100 / 6)
    feasible, plan = heuristic_solved(inp)
    assert feasible
    assert plan.territory_of["u2"] == "TB"


def test_engine_falls_back_to_the_heuristic_when_a_method_finds_nothing() -> None:
    """A method stopped before any alignment: the engine returns the heuristic's valid plan and the method's bound."""
    from spmopt.optim.solve import SolveReport, Termination
    from spmopt.territory.alignment import Alignment
    from spmopt.territory.engine import _heuristic_fallback
    from spmopt.territory.inputs import Band

    units = tuple(f"u{i}" for i in range(8))
    home = {"A": "u0", "B": "u7"}
    distance = {(u, s): abs(i - int(home[s][1:])) for i, u in enumerate(units) for s in home}
    sales = {u: float(1 + i % 3) for i, u in enumerate(units)}
    band = Band(
        "sales", 0.1, sales, dict.fromkeys(home, 0.9 * 7.5), dict.fromkeys(home, 1.1 * 7.5), dict.fromkeys(home, 7.5)
    )
    inp = TerritoryInputs(
        units=units,
        sites=("A", "B"),
        fixed_sites=True,
        territories=2,
        pairs=tuple(sorted(distance)),
        distance={k: float(v) for k, v in distance.items()},
        distance_weight=dict.fromkeys(units, 1.0),
        site_territory={"A": "TA", "B": "TB"},
        site_rep={"A": "A", "B": "B"},
        bands=(band,),
        contiguity=True,
        edges=tuple((units[i], units[i + 1]) for i in range(7)),
        roots=home,
        root_distance={s: {u: float(abs(i - int(h[1:]))) for i, u in enumerate(units)} for s, h in home.items()},
    )
    nothing = Alignment(
        site_of={},
        report=SolveReport(SolveStatus.NO_SOLUTION, Termination.TIME_LIMIT, None, 7.0, None, 1.0, 0.0),
        method="exact",
    )
    solved = _heuristic_fallback(inp, nothing, lambda _: None)
    assert solved.method == "exact+heuristic"
    assert solved.report.status == SolveStatus.FEASIBLE
    assert solved.report.bound == 7.0
    territory_of = {u: inp.site_territory[s] for u, s in solved.site_of.items()}
    assert_valid(inp, Solved(SolveStatus.FEASIBLE, solved.report.objective, solved.site_of, territory_of))
