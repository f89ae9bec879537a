"""Plan KPIs (cost, pay spread, pay-for-performance, leverage, cap and threshold shares), exact marginal pay
for the rep-behaviour simulator, payout curves, and the what-if earnings estimator.

Money is int cents throughout (as in `spmopt.comp.engine`); totals over payees are exact Python ints (an int64
sum over many payees could wrap); ratios are floats; marginal rates are exact `Fraction`s. A payee's annual
attainment on a measure is year credit / year quota (0 while the year quota is 0, as in the engine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from spmopt.comp.engine import Cents, Evaluation, evaluate, exact_sum
from spmopt.comp.plan import CompPlan, Measure, curve_payout

PERCENTILE_METHOD = "lower"
"""numpy percentile method for every percentile here: the sorted value at index floor((n - 1) q), so each
percentile is an actual payee's value (never an interpolation between two payees)."""

DEFAULT_GRID = tuple(Fraction(k, 20) for k in range(41))
"""Attainments 0, 0.05, ..., 2.0, exactly."""


@dataclass(frozen=True, slots=True)
class PlanKpis:
    """Cost and fairness KPIs of one evaluated plan; money in int cents, ratios as floats."""

    payees: int
    total_cost: int
    """Sum of all payments over the year."""
    target_cost: int
    """Sum of target incentives (each payee's own, role's or the plan's, for their months on the plan)."""
    revenue: int
    cost_of_sales_pct: float | None
    """100 total_cost / revenue (None when revenue is 0)."""
    cost_vs_target_pct: float | None
    """100 total_cost / target_cost (None when target_cost is 0)."""
    pay_p10: int
    pay_p25: int
    pay_p50: int
    pay_p75: int
    pay_p90: int
    """Percentiles of the payees' year payments (`PERCENTILE_METHOD`: actual payees' values)."""
    attainment_p10: float
    attainment_p50: float
    attainment_p90: float
    """Percentiles of annual attainment: the weight-weighted mean over curve measures (the first measure's
    attainment for commission-only plans)."""
    pay_for_performance: float | None
    """Spearman rank correlation of attainment with year pay (None for < 3 payees or a constant input)."""
    leverage: float | None
    """90th percentile of pay_i / TI_i over payees with TI > 0 (2.0: top performers earn twice target)."""
    share_at_cap: float
    """Share of payees with at least one capped curve measure whose annual payout f(a) has reached its cap, or
    whose year's pay a pay cap (a measure's or the plan's) cut."""
    share_below_threshold: float
    """Share of payees whose annual attainment on the first measure is below its first paying level."""

    def as_dict(self) -> dict[str, int | float | None]:
        """The KPIs as plain Python values, for a JSON manifest."""
        return asdict(self)


def plan_kpis(
    plan: CompPlan, ev: Evaluation, credit: Cents, quota: Cents, target_incentive: Cents, revenue: Cents
) -> PlanKpis:
    """KPIs of `ev = evaluate(plan, credit, quota, target_incentive, ...)`; revenue is cents per payee."""
    payment = np.asarray(ev.payment, dtype=np.int64)
    credit, quota = np.asarray(credit, dtype=np.int64), np.asarray(quota, dtype=np.int64)
    ti, revenue = np.asarray(target_incentive, dtype=np.int64), np.asarray(revenue, dtype=np.int64)
    n = payment.shape[0]
    if n == 0:
        raise ValueError("plan KPIs need at least one payee")
    if credit.shape[0] != n or quota.shape != credit.shape or ti.shape != (n,) or revenue.shape != (n,):
        raise ValueError(
            f"payments for {n} payees, credit {credit.shape}, quota {quota.shape}, target incentive {ti.shape} "
            f"and revenue {revenue.shape} must describe the same payees"
        )
    pay = payment.sum(axis=1)
    c_year, q_year = credit.sum(axis=1), quota.sum(axis=1)
    attainment = _attainment(plan, c_year, q_year)
    total, target, sales = exact_sum(pay), exact_sum(ti), exact_sum(revenue)
    p10, p25, p50, p75, p90 = (int(v) for v in np.percentile(pay, [10, 25, 50, 75, 90], method=PERCENTILE_METHOD))
    a10, a50, a90 = (float(v) for v in np.percentile(attainment, [10, 50, 90], method=PERCENTILE_METHOD))
    paid_ti = ti > 0
    leverage = float(np.percentile(pay[paid_ti] / ti[paid_ti], 90, method=PERCENTILE_METHOD)) if paid_ti.any() else None
    return PlanKpis(
        payees=n,
        total_cost=total,
        target_cost=target,
        revenue=sales,
        cost_of_sales_pct=100 * total / sales if sales else None,
        cost_vs_target_pct=100 * total / target if target else None,
        pay_p10=p10,
        pay_p25=p25,
        pay_p50=p50,
        pay_p75=p75,
        pay_p90=p90,
        attainment_p10=a10,
        attainment_p50=a50,
        attainment_p90=a90,
        pay_for_performance=_spearman(attainment, pay),
        leverage=leverage,
        share_at_cap=float((_at_cap(plan, c_year, q_year) | _pay_capped(ev)).mean()),
        share_below_threshold=float(_below_threshold(plan.measures[0], c_year[:, 0], q_year[:, 0]).mean()),
    )


