"""Solve a model with HiGHS and report what happened: the only module that touches the solver.

Two facts are kept apart, as Pyomo's `pyomo.contrib.solver` keeps them: why the solver stopped
(`Termination`) and what kind of answer it left (`SolveStatus`). Solver outcomes reach spmopt only
through the mapping tables below (HiGHS model statuses, Pyomo termination conditions), and each
termination has a severity (ok / warning / error) that decides whether the run can be used at all:
"the call returned" is not "the model was solved". A time limit with an incumbent is FEASIBLE with
its gap, not an error; the caller decides what an infeasible or solution-less result means to the user.

Pyomo models go through the `pyomo.contrib.solver` HiGHS interface with
`raise_exception_on_nonoptimal_result=False, load_solutions=False`, and the solution is loaded only
when HiGHS holds a feasible one. A warm-started solve (`solve(..., warm_start=True)`) is the one
exception: it still uses the older `pyomo.contrib.appsi` HiGHS interface, because the
`pyomo.contrib.solver` one (Pyomo 6.10) cannot take a MIP start through its public API:

* it has no warm-start option (its Gurobi and SCIP interfaces have `warmstart_discrete_vars`, HiGHS none);
* setting the start by hand works (`highspy.Highs.setSolution` after `set_instance`, before `solve`), but
  only through two private attributes: the underlying highspy object (`_solver_model`) and the map from
  Pyomo variables to HiGHS columns (`_pyomo_var_to_solver_var_map`);
* HiGHS's own `read_solution_file` option, which `solver_options` could pass, lists values by column, and
  the column order is again private to the interface (it passes HiGHS no names).

appsi's `config.warmstart` is public and does exactly this. When `pyomo.contrib.solver` gains a HiGHS
warm start, `_solve_warm` should move onto it.

Models already in arrays (`SparseMILP`, `IncrementalMilp`) are passed to highspy directly.

One module, though long, by design: it is the only one that touches HiGHS or Pyomo's solver interfaces
(solver isolation), and each mapping table sits beside the calls whose outcomes it translates.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import numpy as np
import pyomo.environ as pyo
from pyomo.common.timing import HierarchicalTimer
from pyomo.contrib.appsi.base import TerminationCondition as AppsiTermination
from pyomo.contrib.appsi.solvers.highs import Highs as AppsiHighs
from pyomo.contrib.solver.common.results import SolutionStatus
from pyomo.contrib.solver.common.results import TerminationCondition as PyomoTermination
from pyomo.contrib.solver.solvers.highs import Highs
from scipy import sparse

from spmopt.config import SolverSettings
from spmopt.errors import SolverError
from spmopt.optim.deadline import Deadline

T = TypeVar("T")
STOP_GRACE = 2.0
"""Seconds a halted HiGHS run gets to return after Ctrl-C before the interrupt propagates regardless."""


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


class Termination(StrEnum):
    """Why a solve or a search stopped; what it found is its `SolveStatus`."""

    OPTIMAL = "optimal"
    """The solver proved its answer optimal within the requested gap (HiGHS calls both cases optimal)."""
    GAP_REACHED = "gap_reached"
    """An spmopt search proved its best plan within the requested gap of its own bound."""
    TIME_LIMIT = "time_limit"
    """The clock: the time limit, or spmopt's safety net on a solver that overran it."""
    NODE_LIMIT = "node_limit"
    """The branch-and-bound node limit (a work limit: the same stop under any machine load)."""
    ROUND_LIMIT = "round_limit"
    """spmopt's limit on the re-solve rounds of a cut loop (a work limit)."""
    ITERATION_LIMIT = "iteration_limit"
    """An iteration limit of the solver (simplex, interior point) or of spmopt's local search passes."""
    SOLUTION_LIMIT = "solution_limit"
    """HiGHS's limit on improving solutions or leaves (HiGHS reports its node limit the same way)."""
    OBJECTIVE_LIMIT = "objective_limit"
    """An objective bound or target given to the solver was reached."""
    LOCAL_OPTIMUM = "local_optimum"
    """A heuristic search found no improving move left; nothing is proven beyond the reported gap."""
    STOPPED_AT_SOLUTION = "stopped_at_solution"
    """spmopt stopped HiGHS at a solution it rejects (a cut loop then adds rows and solves again)."""
    NOT_NEEDED = "not_needed"
    """No solve was needed: the answer follows from the inputs alone."""
    INFEASIBLE = "infeasible"
    """Proven that no solution satisfies every constraint."""
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    """Presolve found the model infeasible or unbounded without telling which (spmopt's never are unbounded)."""
    UNBOUNDED = "unbounded"
    """The objective can improve without limit: a modelling defect for every spmopt model."""
    INTERRUPTED = "interrupted"
    """Stopped from outside the search (a user interrupt)."""
    MEMORY_LIMIT = "memory_limit"
    """The solver ran out of memory."""
    ERROR = "error"
    """The solver failed (load, presolve, solve or postsolve error, licensing, numerical breakdown)."""
    UNKNOWN = "unknown"
    """The solver stopped without saying why."""


