"""Vectorised payout engine: payees x periods x measures in integer cents, exact to the cent.

For payee i, measure k and period p, with year-to-date credit C and quota Q (cents) and attainment
a = C / Q (0 while Q = 0), the measure's year-to-date earnings are

* curve measure: TI_i w_k (Q / Q_year) f_k(a), with f_k the plan's piecewise-linear curve (0 below the
  first point, capped), i.e. the target incentive accrues with the quota's seasonality;
* commission: marginal sum_j r_j clip(C - s_j Q, 0, (e_j - s_j) Q), or retroactive r_band(a) C;
* plus every quota bonus whose attainment level is reached; all of it 0 while a gate is closed.

Each is rounded to cents with the plan's rule. A period pays year-to-date earnings minus what was paid
before (true-up); with `carry_forward` a shortfall pays 0 and is netted later, with `recover` it is a
negative payment. Thresholds are compared in integers (C * den >= num * Q), so a rep exactly at a
threshold is always on it; amounts are computed in float64 and any amount within float error of a
half-cent is recomputed exactly with fractions, so results equal exact rational arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from spmopt.comp.plan import CompPlan, Measure

Cents = np.ndarray


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything a plan paid, in cents; every array reconciles with the others exactly."""

    measures: tuple[str, ...]
    earned_ytd: Cents
    """(payees, periods, measures): year-to-date earnings per measure, rounded."""
    lines: Cents
    """(payees, periods, measures): this period's earnings per measure (increment of `earned_ytd`)."""
    adjustment: Cents
    """(payees, periods): carry-forward netting, so lines + adjustment = payment."""
    payment: Cents
    """(payees, periods): paid in the period."""
    unrecovered: Cents
    """(payees,): paid above the year's earnings and not recovered by year end (carry_forward only)."""

    @property
    def total_paid(self) -> int:
        return int(self.payment.sum())


def evaluate(plan: CompPlan, credit: Cents, quota: Cents, target_incentive: Cents | None = None) -> Evaluation:
    """Pay `plan` on per-period `credit` and `quota` (int64 cents, shape payees x periods x measures)."""
    credit = np.asarray(credit, dtype=np.int64)
    quota = np.asarray(quota, dtype=np.int64)
    if credit.shape != quota.shape or credit.ndim != 3 or credit.shape[2] != len(plan.measures):
        raise ValueError(
            f"credit {credit.shape} and quota {quota.shape} must both be payees x periods x "
            f"{len(plan.measures)} measures"
        )
    n = credit.shape[0]
    ti = np.full(n, _to_cents(plan.target_incentive), dtype=np.int64) if target_incentive is None else target_incentive
    ytd_credit = np.cumsum(credit, axis=1)
    ytd_quota = np.cumsum(quota, axis=1)
    index = {m.name: k for k, m in enumerate(plan.measures)}
    earned = np.zeros_like(ytd_credit)
    for k, measure in enumerate(plan.measures):
        c, q = ytd_credit[:, :, k], ytd_quota[:, :, k]
        amount = _round(plan, measure, c, q, ti)
        amount += _bonuses(measure, c, q)
        if measure.gate is not None:
            g = index[measure.gate.measure]
            amount *= _reached(ytd_credit[:, :, g], ytd_quota[:, :, g], measure.gate.min_attainment)
        earned[:, :, k] = amount
    lines = np.diff(earned, axis=1, prepend=0)
    total = earned.sum(axis=2)
    # carry_forward: never pay back below the highest amount paid so far, so paid-to-date is a running max.
    carried = np.maximum.accumulate(np.maximum(total, 0), axis=1)
    paid_to_date = total if plan.negative_balance == "recover" else carried
    payment = np.diff(paid_to_date, axis=1, prepend=0)
    return Evaluation(
        measures=plan.measure_names,
        earned_ytd=earned,
        lines=lines,
        adjustment=payment - lines.sum(axis=2),
        payment=payment,
        unrecovered=paid_to_date[:, -1] - total[:, -1],
    )


def _to_cents(amount: Decimal) -> int:
    return int(amount * 100)


def _ratio(x: Decimal) -> tuple[int, int]:
    f = Fraction(x)
    return f.numerator, f.denominator


def _reached(c: np.ndarray, q: np.ndarray, level: Decimal) -> np.ndarray:
    """a >= level in exact integers (never while Q = 0)."""
    num, den = _ratio(level)
    return (q > 0) & (c * den >= num * q)


def _bonuses(measure: Measure, c: np.ndarray, q: np.ndarray) -> np.ndarray:
    out = np.zeros_like(c)
    for bonus in measure.bonuses:
        out += _to_cents(bonus.amount) * _reached(c, q, bonus.attainment)
    return out


