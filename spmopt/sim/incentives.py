"""What a plan pays each seat, in the form the simulated reps reason with: tables computed by the comp engine.

For seat s the engine prices annual pay along the rep's expected sales mix: credit_k(x) = x A_s c_k, where
A_s is the seat's expected plan-year sales at normal effort (a new hire's part-year figure, ramp and empty
pipeline included, since their quota is part-year too; a replacement, who gets a pro-rated quota and target
pay, reads the same table with x measured on their own spell), c_k the expected credit of measure k per cent of
sales (margin ratio, deals per cent, product filters) and x the sales multiple of that expectation. The
marginal pay of measure k is the engine's finite difference (pay(x + dx e_k) - pay(x)) / (dx A_s c_k), so
thresholds, accelerators, caps, gates, modifiers and bonus jumps all come from the engine's own rules.
A rep does not know the year's outcome: marginal pay and expected pay are averaged over x + Z with
Z ~ N(0, sigma_L^2), sigma_L = forecast_cv sqrt(L / 12) for L months left, so a threshold far out of reach late
in the year offers nothing and one within reach pulls effort up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmopt.comp.engine import evaluate
from spmopt.comp.inputs import Roster, measure_quota, merged_terms, payee_terms, quota_rows
from spmopt.comp.plan import CompPlan, Credit, cents
from spmopt.comp.run import merged_quotas
from spmopt.config import CompConfig
from spmopt.errors import ConfigError, DataError
from spmopt.quota.periods import split_exact
from spmopt.sim.inputs import SimInputs
from spmopt.sim.params import BehaviourParams

GRID_STEP = 0.02
GRID_MAX = 4.0
LEVELS = 13
"""Uncertainty levels: months left in the year, 0..12."""

FIELDS = ("amount", "margin", "deals", "new_logos")


@dataclass(frozen=True, slots=True)
class PlanContext:
    """One plan as the simulator sees it: quotas, target pay and the engine-priced incentive tables."""

    plan: CompPlan
    quota: np.ndarray
    """(seats, periods, measures) int64, as the comp engine takes it."""
    target_incentive: np.ndarray
    """(seats,) cents."""
    annual_quota: np.ndarray
    """(seats,) the payee row's annual quota in cents (attainment and reference pay)."""
    month_quota: np.ndarray
    """(seats, 12) the payee row's monthly quota in cents."""
    reference_rate: np.ndarray
    """(seats,) the baseline (first) plan's expected marginal pay per cent of sales for a rep on track at the
    start of the year: effort is 1 where a cent of sales pays this much (target pay per quota cent when the
    baseline pays nothing at the margin there)."""
    on_track_rate: np.ndarray
    """(seats,) this plan's expected marginal pay per cent of sales for a rep on track at the start of a year:
    what a deal pushed into next year is worth under the same plan."""
    ray: np.ndarray
    """(seats, measures) expected credit of each measure per cent of sales."""
    marginal: np.ndarray
    """(seats, LEVELS, grid, measures) expected marginal pay, cents per unit of credit."""
    expected_pay: np.ndarray
    """(seats, LEVELS, grid) expected annual pay, cents."""
    mask: np.ndarray
    """(measures, products) 1 where a measure counts a product."""
    field: tuple[int, ...]
    """Index into FIELDS of each measure's credit field."""
    spif_value: np.ndarray
    """(spifs,) cents per unit of SPIF credit."""
    spif_mask: np.ndarray
    spif_field: tuple[int, ...]
    spif_days: np.ndarray
    """(spifs, 2) first and last+1 day of each SPIF window, from the year start."""
    period_end: np.ndarray
    """(periods,) day each payout period ends."""
    month_period: np.ndarray
    """(12,) payout period of each plan-year month."""
    spell: np.ndarray
    """(seats,) share of a full year's normal-effort sales the seat's first rep closes in the plan year: the tables
    are priced on the full-year expectation times this (1 for reps on board all year)."""

    @property
    def periods(self) -> int:
        return self.plan.periods


def _mask(credit: Credit, products: tuple[str, ...]) -> np.ndarray:
    return np.array([credit.products is None or p in credit.products for p in products], dtype=float)


def check_plan(plan: CompPlan, params: BehaviourParams, where: str) -> None:
    """Refuse a plan that counts something the simulation never produces."""
    products = tuple(params.pipeline.products)
    for kind, items in (("measure", plan.measures), ("SPIF", plan.spifs)):
        for item in items:
            wanted = item.credit.products
            if wanted is not None and not set(wanted) & set(products):
                raise ConfigError(
                    f"{where}: {kind} {item.name} counts products {', '.join(wanted)}, which the simulation does "
                    f"not produce (behaviour products: {', '.join(products)})"
                )
    if plan.year_start is None:
        raise ConfigError(
            f"{where}: the simulation needs the plan's year_start (the dates of the plan year), or the scenario's "
            "comp.plan_year"
        )