class Severity(StrEnum):
    """How a termination bears on using the run (linopy's ok / warning / error)."""

    OK = "ok"
    """It ended by design or at a limit: whatever it found may be used."""
    WARNING = "warning"
    """It worked, but has no usable answer to give (infeasible) or cannot say why it stopped."""
    ERROR = "error"
    """It failed: nothing it returned may be used."""


SEVERITY: dict[Termination, Severity] = {
    Termination.OPTIMAL: Severity.OK,
    Termination.GAP_REACHED: Severity.OK,
    Termination.TIME_LIMIT: Severity.OK,
    Termination.NODE_LIMIT: Severity.OK,
    Termination.ROUND_LIMIT: Severity.OK,
    Termination.ITERATION_LIMIT: Severity.OK,
    Termination.SOLUTION_LIMIT: Severity.OK,
    Termination.OBJECTIVE_LIMIT: Severity.OK,
    Termination.LOCAL_OPTIMUM: Severity.OK,
    Termination.STOPPED_AT_SOLUTION: Severity.OK,
    Termination.NOT_NEEDED: Severity.OK,
    Termination.INFEASIBLE: Severity.WARNING,
    Termination.INFEASIBLE_OR_UNBOUNDED: Severity.WARNING,
    Termination.UNKNOWN: Severity.WARNING,
    # linopy calls an unbounded model a warning; no spmopt objective can be unbounded, so it is a defect here.
    Termination.UNBOUNDED: Severity.ERROR,
    Termination.INTERRUPTED: Severity.ERROR,
    Termination.MEMORY_LIMIT: Severity.ERROR,
    Termination.ERROR: Severity.ERROR,
}
"""Severity of every termination."""

HIGHS_TERMINATION: dict[str, Termination] = {
    "kNotset": Termination.ERROR,
    "kLoadError": Termination.ERROR,
    "kModelError": Termination.ERROR,
    "kPresolveError": Termination.ERROR,
    "kSolveError": Termination.ERROR,
    "kPostsolveError": Termination.ERROR,
    "kModelEmpty": Termination.ERROR,  # spmopt never means to hand HiGHS an empty model
    "kOptimal": Termination.OPTIMAL,
    "kInfeasible": Termination.INFEASIBLE,
    "kUnboundedOrInfeasible": Termination.INFEASIBLE_OR_UNBOUNDED,
    "kUnbounded": Termination.UNBOUNDED,
    "kObjectiveBound": Termination.OBJECTIVE_LIMIT,
    "kObjectiveTarget": Termination.OBJECTIVE_LIMIT,
    "kTimeLimit": Termination.TIME_LIMIT,
    "kIterationLimit": Termination.ITERATION_LIMIT,
    "kUnknown": Termination.UNKNOWN,
    "kSolutionLimit": Termination.SOLUTION_LIMIT,
    "kInterrupt": Termination.INTERRUPTED,
    "kMemoryLimit": Termination.MEMORY_LIMIT,
    "kHighsInterrupt": Termination.INTERRUPTED,
}
"""`highspy.HighsModelStatus` member name -> termination (names, so importing this module does not load highspy)."""