def _round(plan: CompPlan, measure: Measure, c: np.ndarray, q: np.ndarray, ti: np.ndarray) -> np.ndarray:
    """The measure's exact year-to-date amount in whole cents: float fast path, exact path near half-cents."""
    value = _curve_value(measure, c, q, ti) if measure.curve is not None else _commission_value(measure, c, q)
    rounded = np.rint(value) if plan.rounding == "half_even" else np.sign(value) * np.floor(np.abs(value) + 0.5)
    near = np.abs(np.abs(value - np.floor(value)) - 0.5) <= 1e-12 * np.abs(value) + 1e-9
    result = rounded.astype(np.int64)
    for i, p in zip(*np.nonzero(near), strict=True):
        exact = exact_amount(measure, int(c[i, p]), int(q[i, p]), int(q[i, -1]), int(ti[i]))
        result[i, p] = round_cents(exact, plan.rounding)
    return result


def _segment_index(points: list[Decimal], c: np.ndarray, q: np.ndarray) -> np.ndarray:
    """How many of `points` the attainment has reached (exact)."""
    reached = np.zeros(c.shape, dtype=np.int64)
    for x in points:
        reached += _reached(c, q, x)
    return reached


def _curve_value(measure: Measure, c: np.ndarray, q: np.ndarray, ti: np.ndarray) -> np.ndarray:
    pts = measure.curve
    assert pts is not None
    xs = np.array([float(p.attainment) for p in pts])
    ys = np.array([float(p.payout) for p in pts])
    slopes = np.diff(ys) / np.diff(xs)
    reached = _segment_index([p.attainment for p in pts], c, q)
    seg = np.clip(reached - 1, 0, len(pts) - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        attainment = np.where(q > 0, c / np.where(q > 0, q, 1), 0.0)
        share = np.where(q[:, -1:] > 0, q / np.where(q[:, -1:] > 0, q[:, -1:], 1), 0.0)
    payout = ys[seg] + slopes[seg] * (attainment - xs[seg])
    payout = np.where(reached > 0, payout, 0.0)
    if measure.cap is not None:
        payout = np.minimum(payout, float(measure.cap))
    return ti[:, None] * float(measure.weight) * share * payout


def _commission_value(measure: Measure, c: np.ndarray, q: np.ndarray) -> np.ndarray:
    tiers = measure.tiers
    assert tiers is not None
    cf, qf = c.astype(float), q.astype(float)
    if measure.tier_mode == "retroactive":
        reached = _segment_index([t.start for t in tiers], c, q)
        rates = np.array([0.0] + [float(t.rate) for t in tiers])
        return rates[reached] * cf
    value = np.zeros(c.shape)
    for k, tier in enumerate(tiers):
        start = float(tier.start) * qf
        band = cf - start
        if k + 1 < len(tiers):
            band = np.minimum(band, (float(tiers[k + 1].start) - float(tier.start)) * qf)
        value += float(tier.rate) * np.clip(band, 0.0, None)
    return np.where(q > 0, value, float(tiers[0].rate) * cf * (tiers[0].start == 0))


def exact_amount(measure: Measure, c: int, q: int, q_year: int, ti: int) -> Fraction:
    """The measure's year-to-date amount in cents as an exact fraction (before rounding, without bonuses)."""
    a = Fraction(c, q) if q > 0 else Fraction(0)
    if measure.curve is not None:
        if q <= 0:
            return Fraction(0)
        return ti * Fraction(measure.weight) * Fraction(q, q_year) * measure.payout_at(a)
    tiers = measure.tiers
    assert tiers is not None
    if q <= 0:
        return Fraction(tiers[0].rate) * c if tiers[0].start == 0 else Fraction(0)
    if measure.tier_mode == "retroactive":
        reached = [t for t in tiers if Fraction(t.start) <= a]
        return Fraction(reached[-1].rate) * c if reached else Fraction(0)
    total = Fraction(0)
    for k, tier in enumerate(tiers):
        band = c - Fraction(tier.start) * q
        if k + 1 < len(tiers):
            band = min(band, (Fraction(tiers[k + 1].start) - Fraction(tier.start)) * q)
        total += Fraction(tier.rate) * max(band, Fraction(0))
    return total


def round_cents(value: Fraction, rule: str) -> int:
    """Whole cents from an exact amount: half to even, or half away from zero."""
    if rule == "half_even":
        return round(value)
    sign = 1 if value >= 0 else -1
    return sign * int(abs(value) + Fraction(1, 2))
