"""Quota rounding MILP: which equal-difficulty quotas to round up so whole steps add up exactly to the total.

Sets and data: territories t; c_t the equal-difficulty quota in steps of the granularity g (see
`fairness.py`), which lies within the integer bounds, so floor(c_t) and ceil(c_t) do too; K the quota
total in steps; cbar = K / |T|; the error of rounding up is a_t = ceil(c_t) - c_t, of rounding down
b_t = c_t - floor(c_t). Variables: u_t binary (1: round up) for fractional c_t, so the quota is
n_t = floor(c_t) + u_t steps and no quota moves a whole step; z >= 0 the largest relative error times cbar
(of order one step whatever the currency's size). Objective, lexicographic: min z, then (z held) the total
error sum_t a_t u_t + b_t (1 - u_t), so the rounding is unique in all but exact ties and a larger c_t never
gets the smaller quota.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyomo.environ as pyo

from spmopt.config import SolverSettings
from spmopt.errors import SolverError
from spmopt.optim.solve import SolveReport, SolveStatus, solve
from spmopt.quota.inputs import QuotaInputs

CONSTRAINT_FAMILIES = ("quotas_sum_to_total", "largest_relative_error")
"""Bounds need no constraint: c_t lies within them and n_t is its floor or ceiling."""


@dataclass(frozen=True, slots=True)
class Rounding:
    """Annual quota steps per territory and the two solves that produced them."""

    steps: dict[str, int]
    reports: tuple[SolveReport, ...]


def build_quota_model(inp: QuotaInputs, target: dict[str, float], total_steps: int) -> pyo.ConcreteModel:
    """The rounding model of continuous quotas `target` (steps) to integers summing to `total_steps`."""
    m = pyo.ConcreteModel(name="quota_rounding")
    floor = {t: math.floor(c + 1e-9) for t, c in target.items()}
    m.T = pyo.Set(initialize=inp.territories, ordered=True)
    m.F = pyo.Set(initialize=[t for t in inp.territories if target[t] - floor[t] > 1e-9], ordered=True)
    m.floor = pyo.Param(m.T, initialize=floor)
    m.up_error = pyo.Param(m.F, initialize={t: floor[t] + 1 - target[t] for t in m.F})
    m.down_error = pyo.Param(m.F, initialize={t: target[t] - floor[t] for t in m.F})
    m.weight = pyo.Param(m.F, initialize={t: total_steps / len(inp.territories) / target[t] for t in m.F})
    m.up = pyo.Var(m.F, domain=pyo.Binary)
    m.z = pyo.Var(domain=pyo.NonNegativeReals)
    m.error = pyo.Expression(m.F, rule=lambda m, t: m.up_error[t] * m.up[t] + m.down_error[t] * (1 - m.up[t]))
    add_quotas_sum_to_total(m, total_steps)
    add_largest_relative_error(m)
    m.largest_error = pyo.Expression(expr=m.z)
    m.total_error = pyo.Expression(expr=sum(m.error[t] for t in m.F))
    return m


def add_quotas_sum_to_total(m: pyo.ConcreteModel, total_steps: int) -> None:
    """sum_t floor(c_t) + sum_{t in F} u_t = K: the rounded quotas add up to the total exactly."""
    rounded_up = sum(m.up[t] for t in m.F)
    m.quotas_sum_to_total = pyo.Constraint(
        expr=rounded_up == total_steps - sum(m.floor[t] for t in m.T) if len(m.F) else pyo.Constraint.Skip
    )


def add_largest_relative_error(m: pyo.ConcreteModel) -> None:
    """z >= (cbar / c_t) (a_t u_t + b_t (1 - u_t)) for t in F: z is the largest relative rounding error x cbar."""
    m.largest_relative_error = pyo.Constraint(m.F, rule=lambda m, t: m.z >= m.weight[t] * m.error[t])


def round_quotas(inp: QuotaInputs, target: dict[str, float], total_steps: int, settings: SolverSettings) -> Rounding:
    """Solve min z, hold it, then min total error; return integer steps that sum to `total_steps`."""
    m = build_quota_model(inp, target, total_steps)
    reports = []
    stages = ("largest_error", "total_error") if len(m.F) else ()  # whole quotas already: nothing to round
    for stage, name in enumerate(stages):
        m.objective = pyo.Objective(expr=getattr(m, name), sense=pyo.minimize)
        report = solve(m, settings)
        if report.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            # Bounds and the total are prechecked, so this is a solver limit, not an infeasibility.
            raise SolverError(f"quota rounding: HiGHS ended with '{report.termination}' ({report.status})")
        reports.append(report)
        if stage == 0:
            best = pyo.value(m.largest_error)
            m.hold_largest_error = pyo.Constraint(expr=m.largest_error <= best * (1 + 1e-9) + 1e-6)
            m.del_component(m.objective)
    steps = {t: m.floor[t] + (round(pyo.value(m.up[t])) if t in m.F else 0) for t in inp.territories}
    outside = [t for t in steps if not _within(inp, t, steps[t])]
    if outside:
        raise SolverError(f"quota rounding: territories {outside} left their bounds (equal-difficulty quotas outside)")
    if sum(steps.values()) != total_steps:
        raise SolverError(f"quota rounding: quotas sum to {sum(steps.values())} steps, not {total_steps}")
    return Rounding(steps=steps, reports=tuple(reports))


def _within(inp: QuotaInputs, t: str, steps: int) -> bool:
    upper = inp.upper[t].steps
    return (inp.lower[t].steps or 0) <= steps and (upper is None or steps <= upper)
