"""Which reps each manager should coach, and for how many hours a month: a Pyomo MILP solved by HiGHS.

For rep r with expected annual sales V_r (cents) and manager m(r), hours per month x_r = step n_r (n_r integer:
coaching comes in calendar slots of `step` hours) earn the steady-state uplift value V_r u(x_r), with u concave
(`UpliftModel.steady_uplift`). Over breakpoints 0 = p_0 < ... < p_J = max_r of u (every slot), concavity lets
the value be written as a hypograph with no binaries beyond the slot counts, exact at every slot:

    maximise   mu sum_r gain_r - c sum_r M_r x_r
    gain_r  <= V_r (u(p_j) + s_j (x_r - p_j))        for every segment j (s_j its slope)
    sum_{r: m(r) = m} x_r <= H_m                      manager capacity, hours a month
    min_r <= x_r <= max_r'                            hours band per rep

c is the full cost of a manager's hour in cents (wage and opportunity cost; 0: maximise the uplift), M_r the
months of the plan year rep r is on board (hours are neither given nor charged before a new hire starts), mu the
margin per unit of sales (1: value the uplift in sales) and V_r the sales of the months on board. max_r' is the
band's top cut to the hours the history covers (`covered`), so the response is not extrapolated; a rep whose
minimum is above it keeps the minimum and is flagged in `beyond_history_hours`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from spmopt.coaching.uplift import UpliftModel
from spmopt.config import SolverSettings
from spmopt.errors import InfeasibleModelError, SolverError
from spmopt.optim.solve import SolveReport, SolveStatus, Termination, solve

MAX_BREAKPOINTS = 97
"""Above this many slots in a rep's band, breakpoints are spread evenly instead (value exact at them only)."""


@dataclass(frozen=True, slots=True)
class CoachingInputs:
    """Reps, their managers and value, hours bands and manager capacities."""

    reps: tuple[str, ...]
    manager: tuple[str, ...]
    value: np.ndarray
    """(reps,) expected annual sales in cents: what a relative uplift multiplies."""
    min_hours: np.ndarray
    max_hours: np.ndarray
    """(reps,) hours a month."""
    capacity: dict[str, float]
    """Manager -> coaching hours a month."""
    step: float = 0.5
    hour_cost: float = 0.0
    """Full cost of one manager hour (wage and opportunity cost), cents."""
    months: np.ndarray | None = None
    """(reps,) months of the plan year each rep is on board and coached (None: 12 for everyone)."""
    margin: float = 1.0
    """Margin per unit of sales: the objective weighs the uplift's margin against the hours' cost."""
    covered: float | None = None
    """Hours a month the coaching history covers (`UpliftModel.covered_hours`); None: no cap."""

    def months_on_board(self) -> np.ndarray:
        return np.full(len(self.reps), 12.0) if self.months is None else np.asarray(self.months, dtype=float)

    def top_hours(self) -> np.ndarray:
        """The band's top, cut to the history's range (in whole slots) but never below the minimum."""
        top = np.asarray(self.max_hours, dtype=float)
        if self.covered is None:
            return top
        cap = self.step * np.floor(self.covered / self.step + 1e-9)
        return np.maximum(np.minimum(top, cap), self.min_hours)


def precheck(inp: CoachingInputs) -> None:
    """Refuse bands that cannot hold before building a model, naming the manager or rep."""
    for k, rep in enumerate(inp.reps):
        if inp.min_hours[k] < 0 or inp.max_hours[k] < inp.min_hours[k]:
            raise InfeasibleModelError(
                f"rep {rep}: coaching hours band {inp.min_hours[k]:g}-{inp.max_hours[k]:g} is empty or negative"
            )
    for manager in dict.fromkeys(inp.manager):
        if manager not in inp.capacity:
            raise InfeasibleModelError(f"manager {manager} has reps but no coaching capacity")
        need = sum(inp.min_hours[k] for k, m in enumerate(inp.manager) if m == manager)
        if need > inp.capacity[manager] + 1e-9:
            raise InfeasibleModelError(
                f"manager {manager}: capacity {inp.capacity[manager]:g} h a month is below the {need:g} h a month "
                "their reps' minimum coaching hours add up to"
            )


def build_coaching_model(inp: CoachingInputs, model: UpliftModel) -> pyo.ConcreteModel:
    """The allocation MILP (see the module docstring)."""
    m = pyo.ConcreteModel(name="coaching_allocation")
    m.reps = pyo.Set(initialize=range(len(inp.reps)), ordered=True)
    m.managers = pyo.Set(initialize=list(dict.fromkeys(inp.manager)), ordered=True)
    lo = np.ceil(inp.min_hours / inp.step - 1e-9)
    hi = np.floor(inp.top_hours() / inp.step + 1e-9)
    m.slots = pyo.Var(m.reps, domain=pyo.NonNegativeIntegers, bounds=lambda _, r: (lo[r], hi[r]))
    m.gain = pyo.Var(m.reps, domain=pyo.NonNegativeReals)
    add_uplift_hypograph(m, inp, model)
    add_manager_capacity(m, inp)
    months = inp.months_on_board()
    m.total_value = pyo.Objective(
        expr=inp.margin * sum(m.gain[r] for r in m.reps)
        - inp.hour_cost * inp.step * sum(float(months[r]) * m.slots[r] for r in m.reps),
        sense=pyo.maximize,
    )
    return m


