"""Why a solve stopped and what it found: the mapping tables are complete, and real solves land where they should.

The hard model is a seeded multi-dimensional knapsack (200 items, 10 capacity rows, values correlated with
weights): HiGHS finds a first plan at once (taking nothing is feasible) but cannot prove optimality within
seconds, so a 1 s limit always stops it with an incumbent and a gap.
"""

from __future__ import annotations

import json
import time

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.contrib.appsi.base import TerminationCondition as AppsiTermination
from pyomo.contrib.solver.common.results import TerminationCondition as PyomoTermination
from scipy import sparse

from spmopt.config import SolverSettings
from spmopt.optim.solve import (
    APPSI_TERMINATION,
    HIGHS_TERMINATION,
    PYOMO_TERMINATION,
    SEVERITY,
    IncrementalMilp,
    Severity,
    SolveReport,
    SolveStatus,
    SparseMILP,
    Termination,
    solve,
    solve_status,
)

ITEMS, ROWS = 200, 10


def _knapsack_data(seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    weight = rng.integers(1, 1000, (ROWS, ITEMS))
    value = weight.sum(axis=0) // ROWS + rng.integers(0, 500, ITEMS)
    capacity = weight.sum(axis=1) // 2
    return weight, value, capacity


def hard_knapsack() -> pyo.ConcreteModel:
    weight, value, capacity = _knapsack_data()
    m = pyo.ConcreteModel()
    m.goods = pyo.RangeSet(0, ITEMS - 1)
    m.dims = pyo.RangeSet(0, ROWS - 1)
    m.take = pyo.Var(m.goods, domain=pyo.Binary)

    @m.Constraint(m.dims)
    def capacity_row(m, d):
        return sum(int(weight[d, i]) * m.take[i] for i in m.goods) <= int(capacity[d])

    m.value = pyo.Objective(expr=sum(int(value[i]) * m.take[i] for i in m.goods), sense=pyo.maximize)
    return m


def hard_knapsack_arrays() -> SparseMILP:
    weight, value, capacity = _knapsack_data()
    return SparseMILP(
        cost=-value.astype(float),
        matrix=sparse.csr_array(weight.astype(float)),
        row_lower=np.full(ROWS, -np.inf),
        row_upper=capacity.astype(float),
        col_lower=np.zeros(ITEMS),
        col_upper=np.ones(ITEMS),
        integer=np.ones(ITEMS, dtype=bool),
    )


def small_knapsack() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(4), domain=pyo.Binary)
    m.weight = pyo.Constraint(expr=3 * m.x[0] + 4 * m.x[1] + 5 * m.x[2] + 6 * m.x[3] <= 10)
    m.value = pyo.Objective(expr=4 * m.x[0] + 5 * m.x[1] + 6 * m.x[2] + 7 * m.x[3], sense=pyo.maximize)
    return m


def infeasible_model() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(2), domain=pyo.Binary)
    m.too_many = pyo.Constraint(expr=m.x[0] + m.x[1] >= 3)
    m.cost = pyo.Objective(expr=m.x[0] + m.x[1])
    return m


# --------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------


def test_every_highs_model_status_has_a_termination() -> None:
    assert set(HIGHS_TERMINATION) == set(highspy.HighsModelStatus.__members__)


def test_every_pyomo_termination_condition_has_a_termination() -> None:
    assert set(PYOMO_TERMINATION) == set(PyomoTermination)
    assert set(APPSI_TERMINATION) == set(AppsiTermination)


def test_every_termination_has_a_severity() -> None:
    assert set(SEVERITY) == set(Termination)
    assert {t for t, s in SEVERITY.items() if s is Severity.ERROR} == {
        Termination.ERROR,
        Termination.UNBOUNDED,
        Termination.INTERRUPTED,
        Termination.MEMORY_LIMIT,
    }
    # every limit is a normal end: its incumbent, if any, is used
    for limit in (Termination.TIME_LIMIT, Termination.NODE_LIMIT, Termination.ROUND_LIMIT):
        assert SEVERITY[limit] is Severity.OK


@pytest.mark.parametrize(
    ("termination", "has_solution", "status"),
    [
        (Termination.OPTIMAL, True, SolveStatus.OPTIMAL),
        (Termination.TIME_LIMIT, True, SolveStatus.FEASIBLE),
        (Termination.TIME_LIMIT, False, SolveStatus.NO_SOLUTION),
        (Termination.NODE_LIMIT, True, SolveStatus.FEASIBLE),
        (Termination.GAP_REACHED, True, SolveStatus.FEASIBLE),  # only a solver's own proof is OPTIMAL here
        (Termination.INFEASIBLE, False, SolveStatus.INFEASIBLE),
        (Termination.INFEASIBLE_OR_UNBOUNDED, True, SolveStatus.INFEASIBLE),
    ],
)
def test_solve_status_from_termination(termination: Termination, has_solution: bool, status: SolveStatus) -> None:
    assert solve_status(termination, has_solution) is status