def plan_contexts(
    plans: list[CompPlan],
    inputs: SimInputs,
    params: BehaviourParams,
    comp: CompConfig | None,
    quota_table: pd.DataFrame,
) -> list[PlanContext]:
    """A context per plan; the first plan's marginal pay on track is every plan's effort reference."""
    contexts: list[PlanContext] = []
    extra = [comp.quotas] if comp is not None and comp.quotas is not None else []
    terms = merged_terms(extra, payee_terms(quota_table, "the quota stage's quotas"))
    for plan in plans:
        rows = merged_quotas(extra, plan, quota_rows(quota_table, "the quota stage's quotas", plan))
        ref = None if not contexts else contexts[0].reference_rate
        contexts.append(plan_context(plan, inputs, params, rows, ref, terms))
    return contexts


def plan_context(
    plan: CompPlan,
    inputs: SimInputs,
    params: BehaviourParams,
    rows: dict,
    reference_rate: np.ndarray | None = None,
    terms: Roster | None = None,
) -> PlanContext:
    """Quotas, target pay and incentive tables of one plan for every seat; a rep's own target incentive in
    `terms` (the quotas files' `target_incentive`) replaces the plan's."""
    n, k = len(inputs.seats), len(plan.measures)
    quota = np.zeros((n, plan.periods, k), dtype=np.int64)
    for s, rep in enumerate(inputs.reps):
        for j in range(k):
            q = measure_quota(rows, rep, plan, j)
            if q is None:
                raise DataError(
                    f"plan {plan.name}: no quota for rep {rep}, measure {plan.measures[j].name}; count measures "
                    "need rows in comp.quotas"
                )
            quota[s, :, j] = q
    month = np.zeros((n, 12), dtype=np.int64)
    for s, rep in enumerate(inputs.reps):
        base = rows.get((rep, None))
        month[s] = _monthly(base, plan) if base is not None else 0
    annual = month.sum(axis=1)
    own = {rep: t.target_incentive for rep, t in (terms or {}).items() if t.target_incentive is not None}
    ti = np.array([own.get(rep, cents(plan.role("rep").target_incentive)) for rep in inputs.reps], dtype=np.int64)
    products = tuple(params.pipeline.products)
    mix = params.pipeline.products
    share = np.array([mix[p].share for p in products])
    margin = np.array([mix[p].margin for p in products])
    field = tuple(FIELDS.index(m.credit.field) for m in plan.measures)
    mask = np.array([_mask(m.credit, products) for m in plan.measures]).reshape(k, len(products))
    p_win = params.pipeline.win_probability
    spell = inputs.first_spell()
    # A new hire's quota covers the part of the year they sell in, so their tables must too: priced on the
    # full-year expectation, a rep on track would look far past quota and ease off.
    expected = inputs.expected_amount(p_win) * spell
    mean_size = _mean_deal(inputs, p_win)
    nl = params.pipeline.new_logo_share.value
    per_field = np.stack(
        [
            np.broadcast_to(share, (n, len(products))),
            np.broadcast_to(share * margin, (n, len(products))),
            100 * share[None, :] / mean_size[:, None],
            100 * nl * share[None, :] / mean_size[:, None],
        ]
    )  # (fields, seats, products): credit per cent of sales
    ray = np.stack([(per_field[field[j]] * mask[j]).sum(axis=1) for j in range(k)], axis=1)
    for j, m in enumerate(plan.measures):
        if not (ray[:, j] > 0).all():
            raise ConfigError(f"plan {plan.name}: measure {m.name} gets no credit from the simulated sales")
    # Their target incentive is prorated to the part of the year they are on the plan, as the comp stage and the
    # pay step (`people.target_share`) prorate it.
    on_plan = np.maximum(float(inputs.days) - inputs.start_day, 0.0) / float(inputs.days)
    ti_spell = np.rint(ti * on_plan).astype(np.int64)
    cv = params.motivation.forecast_cv.value
    marginal, expected_pay = _tables(plan, quota.sum(axis=1), ti_spell, expected, ray, cv)
    # What a cent of sales pays a rep on track for their expectation at the start of the year (target pay per
    # quota cent where the plan pays nothing at the margin there).
    at_target = int(round(1.0 / GRID_STEP))
    on_track = (ray * marginal[:, LEVELS - 1, at_target, :]).sum(axis=1)
    on_track = np.where(on_track > 0, on_track, np.divide(ti_spell, annual, out=np.zeros(n), where=annual > 0))
    if reference_rate is None:
        # The forecast behind the quotas assumes today's (baseline) plan, so its on-track pay is effort 1.
        reference_rate = on_track
    spif_value, spif_days = _spifs(plan, inputs)
    spif_mask = np.array([_mask(s.credit, products) for s in plan.spifs]).reshape(len(plan.spifs), len(products))
    per = 12 // plan.periods
    return PlanContext(
        plan=plan,
        quota=quota,
        target_incentive=ti,
        annual_quota=annual,
        month_quota=month,
        reference_rate=reference_rate,
        on_track_rate=on_track,
        ray=ray,
        marginal=marginal,
        expected_pay=expected_pay,
        mask=mask,
        field=field,
        spif_value=spif_value,
        spif_mask=spif_mask,
        spif_field=tuple(FIELDS.index(s.credit.field) for s in plan.spifs),
        spif_days=spif_days,
        period_end=inputs.month_days[per::per].astype(float),
        month_period=np.arange(12) // per,
        spell=spell,
    )