def add_uplift_hypograph(m: pyo.ConcreteModel, inp: CoachingInputs, model: UpliftModel) -> None:
    """gain_r <= V_r (u(p_j) + s_j (step n_r - p_j)) for every segment j of u on [0, max_r]."""
    segments = []
    for r in m.reps:
        top = max(float(inp.top_hours()[r]), inp.step)
        # Breakpoints on the slot grid make the value exact at every feasible number of hours.
        points = np.arange(0.0, top + inp.step / 2, inp.step)
        if len(points) > MAX_BREAKPOINTS:
            points = np.linspace(0.0, top, MAX_BREAKPOINTS)
        values = model.steady_uplift(points)
        slopes = np.diff(values) / np.diff(points)
        if np.any(np.diff(slopes) > 1e-12):
            raise SolverError("the uplift curve is not concave over the hours band; the hypograph would overstate it")
        segments += [(r, j, points[j], values[j], slopes[j]) for j in range(len(slopes))]
    m.segments = pyo.Set(initialize=[(r, j) for r, j, *_ in segments], dimen=2)
    data = {(r, j): (p, v, s) for r, j, p, v, s in segments}

    @m.Constraint(m.segments, doc="Coaching value lies under every tangent segment of the concave uplift")
    def uplift_hypograph(m, r, j):
        p, v, s = data[(r, j)]
        return m.gain[r] <= float(inp.value[r]) * (v + s * (inp.step * m.slots[r] - p))


def add_manager_capacity(m: pyo.ConcreteModel, inp: CoachingInputs) -> None:
    """sum_{r of manager m} step n_r <= H_m."""

    @m.Constraint(m.managers, doc="A manager's coaching hours a month fit their capacity")
    def manager_capacity(m, manager):
        reps = [r for r in m.reps if inp.manager[r] == manager]
        return inp.step * sum(m.slots[r] for r in reps) <= inp.capacity[manager]


def allocate(
    inp: CoachingInputs, model: UpliftModel, settings: SolverSettings | None = None
) -> tuple[pd.DataFrame, SolveReport]:
    """The coaching plan: one row per rep with hours, expected uplift (and its interval) and why."""
    precheck(inp)
    if model.max_uplift <= 0:
        # The model finds no gain from coaching: every rep keeps only their minimum, no optimisation needed.
        table = coaching_table(inp, model, np.asarray(inp.min_hours, dtype=float))
        table["why"] = (
            f"the uplift model ({model.method}) estimates no gain from coaching (u_max {model.max_uplift:.3f})"
        )
        return table, SolveReport(SolveStatus.OPTIMAL, Termination.NOT_NEEDED, None, None, 0.0, 0.0, 0.0)
    settings = settings or SolverSettings(time_limit=60, mip_gap=0.0)
    m = build_coaching_model(inp, model)
    report = solve(m, settings)
    if report.status == SolveStatus.INFEASIBLE:
        raise InfeasibleModelError("coaching allocation is infeasible: hours bands and capacities conflict")
    if report.status == SolveStatus.NO_SOLUTION:
        raise SolverError(f"no coaching plan found within {settings.time_limit:g} s")
    hours = np.array([inp.step * round(pyo.value(m.slots[r])) for r in m.reps])
    return coaching_table(inp, model, hours), report


def coaching_table(inp: CoachingInputs, model: UpliftModel, hours: np.ndarray) -> pd.DataFrame:
    """Hours, expected annual uplift (cents) with its interval, the marginal value of one more slot, and why."""
    value = np.asarray(inp.value, dtype=float)
    uplift = value * model.steady_uplift(hours)
    low = value * model.steady_uplift(hours, "low")
    high = value * model.steady_uplift(hours, "high")
    next_slot = value * (model.steady_uplift(hours + inp.step) - model.steady_uplift(hours))
    used = {mgr: sum(hours[k] for k in range(len(hours)) if inp.manager[k] == mgr) for mgr in inp.capacity}
    top = inp.top_hours()
    months = inp.months_on_board()
    beyond = np.maximum(hours - inp.covered, 0.0) if inp.covered is not None else np.zeros(len(hours))
    why = []
    for k, mgr in enumerate(inp.manager):
        full = used[mgr] >= inp.capacity[mgr] - 1e-9
        if beyond[k] > 1e-9:
            why.append(
                f"minimum of {inp.min_hours[k]:g} h a month is above the {inp.covered:.2f} h the coaching history "
                "covers: its uplift extrapolates the fitted response"
            )
        elif hours[k] <= inp.min_hours[k] + 1e-9 and hours[k] == 0:
            why.append(
                f"not coached: one more {inp.step:g} h slot is worth {next_slot[k] / 100:,.0f} a year, less "
                f"than {mgr}'s slots give other reps"
            )
        elif hours[k] >= top[k] - 1e-9 and top[k] < inp.max_hours[k] - 1e-9:
            why.append(
                f"capped at {top[k]:g} h a month, the most the coaching history covers ({inp.covered:.2f} h: its "
                "95th-percentile stock); more would extrapolate the fitted response"
            )
        elif hours[k] >= inp.max_hours[k] - 1e-9:
            why.append(f"at the maximum of {inp.max_hours[k]:g} h a month")
        elif hours[k] <= inp.min_hours[k] + 1e-9:
            why.append(f"at the minimum of {inp.min_hours[k]:g} h a month")
        elif full:
            why.append(f"{mgr}'s capacity is used up; the next slot would add {next_slot[k] / 100:,.0f} a year")
        else:
            why.append("more hours cost more than they add")
    return pd.DataFrame(
        {
            "rep_id": inp.reps,
            "manager_id": inp.manager,
            "hours_per_month": hours,
            "months_coached": months,
            "hours_per_year": months * hours,
            "expected_uplift_pct": np.round(100 * model.steady_uplift(hours), 3),
            "expected_uplift": np.round(uplift) / 100,
            "uplift_ci_low": np.round(low) / 100,
            "uplift_ci_high": np.round(high) / 100,
            "next_slot_value": np.round(next_slot) / 100,
            "beyond_history_hours": np.round(beyond, 3),
            "why": why,
        }
    )
