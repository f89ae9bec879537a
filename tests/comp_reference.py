"""Plain reference implementation of plan payouts: one payee, period and measure at a time, in exact fractions.

Written from the plan's definition (models/comp), not from the vectorised engine; tests compare the two.
"""

from __future__ import annotations

from fractions import Fraction

from spmopt.comp.plan import CompPlan, Measure


def _round(value: Fraction, rule: str) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2):
        return floor + 1
    if rest < Fraction(1, 2):
        return floor
    if rule == "half_even":
        return floor if floor % 2 == 0 else floor + 1
    return floor + 1 if value > 0 else floor


def curve_payout(measure: Measure, a: Fraction) -> Fraction:
    points = [(Fraction(p.attainment), Fraction(p.payout)) for p in measure.curve]
    if a < points[0][0]:
        return Fraction(0)
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if a < x1:
            value = y0 + (a - x0) * (y1 - y0) / (x1 - x0)
            break
    else:
        (x0, y0), (x1, y1) = points[-2], points[-1]
        value = y1 + (a - x1) * (y1 - y0) / (x1 - x0)
    if measure.cap is not None and value > Fraction(measure.cap):
        value = Fraction(measure.cap)
    return value


def commission(measure: Measure, credit: int, quota: int) -> Fraction:
    tiers = measure.tiers
    if quota == 0:
        return Fraction(tiers[0].rate) * credit if tiers[0].start == 0 else Fraction(0)
    a = Fraction(credit, quota)
    if measure.tier_mode == "retroactive":
        rate = Fraction(0)
        for tier in tiers:
            if a >= Fraction(tier.start):
                rate = Fraction(tier.rate)
        return rate * credit
    total = Fraction(0)
    for k, tier in enumerate(tiers):
        low = Fraction(tier.start) * quota
        high = Fraction(tiers[k + 1].start) * quota if k + 1 < len(tiers) else None
        top = credit if high is None else min(credit, high)
        if top > low:
            total += Fraction(tier.rate) * (top - low)
    return total


def pay(plan: CompPlan, credit: list[list[list[int]]], quota: list[list[list[int]]], ti: list[int]):
    """Per payee: (earned_ytd[p][k], payments[p], unrecovered)."""
    out = []
    names = [m.name for m in plan.measures]
    for i in range(len(credit)):
        periods = len(credit[i])
        ytd_c = [[sum(credit[i][q][k] for q in range(p + 1)) for k in range(len(names))] for p in range(periods)]
        ytd_q = [[sum(quota[i][q][k] for q in range(p + 1)) for k in range(len(names))] for p in range(periods)]
        year_q = ytd_q[-1]
        earned, payments, paid = [], [], 0
        for p in range(periods):
            row = []
            for k, m in enumerate(plan.measures):
                c, q = ytd_c[p][k], ytd_q[p][k]
                a = Fraction(c, q) if q else None
                if m.curve is not None:
                    value = Fraction(0)
                    if a is not None:
                        value = ti[i] * Fraction(m.weight) * Fraction(q, year_q[k]) * curve_payout(m, a)
                else:
                    value = commission(m, c, q)
                amount = _round(value, plan.rounding)
                amount += sum(int(b.amount * 100) for b in m.bonuses if a is not None and a >= Fraction(b.attainment))
                if m.gate is not None:
                    g = names.index(m.gate.measure)
                    gq = ytd_q[p][g]
                    if not gq or Fraction(ytd_c[p][g], gq) < Fraction(m.gate.min_attainment):
                        amount = 0
                row.append(amount)
            earned.append(row)
            due = sum(row) - paid
            if plan.negative_balance == "carry_forward" and due < 0:
                due = 0
            payments.append(due)
            paid += due
        out.append((earned, payments, paid - sum(earned[-1])))
    return out