def _attainment(plan: CompPlan, c_year: np.ndarray, q_year: np.ndarray) -> np.ndarray:
    """(payees,) sum_k w_k C_k / Q_k over curve measures (weights add up to 1), else C_0 / Q_0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        each = np.where(q_year > 0, c_year / np.where(q_year > 0, q_year, 1), 0.0)
    weights = np.array([float(m.weight) if m.curve is not None else 0.0 for m in plan.measures])
    return each @ weights if weights.any() else each[:, 0]


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rho of x and y; None when it is undefined (fewer than 3 points or a constant input)."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rho = float(spearmanr(x, y).statistic)
    return None if np.isnan(rho) else rho


def _at_cap(plan: CompPlan, c_year: np.ndarray, q_year: np.ndarray) -> np.ndarray:
    """(payees,) bool: uncapped f_k(C_k / Q_k) >= cap_k for some capped curve measure k with Q_k > 0."""
    out = np.zeros(c_year.shape[0], dtype=bool)
    for k, m in enumerate(plan.measures):
        if m.curve is None or m.cap is None:
            continue
        c, q = c_year[:, k], q_year[:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(q > 0, c / np.where(q > 0, q, 1), 0.0)
        value, cap, x0 = _payout_float(m, a), float(m.cap), float(m.curve[0].attainment)
        hit = (q > 0) & (value >= cap)
        # Float attainment can land on the wrong side of the cap or of the threshold jump; settle those exactly.
        unsure = (q > 0) & ((np.abs(value - cap) <= 1e-9 * (1 + cap)) | (np.abs(a - x0) <= 1e-12 * (1 + x0)))
        for i in np.nonzero(unsure)[0]:
            hit[i] = curve_payout(m.curve, None, Fraction(int(c[i]), int(q[i]))) >= m.cap
        out |= hit
    return out


def _pay_capped(ev: Evaluation) -> np.ndarray:
    """(payees,) bool: a pay cap took something off the year's pay."""
    return (np.asarray(ev.cap_ytd)[:, -1].sum(axis=1) + np.asarray(ev.pay_cap_ytd)[:, -1]) != 0


def _payout_float(measure: Measure, a: np.ndarray) -> np.ndarray:
    """Uncapped curve payout at float attainments: 0 below the first point, linear, last slope extended."""
    assert measure.curve is not None
    xs = np.array([float(p.attainment) for p in measure.curve])
    ys = np.array([float(p.payout) for p in measure.curve])
    seg = np.clip(np.searchsorted(xs, a, side="right") - 1, 0, len(xs) - 2)
    value = ys[seg] + (ys[seg + 1] - ys[seg]) / (xs[seg + 1] - xs[seg]) * (a - xs[seg])
    return np.where(a >= xs[0], value, 0.0)