def test_report_writes_plain_strings() -> None:
    report = SolveReport(SolveStatus.FEASIBLE, Termination.TIME_LIMIT, 3.0, 2.0, 0.5, 1.0, 0.1)
    facts = report.as_dict()
    assert type(facts["status"]) is str
    assert type(facts["termination"]) is str
    assert json.loads(json.dumps(facts))["termination"] == "time_limit"


# --------------------------------------------------------------------------------------------------
# Pyomo models through pyomo.contrib.solver (and appsi for warm starts)
# --------------------------------------------------------------------------------------------------


def test_optimal() -> None:
    m = small_knapsack()
    report = solve(m, SolverSettings(time_limit=10, mip_gap=0.0))
    assert report.status is SolveStatus.OPTIMAL
    assert report.termination is Termination.OPTIMAL
    assert report.objective == 12  # items 1 and 3 (weights 4 + 6 = 10, values 5 + 7)
    assert report.gap == 0.0
    assert [round(pyo.value(m.x[i])) for i in range(4)] == [0, 1, 0, 1]


def test_infeasible_loads_nothing() -> None:
    m = infeasible_model()
    report = solve(m, SolverSettings(time_limit=10))
    assert report.status is SolveStatus.INFEASIBLE
    assert report.termination in (Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED)
    assert report.objective is None
    assert all(m.x[i].value is None for i in range(2))


def test_time_limit_is_honoured_and_keeps_the_incumbent() -> None:
    m = hard_knapsack()
    clock = time.perf_counter()
    report = solve(m, SolverSettings(time_limit=1, mip_gap=0.0))
    wall = time.perf_counter() - clock
    assert wall < 10, f"a 1 s limit took {wall:.1f} s"
    assert report.termination is Termination.TIME_LIMIT
    assert report.status in (SolveStatus.FEASIBLE, SolveStatus.NO_SOLUTION)
    # taking nothing is feasible, so HiGHS always has a plan: the limit leaves an incumbent with its gap
    assert report.status is SolveStatus.FEASIBLE
    assert report.objective is not None
    assert report.bound is not None
    assert report.bound >= report.objective  # maximising: the bound is above
    assert report.gap is not None
    assert report.gap > 0
    weight, _, capacity = _knapsack_data()
    taken = np.array([round(pyo.value(m.take[i])) for i in range(ITEMS)])
    assert np.all(weight @ taken <= capacity), "the loaded incumbent must be feasible"


def test_warm_start_path_maps_the_same_way() -> None:
    m = small_knapsack()
    for i, v in enumerate([1, 0, 0, 1]):  # a feasible start (value 11), not the optimum
        m.x[i].set_value(v)
    report = solve(m, SolverSettings(time_limit=10, mip_gap=0.0), warm_start=True)
    assert report.status is SolveStatus.OPTIMAL
    assert report.termination is Termination.OPTIMAL
    assert report.objective == 12
    infeasible = solve(infeasible_model(), SolverSettings(time_limit=10), warm_start=True)
    assert infeasible.status is SolveStatus.INFEASIBLE


# --------------------------------------------------------------------------------------------------
# Arrays through highspy: the stops spmopt asks for are told apart
# --------------------------------------------------------------------------------------------------


def test_node_limit_is_reported_as_such() -> None:
    result = IncrementalMilp(hard_knapsack_arrays(), threads=1).solve(60, 0.0, node_limit=5)
    assert result.report.termination is Termination.NODE_LIMIT
    assert result.report.status is SolveStatus.FEASIBLE
    assert result.x is not None


def test_a_listener_stop_is_not_a_user_interrupt() -> None:
    milp = IncrementalMilp(hard_knapsack_arrays(), threads=1)
    result = milp.solve(60, 0.0, stop_after=lambda x: True)
    assert result.report.termination is Termination.STOPPED_AT_SOLUTION
    assert result.report.status is SolveStatus.FEASIBLE


def test_arrays_time_limit() -> None:
    clock = time.perf_counter()
    result = IncrementalMilp(hard_knapsack_arrays()).solve(1, 0.0)
    assert time.perf_counter() - clock < 10
    assert result.report.termination is Termination.TIME_LIMIT
    assert result.report.status is SolveStatus.FEASIBLE


def test_arrays_infeasible() -> None:
    problem = SparseMILP(
        cost=np.ones(2),
        matrix=sparse.csr_array(np.ones((1, 2))),
        row_lower=np.array([3.0]),
        row_upper=np.array([np.inf]),
        col_lower=np.zeros(2),
        col_upper=np.ones(2),
        integer=np.ones(2, dtype=bool),
    )
    result = IncrementalMilp(problem).solve(10, 0.0)
    assert result.report.status is SolveStatus.INFEASIBLE
    assert result.report.termination in (Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED)
    assert result.x is None
