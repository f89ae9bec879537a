"""Shared builders for the simulator tests: parameter variants, small synthetic instances, plan contexts and an
independent re-statement of the effort rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np

from spmopt.comp.plan import CompPlan, load_plan
from spmopt.sim.incentives import PlanContext, plan_context
from spmopt.sim.inputs import SimInputs, synthetic_inputs
from spmopt.sim.params import BehaviourParams, Stage, load_behaviour
from spmopt.sim.replication import PlanYear

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = ROOT / "models" / "behaviour" / "defaults.yaml"
PLANS = ROOT / "scenarios" / "plans"

ANNUAL = 1_000_000.0
"""Expected normal-effort sales per seat of the synthetic instances (currency units)."""
DEAL = 20_000.0
"""Mean deal size of the synthetic instances (currency units): about 50 won deals per seat and year."""


@cache
def defaults() -> BehaviourParams:
    return load_behaviour(DEFAULTS)


@cache
def demo_plan(name: str) -> CompPlan:
    return load_plan(PLANS / f"{name}.yaml")


def with_param(params: BehaviourParams, section: str, name: str, value: float) -> BehaviourParams:
    """A copy of `params` with `section.name.value` replaced (no re-validation, as in a stress test)."""
    block = getattr(params, section)
    param = getattr(block, name).model_copy(update={"value": value})
    return params.model_copy(update={section: block.model_copy(update={name: param})})


def with_stages(params: BehaviourParams, *stages: Stage) -> BehaviourParams:
    return params.model_copy(update={"pipeline": params.pipeline.model_copy(update={"stages": tuple(stages)})})


def no_skill_spread(params: BehaviourParams | None = None) -> BehaviourParams:
    """Every rep has skill factors exactly 1 (the analytic expectation's assumption)."""
    return with_param(params or defaults(), "reps", "skill_sigma", 0.0)


def synthetic(params: BehaviourParams, n_seats: int = 3, units: int = 4, seed: int = 1) -> SimInputs:
    return synthetic_inputs(n_seats, units, ANNUAL, DEAL, params, np.random.default_rng(seed))


def double_potential(inputs: SimInputs) -> SimInputs:
    return dataclasses.replace(inputs, unit_rate=2 * inputs.unit_rate)


def quota_rows(inputs: SimInputs, plan: CompPlan, annual_cents: int) -> dict:
    """Every rep's payee row: `annual_cents` spread evenly over the plan's payout periods."""
    base, extra = divmod(annual_cents, plan.periods)
    per = np.array([base + (1 if k < extra else 0) for k in range(plan.periods)], dtype=np.int64)
    return {(rep, None): per.copy() for rep in inputs.reps}


def context(
    plan: CompPlan,
    inputs: SimInputs,
    params: BehaviourParams,
    quota_share: float = 1.0,
    reference_rate: np.ndarray | None = None,
) -> PlanContext:
    """The plan's context with every quota at `quota_share` x the synthetic seats' expected sales."""
    rows = quota_rows(inputs, plan, round(quota_share * ANNUAL * 100))
    return plan_context(plan, inputs, params, rows, reference_rate)


def contexts(inputs: SimInputs, params: BehaviourParams, plans: Sequence[CompPlan], annual: float) -> list[PlanContext]:
    """The plans' contexts with every quota at `annual` (currency units); the first plan is the baseline (its on-track
    marginal pay sets the money cost of effort for all)."""
    rows = [quota_rows(inputs, p, round(annual * 100)) for p in plans]
    first = plan_context(plans[0], inputs, params, rows[0])
    rest = zip(plans[1:], rows[1:], strict=True)
    return [first] + [plan_context(p, inputs, params, r, first.reference_rate) for p, r in rest]


def with_revenue(plan: CompPlan, **update: object) -> CompPlan:
    """A copy of the plan with its first (revenue) measure updated."""
    first = plan.measures[0].model_copy(update=update)
    return plan.model_copy(update={"measures": (first, *plan.measures[1:])})


def steeper(plan: CompPlan) -> CompPlan:
    """The target-incentive plan with slope 3 instead of 2 above 100% (1.5 pays 2.5, not 2.0); the cap is
    raised with it so both plans stop accelerating at the same attainment (175%)."""
    pts = list(plan.measures[0].curve or ())
    assert [(p.attainment, p.payout) for p in pts[-2:]] == [(1, 1), (Decimal("1.5"), 2)], "not the demo curve"
    pts[-1] = pts[-1].model_copy(update={"payout": Decimal("2.5")})
    return with_revenue(plan, curve=tuple(pts), cap=Decimal("3.25"))


def effort_table(ctx: PlanContext, params: BehaviourParams, reference_rate: np.ndarray) -> np.ndarray:
    """(seats, levels, grid) effort a rep chooses at each level and forecast, restated from the model's rule:
    rho = sum_k ray_k marginal_k / reference rate, effort = clip(rho ** elasticity, effort_min, effort_max)."""
    mot = params.motivation
    rho = np.einsum("slgk,sk->slg", ctx.marginal, ctx.ray) / reference_rate[:, None, None]
    with np.errstate(divide="ignore"):
        effort = np.where(rho > 0, np.maximum(rho, 1e-300) ** mot.elasticity.value, 0.0)
    return np.clip(effort, mot.effort_min.value, mot.effort_max.value)


def arrays(year: PlanYear) -> dict[str, np.ndarray]:
    """Every array field of a PlanYear (for exact comparisons)."""
    return {f.name: np.asarray(getattr(year, f.name)) for f in dataclasses.fields(year) if f.compare}


def assert_same_years(a: list[list[PlanYear]], b: list[list[PlanYear]]) -> None:
    assert len(a) == len(b)
    for r, (ra, rb) in enumerate(zip(a, b, strict=True)):
        assert len(ra) == len(rb)
        for p, (ya, yb) in enumerate(zip(ra, rb, strict=True)):
            fa, fb = arrays(ya), arrays(yb)
            for name in fa:
                np.testing.assert_array_equal(fa[name], fb[name], err_msg=f"replication {r}, plan {p}: {name}")