def first_paying_level(measure: Measure) -> Fraction | None:
    """Attainment from which the measure starts paying (None: it never pays).

    Curve: the first point if it pays there, else the last zero point before the first point with payout > 0
    (the curve rises from it); tiers: the start of the first tier with rate > 0."""
    if measure.tiers is not None:
        return next((Fraction(t.start) for t in measure.tiers if t.rate > 0), None)
    assert measure.curve is not None
    pts = measure.curve
    first = next((j for j, p in enumerate(pts) if p.payout > 0), None)
    if first is None:
        # All points at 0: the extended last segment is flat at 0 too.
        return None
    return Fraction(pts[max(first - 1, 0)].attainment)


def _below_threshold(measure: Measure, c: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(payees,) bool: C / Q < first paying level, compared in integers like the engine (a = 0 while Q = 0)."""
    level = first_paying_level(measure)
    if level is None:
        return np.ones(c.shape, dtype=bool)
    return np.where(q > 0, c * level.denominator < level.numerator * q, level > 0)


# ------------------------------------------------------------------------------------------- marginal pay


def _measure(plan: CompPlan, name: str) -> Measure:
    for m in plan.measures:
        if m.name == name:
            return m
    raise ValueError(f"unknown measure '{name}' (have: {', '.join(plan.measure_names)})")


def marginal_rate(plan: CompPlan, measure_name: str, attainment: Fraction, quota_year: int, ti: int) -> Fraction:
    """Exact right-derivative d amount / d C of the measure's annual amount (cents per cent or per count of
    credit) at annual attainment a = C / Q_year.

    Curve: TI w f'(a) / Q_year, 0 below the first point and where the cap binds (the uncapped payout is above
    the cap, or at it and not falling). Commission: the rate of the band holding a, both for `marginal` and
    `retroactive` tiers; a retroactive band edge's step jump (and the curve's threshold jump and bonuses) is
    a jump, not a slope: see `step_jumps`. No modifier, gate or pay cap is applied (they depend on other
    measures and on the year's path); with Q_year <= 0 the engine's rule holds: a curve pays 0, tiers pay the
    first rate if it starts at 0."""
    m = _measure(plan, measure_name)
    a = Fraction(attainment)
    if m.tiers is not None:
        if quota_year <= 0:
            return Fraction(m.tiers[0].rate) if m.tiers[0].start == 0 else Fraction(0)
        reached = [t for t in m.tiers if Fraction(t.start) <= a]
        return Fraction(reached[-1].rate) if reached else Fraction(0)
    assert m.curve is not None
    pts = [(Fraction(p.attainment), Fraction(p.payout)) for p in m.curve]
    if quota_year <= 0 or a < pts[0][0]:
        return Fraction(0)
    # Right-derivative: the segment starting at or before a (the last one extends upwards).
    j = min(max(k for k, (x, _) in enumerate(pts) if x <= a), len(pts) - 2)
    slope = (pts[j + 1][1] - pts[j][1]) / (pts[j + 1][0] - pts[j][0])
    if m.cap is not None:
        value = curve_payout(m.curve, None, a)
        cap = Fraction(m.cap)
        if value > cap or (value == cap and slope >= 0):
            return Fraction(0)
    return ti * Fraction(m.weight) * slope / quota_year


def step_jumps(plan: CompPlan, measure_name: str, quota_year: int, ti: int) -> list[tuple[Fraction, Fraction]]:
    """(attainment, exact cents) jumps of the measure's annual amount on reaching each level, ascending:
    the curve's threshold jump TI w min(f(x_0), cap), retroactive band edges (r_j - r_{j-1}) s_j Q_year, and
    quota bonuses at annual attainment (a milestone's deadline is ignored); no modifier or gate applied."""
    m = _measure(plan, measure_name)
    jumps: list[tuple[Fraction, Fraction]] = []
    if quota_year > 0 and m.curve is not None:
        x0 = Fraction(m.curve[0].attainment)
        jump = ti * Fraction(m.weight) * curve_payout(m.curve, m.cap, x0)
        if jump:
            jumps.append((x0, jump))
    if quota_year > 0 and m.tiers is not None and m.tier_mode == "retroactive":
        before = Fraction(0)
        for t in m.tiers:
            jump = (Fraction(t.rate) - before) * Fraction(t.start) * quota_year
            if jump:
                jumps.append((Fraction(t.start), jump))
            before = Fraction(t.rate)
    jumps += [(Fraction(b.attainment), Fraction(b.amount) * 100) for b in m.bonuses]
    return sorted(jumps, key=lambda j: j[0])


def payout_curves(
    plan: CompPlan,
    ti: int,
    quota_year: int | Mapping[str, int],
    attainments: Sequence[Fraction | Decimal] = DEFAULT_GRID,
) -> pd.DataFrame:
    """Annual pay by attainment, every measure at the same attainment: columns attainment (float), pay_<name>
    (earned cents from `evaluate`, one period, bonuses, gates and year pay caps included; period caps do not
    apply to a year taken as one period), total (their sum after the plan's year pay cap, before any draw),
    marginal_<name> (`marginal_rate` in currency per currency of credit, per count for count measures).

    `quota_year` is every measure's annual quota, or one per measure name; credit is a x Q, rounded to a whole
    unit (half to even) when that is not whole."""
    quotas = [quota_year[m.name] if isinstance(quota_year, Mapping) else quota_year for m in plan.measures]
    grid = [Fraction(a) for a in attainments]
    credit = np.array([[[round(a * q) for q in quotas]] for a in grid], dtype=np.int64).reshape(len(grid), 1, -1)
    quota = np.broadcast_to(np.array(quotas, dtype=np.int64), credit.shape).copy()
    # Each grid point is its own one-period payee, so one engine call prices the whole grid.
    ev = evaluate(plan.without_period_caps(), credit, quota, np.full(len(grid), ti, dtype=np.int64))
    table: dict[str, object] = {"attainment": [float(a) for a in grid]}
    for k, m in enumerate(plan.measures):
        table[f"pay_{m.name}"] = ev.earned_ytd[:, 0, k]
    table["total"] = ev.earned_ytd[:, 0, :].sum(axis=1) + ev.pay_cap_ytd[:, 0]
    for m, q in zip(plan.measures, quotas, strict=True):
        # Rates are cents per unit of credit: per cent is already currency per currency; per count, / 100.
        unit = 100 if m.credit.is_count else 1
        table[f"marginal_{m.name}"] = [float(marginal_rate(plan, m.name, a, q, ti) / unit) for a in grid]
    return pd.DataFrame(table)


# ------------------------------------------------------------------------------------------------ what-if


def what_if(
    plan: CompPlan,
    credit: Cents,
    quota: Cents,
    target_incentive: Cents | None,
    payee: int,
    period: int,
    measure: str,
    extra: int,
    spif_credit: Cents | None = None,
    draw: Cents | None = None,
) -> tuple[int, int]:
    """(year, period) payment deltas in cents of adding `extra` to credit[payee, period, measure]: the
    difference of two `evaluate` runs on that payee alone, so exact (`draw`: the payees' draw schedule)."""
    k = plan.measure_names.index(_measure(plan, measure).name)
    n = np.shape(credit)[0]
    if not 0 <= payee < n:
        raise ValueError(f"payee {payee} is out of range for {n} payees")
    rows = slice(payee, payee + 1)
    c = np.array(np.asarray(credit)[rows], dtype=np.int64)  # a copy of this payee only: the caller's is kept
    q = np.asarray(quota, dtype=np.int64)[rows]
    ti = None if target_incentive is None else np.asarray(target_incentive, dtype=np.int64)[rows]
    spif = None if spif_credit is None else np.asarray(spif_credit, dtype=np.int64)[rows]
    schedule = None if draw is None else np.asarray(draw, dtype=np.int64)[rows]
    before = evaluate(plan, c, q, ti, spif, schedule).payment[0]
    c[0, period, k] += extra
    after = evaluate(plan, c, q, ti, spif, schedule).payment[0]
    return int(after.sum() - before.sum()), int(after[period] - before[period])
