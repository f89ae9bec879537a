"""The solver wrapper: one process may solve with different HiGHS thread counts in turn."""

from __future__ import annotations

import pyomo.environ as pyo

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveStatus, solve


def knapsack() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(4), domain=pyo.Binary)
    m.weight = pyo.Constraint(expr=3 * m.x[0] + 4 * m.x[1] + 5 * m.x[2] + 6 * m.x[3] <= 10)
    m.value = pyo.Objective(expr=4 * m.x[0] + 5 * m.x[1] + 6 * m.x[2] + 7 * m.x[3], sense=pyo.maximize)
    return m


def test_changing_thread_count_between_solves_still_solves() -> None:
    # HiGHS keeps a process-wide thread pool; asking for another size without rebuilding it used to
    # end the solve with status 'unknown' (seen as "no alignment found" in the territory stage).
    for threads in (None, 1, 2, None, 1):
        report = solve(knapsack(), SolverSettings(time_limit=10, threads=threads))
        assert report.status == SolveStatus.OPTIMAL, (threads, report)
        assert report.objective == 12  # items 1 and 3 (weights 4 + 6 = 10, values 5 + 7)
