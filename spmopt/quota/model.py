"""Quota rounding MILP: whole quota steps closest to the equal-difficulty quotas, within bounds, summing exactly.

Sets and data: territories t; c_t the equal-difficulty quota in steps of the granularity g (see
`fairness.py`); bounds lo_t <= n_t <= hi_t; K the quota total in steps; cbar = K / |T|. Variables: n_t
integer (annual quota = g n_t); p_t, m_t >= 0 the rounding error above / below c_t in steps; z >= 0 the
largest relative error, scaled by cbar so it is of order one step whatever the currency's size.
Objective, lexicographic: min z, then (z held) min sum_t (p_t + m_t), so the rounding is unique in all
but exact ties and a larger c_t never gets the smaller quota.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from spmopt.config import SolverSettings
from spmopt.errors import SolverError
from spmopt.optim.solve import SolveReport, SolveStatus, solve
from spmopt.quota.inputs import QuotaInputs

CONSTRAINT_FAMILIES = ("quotas_sum_to_total", "rounding_error", "largest_relative_error")
"""Bounds enter as variable bounds on n_t; their feasibility is checked exactly before solving."""


@dataclass(frozen=True, slots=True)
class Rounding:
    """Annual quota steps per territory and the two solves that produced them."""

    steps: dict[str, int]
    reports: tuple[SolveReport, ...]


def build_quota_model(inp: QuotaInputs, target: dict[str, float], total_steps: int) -> pyo.ConcreteModel:
    """The rounding model of continuous quotas `target` (steps) to integers summing to `total_steps`."""
    m = pyo.ConcreteModel(name="quota_rounding")
    m.T = pyo.Set(initialize=inp.territories, ordered=True)
    m.c = pyo.Param(m.T, initialize=target)
    m.n = pyo.Var(m.T, domain=pyo.NonNegativeIntegers, bounds=lambda _, t: (inp.lower[t].steps, inp.upper[t].steps))
    m.over = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.under = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.z = pyo.Var(domain=pyo.NonNegativeReals)
    add_quotas_sum_to_total(m, total_steps)
    add_rounding_error(m)
    add_largest_relative_error(m, total_steps / len(inp.territories))
    m.largest_error = pyo.Expression(expr=m.z)
    m.total_error = pyo.Expression(expr=sum(m.over[t] + m.under[t] for t in m.T))
    return m


def add_quotas_sum_to_total(m: pyo.ConcreteModel, total_steps: int) -> None:
    """sum_t n_t = K: the rounded quotas add up to the total exactly."""
    m.quotas_sum_to_total = pyo.Constraint(expr=sum(m.n[t] for t in m.T) == total_steps)


def add_rounding_error(m: pyo.ConcreteModel) -> None:
    """n_t - c_t = p_t - m_t: p_t, m_t are the rounding error above / below the continuous quota, in steps."""
    m.rounding_error = pyo.Constraint(m.T, rule=lambda m, t: m.n[t] - m.c[t] == m.over[t] - m.under[t])


def add_largest_relative_error(m: pyo.ConcreteModel, mean_steps: float) -> None:
    """z >= cbar (p_t + m_t) / c_t for every t: z is the largest relative rounding error, times cbar."""

    def rule(m: pyo.ConcreteModel, t: str) -> pyo.Expression:
        if m.c[t] <= 0:  # a quota pinned to 0 by its bounds cannot be off relative to 0
            return pyo.Constraint.Skip
        return m.z >= mean_steps / m.c[t] * (m.over[t] + m.under[t])

    m.largest_relative_error = pyo.Constraint(m.T, rule=rule)


def round_quotas(inp: QuotaInputs, target: dict[str, float], total_steps: int, settings: SolverSettings) -> Rounding:
    """Solve min z, hold it, then min total error; return integer steps that sum to `total_steps`."""
    m = build_quota_model(inp, target, total_steps)
    reports = []
    for stage, name in enumerate(("largest_error", "total_error")):
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
    steps = {t: round(pyo.value(m.n[t])) for t in inp.territories}
    if sum(steps.values()) != total_steps:
        raise SolverError(f"quota rounding: quotas sum to {sum(steps.values())} steps, not {total_steps}")
    return Rounding(steps=steps, reports=tuple(reports))
