"""Solve a Pyomo model with HiGHS and report what happened: the only module that touches the solver.

Uses Pyomo's persistent HiGHS interface (appsi), which accepts a MIP start. "Why the solver
stopped" (termination) is kept apart from "is there a solution"; both map onto spmopt's own
`SolveStatus`. A time limit with an incumbent is FEASIBLE with its gap, not an error; the caller
decides what an infeasible or solution-less result means to the user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import pyomo.environ as pyo
from pyomo.common.timing import HierarchicalTimer
from pyomo.contrib.appsi.base import TerminationCondition
from pyomo.contrib.appsi.solvers.highs import Highs

from spmopt.config import SolverSettings
from spmopt.errors import SolverError


class SolveStatus(StrEnum):
    """Outcome of a solve, in planners' terms."""

    OPTIMAL = "optimal"
    """Proven optimal within the requested gap."""
    FEASIBLE = "feasible"
    """Stopped by a limit with a solution in hand; see the gap."""
    INFEASIBLE = "infeasible"
    """Proven that no solution satisfies every requirement."""
    NO_SOLUTION = "no_solution"
    """Stopped by a limit before any solution was found."""


_INFEASIBLE = {TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded}
_ERROR = {
    TerminationCondition.error,
    TerminationCondition.unbounded,
    TerminationCondition.interrupted,
    TerminationCondition.licensingProblems,
}


@dataclass(frozen=True, slots=True)
class SolveReport:
    """Typed account of one solve (times in seconds)."""

    status: SolveStatus
    termination: str
    objective: float | None
    bound: float | None
    gap: float | None
    """Relative gap |objective - bound| / |objective| (0 when both are 0)."""
    solve_seconds: float
    """Time inside HiGHS."""
    handover_seconds: float
    """Time Pyomo spent passing the model to HiGHS and loading the solution back."""
    build_seconds: float = 0.0
    """Time spent building the Pyomo model (filled in by the caller that built it)."""
    solver: str = "highs"
    solver_version: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready mapping for manifests."""
        return {
            "status": self.status.value,
            "termination": self.termination,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "build_seconds": round(self.build_seconds, 4),
            "handover_seconds": round(self.handover_seconds, 4),
            "solve_seconds": round(self.solve_seconds, 4),
            "solver": self.solver,
            "solver_version": self.solver_version,
        }


def highs_version() -> str:
    """Installed HiGHS version as text."""
    return ".".join(str(v) for v in Highs().version())


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """HiGHS's definition: |objective - bound| / |objective|, 0 when both are 0."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    diff = abs(objective - bound)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / abs(objective) if abs(objective) > 1e-12 else math.inf


_UNSET = object()
_threads_in_use: object = _UNSET


def _use_threads(threads: int | None) -> None:
    """HiGHS keeps one thread pool per process and fails a solve that asks for another size (status unknown);
    rebuild the pool whenever a solve asks for a different thread count than the previous one."""
    global _threads_in_use
    if _threads_in_use is not _UNSET and _threads_in_use != threads:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _threads_in_use = threads


def solve(model: pyo.ConcreteModel, settings: SolverSettings, warm_start: bool = False) -> SolveReport:
    """Solve `model` and load the solution into it when one exists; never raises for infeasibility.

    With `warm_start`, the model's current variable values are handed to HiGHS as a MIP start.
    """
    solver = Highs()
    if not solver.available():
        raise SolverError("HiGHS is not available: install the 'highspy' package")
    solver.config.time_limit = settings.time_limit
    solver.config.mip_gap = settings.mip_gap
    solver.config.load_solution = False
    solver.config.warmstart = warm_start
    options: dict[str, object] = {"random_seed": 0}
    if settings.threads is not None:
        options["threads"] = settings.threads
    _use_threads(settings.threads)
    solver.highs_options = options
    timer = HierarchicalTimer()
    timer.start("total")
    results = solver.solve(model, timer=timer)
    has_solution = results.best_feasible_objective is not None
    if has_solution:
        timer.start("load")
        results.solution_loader.load_vars()
        timer.stop("load")
    timer.stop("total")
    term = results.termination_condition
    if term in _ERROR:
        raise SolverError(f"HiGHS stopped with '{term.name}'; the model could not be solved")
    if term == TerminationCondition.optimal and has_solution:
        status = SolveStatus.OPTIMAL
    elif term in _INFEASIBLE:
        status = SolveStatus.INFEASIBLE
    elif has_solution:
        status = SolveStatus.FEASIBLE
    else:
        status = SolveStatus.NO_SOLUTION
    total = timer.get_total_time("total")
    optimize = _timer_total(timer, "total.optimize")
    objective = results.best_feasible_objective
    bound = results.best_objective_bound
    if bound is not None and not math.isfinite(bound):
        bound = None
    return SolveReport(
        status=status,
        termination=term.name,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        solve_seconds=optimize,
        handover_seconds=max(total - optimize, 0.0),
        solver_version=".".join(str(v) for v in solver.version()),
    )


def _timer_total(timer: HierarchicalTimer, identifier: str) -> float:
    try:
        return timer.get_total_time(identifier)
    except (KeyError, RuntimeError):
        return 0.0