PYOMO_TERMINATION: dict[PyomoTermination, Termination] = {
    PyomoTermination.convergenceCriteriaSatisfied: Termination.OPTIMAL,
    PyomoTermination.maxTimeLimit: Termination.TIME_LIMIT,
    # Pyomo folds HiGHS's kSolutionLimit (node, leaf and improving-solution limits) into this one.
    PyomoTermination.iterationLimit: Termination.ITERATION_LIMIT,
    PyomoTermination.objectiveLimit: Termination.OBJECTIVE_LIMIT,
    PyomoTermination.minStepLength: Termination.ERROR,
    PyomoTermination.unbounded: Termination.UNBOUNDED,
    PyomoTermination.provenInfeasible: Termination.INFEASIBLE,
    PyomoTermination.locallyInfeasible: Termination.INFEASIBLE,
    PyomoTermination.infeasibleOrUnbounded: Termination.INFEASIBLE_OR_UNBOUNDED,
    PyomoTermination.error: Termination.ERROR,
    PyomoTermination.interrupted: Termination.INTERRUPTED,
    PyomoTermination.licensingProblems: Termination.ERROR,
    PyomoTermination.emptyModel: Termination.ERROR,
    PyomoTermination.unknown: Termination.UNKNOWN,
}
"""`pyomo.contrib.solver` termination condition -> termination."""

APPSI_TERMINATION: dict[AppsiTermination, Termination] = {
    AppsiTermination.optimal: Termination.OPTIMAL,
    AppsiTermination.maxTimeLimit: Termination.TIME_LIMIT,
    AppsiTermination.maxIterations: Termination.ITERATION_LIMIT,
    AppsiTermination.objectiveLimit: Termination.OBJECTIVE_LIMIT,
    AppsiTermination.minStepLength: Termination.ERROR,
    AppsiTermination.unbounded: Termination.UNBOUNDED,
    AppsiTermination.infeasible: Termination.INFEASIBLE,
    AppsiTermination.infeasibleOrUnbounded: Termination.INFEASIBLE_OR_UNBOUNDED,
    AppsiTermination.error: Termination.ERROR,
    AppsiTermination.interrupted: Termination.INTERRUPTED,
    AppsiTermination.licensingProblems: Termination.ERROR,
    AppsiTermination.unknown: Termination.UNKNOWN,
}
"""`pyomo.contrib.appsi` termination condition -> termination (the warm-started path)."""


def solve_status(termination: Termination, has_solution: bool) -> SolveStatus:
    """What kind of answer a run left, from why it stopped and whether it holds a feasible point."""
    if termination in (Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED):
        return SolveStatus.INFEASIBLE
    if not has_solution:
        return SolveStatus.NO_SOLUTION
    return SolveStatus.OPTIMAL if termination is Termination.OPTIMAL else SolveStatus.FEASIBLE


@dataclass(frozen=True, slots=True)
class SolveReport:
    """Typed account of one solve (times in seconds)."""

    status: SolveStatus
    termination: Termination
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
    nodes: int = 0
    """Branch-and-bound nodes explored (array path)."""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready mapping for manifests (enums as their plain string values)."""
        return {
            "status": self.status.value,
            "termination": self.termination.value,
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
    quiet_banner()
    return ".".join(str(v) for v in Highs().version())


@functools.cache
def quiet_banner() -> None:
    """Create the process's first HiGHS instance with the C-level stdout closed: highspy prints its copyright
    banner then, once per process, into the console output a planner reads."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


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


def use_threads(threads: int | None) -> None:
    """HiGHS keeps one thread pool per process and fails a solve that asks for another size (status unknown);
    rebuild the pool whenever a solve asks for a different thread count than the previous one."""
    global _threads_in_use
    if _threads_in_use is not _UNSET and _threads_in_use != threads:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _threads_in_use = threads


def solve(model: pyo.ConcreteModel, settings: SolverSettings, warm_start: bool = False) -> SolveReport:
    """Solve `model` and load the solution into it when one exists; never raises for infeasibility.

    With `warm_start`, the model's current variable values are handed to HiGHS as a MIP start (through
    appsi, see the module docstring). Raises `SolverError` when the termination's severity is error.
    """
    use_threads(settings.threads)
    quiet_banner()
    if warm_start:
        return _solve_warm(model, settings)
    solver = Highs()
    if not solver.available():
        raise SolverError("HiGHS is not available: install the 'highspy' package")
    timer = HierarchicalTimer()
    timer.start("total")
    results = interruptible(
        lambda: solver.solve(
            model,
            time_limit=settings.time_limit,
            rel_gap=settings.mip_gap,
            threads=settings.threads,
            solver_options={"random_seed": 0},
            raise_exception_on_nonoptimal_result=False,
            load_solutions=False,
            timer=timer,
        )
    )
    term = PYOMO_TERMINATION[results.termination_condition]
    has_solution = results.solution_status in (SolutionStatus.feasible, SolutionStatus.optimal)
    if has_solution and SEVERITY[term] is not Severity.ERROR:
        timer.start("load")
        results.solution_loader.load_vars()
        timer.stop("load")
    timer.stop("total")
    return _pyomo_report(term, has_solution, results.incumbent_objective, results.objective_bound, timer, solver)