def _monthly(values: np.ndarray, plan: CompPlan) -> np.ndarray:
    """A payee row's quota per month (a quarterly row is spread over its months, largest remainder)."""
    if len(values) == 12:
        return values.astype(np.int64)
    return np.array([part for v in values for part in split_exact(int(v), np.ones(3))], dtype=np.int64)


def _mean_deal(inputs: SimInputs, p_win: float) -> np.ndarray:
    """(seats,) mean won-deal size in cents, weighted by each unit's deal count."""
    wins = inputs.unit_rate * p_win
    total = np.bincount(inputs.unit_seat, weights=wins * inputs.unit_size, minlength=len(inputs.seats))
    count = np.bincount(inputs.unit_seat, weights=wins, minlength=len(inputs.seats))
    return np.divide(total, count, out=np.ones_like(total), where=count > 0)


def grid() -> np.ndarray:
    return np.arange(0.0, GRID_MAX + GRID_STEP / 2, GRID_STEP)


def sigma_of_level(level: int, cv: float) -> float:
    return cv * np.sqrt(level / 12)


def _kernels(cv: float) -> np.ndarray:
    """(LEVELS, grid, grid) Gaussian averaging weights over x + Z, renormalised at the grid's ends."""
    x = grid()
    out = np.empty((LEVELS, len(x), len(x)))
    for level in range(LEVELS):
        sigma = sigma_of_level(level, cv)
        if sigma < GRID_STEP / 4:
            out[level] = np.eye(len(x))
            continue
        w = np.exp(-0.5 * ((x[None, :] - x[:, None]) / sigma) ** 2)
        out[level] = w / w.sum(axis=1, keepdims=True)
    return out


def _tables(
    plan: CompPlan, q_year: np.ndarray, ti: np.ndarray, expected: np.ndarray, ray: np.ndarray, cv: float
) -> tuple[np.ndarray, np.ndarray]:
    """Engine-priced (marginal, expected pay) tables; the draw is left out (an advance, not earnings), and so are
    period pay caps (the tables price a whole year as one period)."""
    earning = plan.without_period_caps().model_copy(update={"draw": None})
    x = grid()
    n, k = ray.shape
    base = x[None, :, None] * expected[:, None, None] * ray[:, None, :]  # (seats, grid, measures)

    def pay(credit: np.ndarray) -> np.ndarray:
        c = np.rint(credit).astype(np.int64).reshape(n * len(x), 1, k)
        q = np.broadcast_to(q_year[:, None, :], (n, len(x), k)).reshape(n * len(x), 1, k)
        return evaluate(earning, c, q, np.repeat(ti, len(x))).payment[:, 0].reshape(n, len(x)).astype(float)

    pay0 = pay(base)
    kernels = _kernels(cv)
    marginal = np.empty((n, LEVELS, len(x), k))
    for j in range(k):
        step = GRID_STEP * expected * ray[:, j]
        bumped = base.copy()
        bumped[:, :, j] += step[:, None]
        diff = (pay(bumped) - pay0) / np.rint(step)[:, None]
        marginal[:, :, :, j] = np.einsum("lgh,sh->slg", kernels, diff)
    expected_pay = np.einsum("lgh,sh->slg", kernels, pay0)
    return marginal, expected_pay


def _spifs(plan: CompPlan, inputs: SimInputs) -> tuple[np.ndarray, np.ndarray]:
    """Engine price of one unit of each SPIF's credit, and its window in days."""
    if not plan.spifs:
        return np.zeros(0), np.zeros((0, 2))
    k, m = len(plan.measures), len(plan.spifs)
    units = np.array([10_000 if s.rate is not None else 100 for s in plan.spifs], dtype=np.int64)
    spif_credit = np.zeros((m, 1, m), dtype=np.int64)
    spif_credit[np.arange(m), 0, np.arange(m)] = units
    zero = np.zeros((m, 1, k), dtype=np.int64)
    earning = plan.without_period_caps().model_copy(update={"draw": None})
    paid = evaluate(earning, zero, zero, np.zeros(m, dtype=np.int64), spif_credit).payment[:, 0]
    days = np.array(
        [[(s.start - inputs.year_start).days, (s.end - inputs.year_start).days + 1] for s in plan.spifs], dtype=float
    )
    return paid / units, days