def _solve_warm(model: pyo.ConcreteModel, settings: SolverSettings) -> SolveReport:
    """`solve` with the model's current values as a MIP start, through appsi's public `warmstart` option."""
    solver = AppsiHighs()
    if not solver.available():
        raise SolverError("HiGHS is not available: install the 'highspy' package")
    solver.config.time_limit = settings.time_limit
    solver.config.mip_gap = settings.mip_gap
    solver.config.load_solution = False
    solver.config.warmstart = True
    options: dict[str, object] = {"random_seed": 0}
    if settings.threads is not None:
        options["threads"] = settings.threads
    solver.highs_options = options
    timer = HierarchicalTimer()
    timer.start("total")
    results = interruptible(lambda: solver.solve(model, timer=timer))
    term = APPSI_TERMINATION[results.termination_condition]
    has_solution = results.best_feasible_objective is not None
    if has_solution and SEVERITY[term] is not Severity.ERROR:
        timer.start("load")
        results.solution_loader.load_vars()
        timer.stop("load")
    timer.stop("total")
    return _pyomo_report(
        term, has_solution, results.best_feasible_objective, results.best_objective_bound, timer, solver
    )


def _pyomo_report(
    term: Termination,
    has_solution: bool,
    objective: float | None,
    bound: float | None,
    timer: HierarchicalTimer,
    solver: Highs | AppsiHighs,
) -> SolveReport:
    if SEVERITY[term] is Severity.ERROR:
        raise SolverError(f"HiGHS stopped with '{term}'; the model could not be solved")
    total = timer.get_total_time("total")
    optimize = _timer_total(timer, "total.optimize")
    if bound is not None and not math.isfinite(bound):
        bound = None
    if not has_solution:
        objective = None
    return SolveReport(
        status=solve_status(term, has_solution),
        termination=term,
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


@dataclass(frozen=True, slots=True)
class SparseMILP:
    """A MILP in arrays, for model cores too large for Pyomo's build to pay off.

    min c'x  s.t.  row_lower <= A x <= row_upper,  col_lower <= x <= col_upper,  x_j integer where
    `integer[j]`. `matrix` is any scipy sparse matrix (rows = constraints); it is converted to CSC.
    """

    cost: np.ndarray
    matrix: sparse.spmatrix | sparse.sparray
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    offset: float = 0.0


@dataclass(frozen=True, slots=True)
class MilpResult:
    """Column values of the best solution (None without one) and the typed account of the solve."""

    x: np.ndarray | None
    report: SolveReport


def solve_milp(
    problem: SparseMILP,
    settings: SolverSettings,
    start: np.ndarray | None = None,
    relax: bool = False,
    node_limit: int | None = None,
) -> MilpResult:
    """Solve `problem` with highspy directly; `start` (a full column vector) is offered as a MIP start.

    With `relax` the integrality marks are dropped and the LP relaxation is solved (its optimum is
    then both the objective and the bound).
    """
    clock = time.perf_counter()
    model = IncrementalMilp(problem, settings.threads, relax=relax)
    handover = time.perf_counter() - clock
    result = model.solve(settings.time_limit, settings.mip_gap, None if relax else start, node_limit=node_limit)
    return MilpResult(x=result.x, report=dataclasses.replace(result.report, handover_seconds=handover))


def _solution(values: np.ndarray):
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = np.asarray(values, dtype=np.float64)
    sol.value_valid = True
    return sol


SolutionListener = "collections.abc.Callable[[np.ndarray], None]"
"""Receives the column values of each integer-feasible point HiGHS finds."""


HUGE_NNZ = 5_000_000
"""Nonzeros above which a model is solved without presolve and with the clock checked in callbacks."""


class IncrementalMilp:
    """One HiGHS instance holding a MILP whose rows may grow between solves (cut loops that re-solve with new rows).

    Each `solve` offers an optional MIP start and returns a `MilpResult`; rows added by `add_rows`
    stay for every later solve. With `relax` the integrality marks are dropped (the LP relaxation).
    """

    def __init__(self, problem: SparseMILP, threads: int | None = None, relax: bool = False) -> None:
        import highspy

        quiet_banner()
        self._h = highspy.Highs()
        self._h.setOptionValue("output_flag", False)
        self._h.setOptionValue("random_seed", 0)
        if threads is not None:
            self._h.setOptionValue("threads", int(threads))
        use_threads(threads)
        self._listeners: tuple = (None, None)
        self._halt = False
        self._subscribed = False
        self._deadline: Deadline | None = None
        self._clock_stop = False
        a = sparse.csc_array(problem.matrix)
        a.sort_indices()
        if a.nnz > HUGE_NNZ:
            # On models this size HiGHS's presolve does not look at the clock (130 s of presolve on a 40 s
            # limit at 15 M nonzeros); without it, and with the clock checked in the simplex callbacks, the
            # time limit holds within seconds.
            self._h.setOptionValue("presolve", "off")
            self._h.cbSimplexInterrupt.subscribe(self._on_interrupt)
            self._h.cbMipInterrupt.subscribe(self._on_interrupt)
            self._subscribed_interrupt = True
        else:
            self._subscribed_interrupt = False
        self.n_col = a.shape[1]
        integrality = np.zeros(self.n_col, dtype=np.int32)
        if not relax:
            integrality[np.asarray(problem.integer, dtype=bool)] = 1
        self._mip = bool(integrality.any())
        self._h.passModel(
            self.n_col,
            a.shape[0],
            a.nnz,
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            float(problem.offset),
            np.asarray(problem.cost, dtype=np.float64),
            np.asarray(problem.col_lower, dtype=np.float64),
            np.asarray(problem.col_upper, dtype=np.float64),
            np.asarray(problem.row_lower, dtype=np.float64),
            np.asarray(problem.row_upper, dtype=np.float64),
            a.indptr.astype(np.int32),
            a.indices.astype(np.int32),
            a.data.astype(np.float64),
            integrality,
        )

    def _on_solution(self, event) -> None:
        on_solution, stop_after = self._listeners
        if on_solution is None and stop_after is None:
            return
        x = np.array(event.data_out.mip_solution, dtype=np.float64)
        if len(x) != self.n_col:  # a sub-MIP's own point, in its own column space
            return
        if on_solution is not None:
            on_solution(x)
        if stop_after is not None and stop_after(x):
            self._halt = True

    def _stop(self) -> None:
        self._halt = True

    def _on_interrupt(self, event) -> None:
        late = self._deadline is not None and self._deadline.expired()
        self._clock_stop = self._clock_stop or (late and not self._halt)
        # Written every time: HiGHS keeps the flag from one run to the next.
        event.data_in.user_interrupt = self._halt or late

    def _termination(self, term: Termination, node_limit: int | None) -> Termination:
        """Why the last run stopped, with the stops spmopt itself asked for told apart from HiGHS's own `term`."""
        if self._clock_stop:
            return Termination.TIME_LIMIT
        if term is Termination.SOLUTION_LIMIT and node_limit is not None:
            # HiGHS reports its node, leaf and improving-solution limits alike; only the node limit is set here.
            return Termination.NODE_LIMIT
        if term is Termination.INTERRUPTED and self._halt:
            return Termination.STOPPED_AT_SOLUTION
        return term

    @property
    def n_row(self) -> int:
        """Rows currently in the model."""
        return int(self._h.getNumRow())

    def add_rows(self, matrix: sparse.spmatrix | sparse.sparray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Append rows lower <= matrix x <= upper (matrix has one column per model column)."""
        a = sparse.csr_array(matrix)
        a.sort_indices()
        self._h.addRows(
            a.shape[0],
            np.asarray(lower, dtype=np.float64),
            np.asarray(upper, dtype=np.float64),
            a.nnz,
            a.indptr[:-1].astype(np.int32),
            a.indices.astype(np.int32),
            a.data.astype(np.float64),
        )

    def duals(self) -> tuple[np.ndarray, np.ndarray]:
        """Row duals and column reduced costs of the last solve (meaningful after an optimal LP)."""
        sol = self._h.getSolution()
        return np.asarray(sol.row_dual, dtype=np.float64), np.asarray(sol.col_dual, dtype=np.float64)

    def solve(
        self,
        time_limit: float,
        mip_gap: float,
        start: np.ndarray | None = None,
        on_solution: SolutionListener | None = None,
        node_limit: int | None = None,
        stop_after: SolutionListener | None = None,
    ) -> MilpResult:
        """Run HiGHS on the current rows within `time_limit` seconds; `start` is offered as a MIP start.

        `on_solution` sees every integer-feasible point HiGHS finds (column values of the model),
        so a cut loop can learn from all of them, not only the last. `node_limit` stops branch and
        bound after that many nodes: a limit that, unlike the clock, gives the same answer under any load.
        """
        h = self._h
        h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        h.setOptionValue("mip_max_nodes", int(node_limit) if node_limit is not None else 2**31 - 1)
        if start is not None:
            h.setSolution(_solution(start))

        if (on_solution is not None or stop_after is not None) and not self._subscribed:
            # Subscribed once, on the first run that listens: HiGHS keeps callbacks across runs, so later
            # runs only swap the listeners these two methods forward to (and runs that never listen pay nothing).
            h.cbMipSolution.subscribe(self._on_solution)
            if not self._subscribed_interrupt:
                h.cbMipInterrupt.subscribe(self._on_interrupt)
                self._subscribed_interrupt = True
            self._subscribed = True
        self._listeners = (on_solution, stop_after)
        self._halt = self._clock_stop = False
        # The safety net waits a second past HiGHS's own limit, so HiGHS stops itself whenever it can.
        self._deadline = Deadline.after(max(time_limit, 0.01) + 1.0)
        try:
            interruptible(h.run, stop=self._stop)
        finally:
            self._listeners = (None, None)
        solve_seconds = self._deadline.elapsed()
        info = h.getInfo()
        reported = HIGHS_TERMINATION[h.getModelStatus().name]
        status = solve_status(reported, info.primal_solution_status == 2)  # kSolutionStatusFeasible
        term = self._termination(reported, node_limit)
        has_solution = status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
        if SEVERITY[term] is not Severity.OK and not has_solution and status is not SolveStatus.INFEASIBLE:
            raise SolverError(f"HiGHS stopped with '{term}'; the model could not be solved")
        x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_solution else None
        objective = float(info.objective_function_value) if has_solution else None
        bound = float(info.mip_dual_bound) if self._mip else objective
        if bound is not None and not math.isfinite(bound):
            bound = None
        version = ".".join(str(v) for v in (h.versionMajor(), h.versionMinor(), h.versionPatch()))
        report = SolveReport(
            status=status,
            termination=term,
            objective=objective,
            bound=bound,
            gap=relative_gap(objective, bound),
            solve_seconds=solve_seconds,
            handover_seconds=0.0,
            solver_version=version,
            nodes=int(info.mip_node_count) if self._mip else 0,
        )
        return MilpResult(x=x, report=report)


def interruptible(work: Callable[[], T], stop: Callable[[], None] | None = None) -> T:
    """`work()` (a HiGHS run) in a helper thread, so Ctrl-C reaches Python at once instead of when the solve
    ends: Python handles signals only between bytecodes of the main thread, and HiGHS holds it for the whole
    run. On Ctrl-C, `stop` asks HiGHS to halt (honoured where its interrupt callbacks listen), the helper gets a
    moment to finish, and KeyboardInterrupt propagates; the run's results are never used."""
    if threading.current_thread() is not threading.main_thread():
        return work()  # signals are delivered to the main thread only: nothing to wait for here
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            box["error"] = exc

    helper = threading.Thread(target=target, name="spmopt-highs", daemon=True)
    helper.start()
    try:
        while helper.is_alive():
            helper.join(0.1)
    except KeyboardInterrupt:
        if stop is not None:
            stop()
            helper.join(STOP_GRACE)
        raise
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class LpDuals:
    """Optimal LP relaxation: primal columns, row duals y and reduced costs r = c - A'y (HiGHS signs)."""

    x: np.ndarray
    row_dual: np.ndarray
    reduced_cost: np.ndarray
    objective: float
    seconds: float


def solve_lp_duals(problem: SparseMILP, settings: SolverSettings) -> LpDuals | None:
    """Solve the LP relaxation of `problem` and return its duals; None unless HiGHS proves it optimal."""
    clock = time.perf_counter()
    model = IncrementalMilp(problem, settings.threads, relax=True)
    result = model.solve(settings.time_limit, 0.0)
    if result.report.status != SolveStatus.OPTIMAL:
        return None
    row_dual, reduced_cost = model.duals()
    return LpDuals(
        x=result.x,
        row_dual=row_dual,
        reduced_cost=reduced_cost,
        objective=float(result.report.objective),
        seconds=time.perf_counter() - clock,
    )
