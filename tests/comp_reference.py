"""Plain reference implementation of plan payouts: one payee, period and measure at a time, in exact fractions.

Written from the plan's definition (models/comp), not from the vectorised engine or the run's crediting code;
tests compare the two.
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


def attainment(c: int, q: int) -> Fraction | None:
    return Fraction(c, q) if q else None


def reached(c: int, q: int, level) -> bool:
    return q != 0 and Fraction(c, q) >= Fraction(level)


class Capper:
    """A pay cap followed through the year: each period's rise at most the period cap (the rest is lost), a fall
    taken whole, the total at most the year cap."""

    def __init__(self, cap) -> None:
        self.cap, self.before, self.kept = cap, 0, 0

    def __call__(self, earned_to_date: int) -> int:
        if self.cap is None:
            return earned_to_date
        rise = earned_to_date - self.before
        self.before = earned_to_date
        if self.cap.period is not None:
            rise = min(rise, int(self.cap.period * 100))
        self.kept += rise
        return self.kept if self.cap.year is None else min(self.kept, int(self.cap.year * 100))


def on_plan(start: int, end: int, first_month: int, last_month: int) -> int:
    """How many of the months first_month..last_month (1-based, inclusive) lie in start..end."""
    return sum(1 for month in range(first_month, last_month + 1) if max(start, 1) <= month <= end)


def prorate(annual: int, start: int, end: int, rule: str) -> int:
    """An annual amount in cents for the months start..end of the plan year."""
    return _round(Fraction(annual * on_plan(start, end, 1, 12), 12), rule)


def draw_due(plan: CompPlan, p: int, periods: int, tenure) -> int:
    """The draw of payout period p (0-based) for a payee on the plan from tenure = (start, end) month, or all
    year when tenure is None: the draw's amount in the first `draw.periods` periods from the one holding the
    start, times the share of the period's months on the plan."""
    draw = plan.draw
    amount = int(draw.amount * 100)
    if tenure is None:
        return amount if p < (draw.periods or periods) else 0
    start, end = max(tenure[0], 1), tenure[1]
    months = 12 // plan.periods
    first = (start - 1) // months
    if p < first or (draw.periods is not None and p >= first + draw.periods):
        return 0
    return _round(Fraction(amount * on_plan(start, end, p * months + 1, (p + 1) * months), months), plan.rounding)


def pay(plan: CompPlan, credit, quota, ti, spif_credit=None, tenure=None):
    """Per payee: (earned_ytd[p][k], payments[p], unrecovered); SPIF earnings are added to the payee's total.

    `ti` is the annual target incentive; with `tenure` (per payee (start_month, end_month) or None) it is
    prorated to the months on the plan and the draw follows them."""
    out = []
    names = [m.name for m in plan.measures]
    for i in range(len(credit)):
        periods = len(credit[i])
        when = None if tenure is None else tenure[i]
        target = ti[i] if when is None else prorate(ti[i], when[0], when[1], plan.rounding)
        cappers = [Capper(m.pay_cap) for m in plan.measures]
        total_capper = Capper(plan.pay_cap)
        draws_to_date = 0
        ytd_c = [[sum(credit[i][q][k] for q in range(p + 1)) for k in range(len(names))] for p in range(periods)]
        ytd_q = [[sum(quota[i][q][k] for q in range(p + 1)) for k in range(len(names))] for p in range(periods)]
        year_q = ytd_q[-1]
        earned, payments, paid, base_paid, forgiven = [], [], 0, 0, 0
        for p in range(periods):
            row = []
            for k, m in enumerate(plan.measures):
                c, q = ytd_c[p][k], ytd_q[p][k]
                a = Fraction(c, q) if q else None
                if m.curve is not None:
                    value = Fraction(0)
                    if a is not None:
                        value = target * Fraction(m.weight) * Fraction(q, year_q[k]) * curve_payout(m, a)
                else:
                    value = commission(m, c, q)
                if m.modifier is not None:
                    g = names.index(m.modifier.measure)
                    factor = Fraction(1)
                    for step in m.modifier.steps:
                        if reached(ytd_c[p][g], ytd_q[p][g], step.start):
                            factor = Fraction(step.factor)
                    value *= factor
                amount = _round(value, plan.rounding)
                for b in m.bonuses:
                    at = p if b.by_period is None else min(p, b.by_period - 1)
                    if reached(ytd_c[at][k], ytd_q[at][k], b.attainment):
                        amount += int(b.amount * 100)
                if m.gate is not None:
                    g = names.index(m.gate.measure)
                    gq = ytd_q[p][g]
                    if not gq or Fraction(ytd_c[p][g], gq) < Fraction(m.gate.min_attainment):
                        amount = 0
                row.append(cappers[k](amount))
            earned.append(row)
            spif_total = 0
            for s, spif in enumerate(plan.spifs):
                c = sum(spif_credit[i][q][s] for q in range(p + 1)) if spif_credit is not None else 0
                if spif.per_deal is not None:
                    spif_total += _round(Fraction(c * int(spif.per_deal * 100), 100), plan.rounding)
                else:
                    spif_total += _round(Fraction(spif.rate) * c, plan.rounding)
            total = total_capper(sum(row) + spif_total)
            due = total - base_paid
            if plan.negative_balance == "carry_forward" and due < 0:
                due = 0
            base_paid += due
            draw = plan.draw
            paid_to_date = base_paid + forgiven
            if draw is not None:
                this_period = draw_due(plan, p, periods, when)
                draws_to_date += this_period
                if draw.recoverable:
                    # An advance: paid-to-date never below the draws so far; later earnings pay it back.
                    paid_to_date = max(base_paid, draws_to_date)
                elif this_period > 0 and due < this_period:
                    forgiven += this_period - due
                    paid_to_date = base_paid + forgiven
            payments.append(paid_to_date - paid)
            paid = paid_to_date
        out.append((earned, payments, paid - forgiven - total))
    return out


OWN_CREDIT = ("direct", "split", "clawback", "overlay")
"""The README's own credit: a seller's direct line or split share, its clawbacks, and overlay credit; a
manager's roll-up lines are not their own."""


def spif_credit(plan: CompPlan, lines, payees, periods: int):
    """[payee][period][spif] qualifying SPIF credit from credit lines (mappings with payee_id, how, period,
    deal_date, product and the credit fields): the payee's own lines only, of the SPIF's products, dealt
    inside its window (a cancellation carries its deal's date)."""
    out = [[[0] * len(plan.spifs) for _ in range(periods)] for _ in payees]
    row = {p: i for i, p in enumerate(payees)}
    for line in lines:
        if line["how"] not in OWN_CREDIT or line["payee_id"] not in row:
            continue
        for s, spif in enumerate(plan.spifs):
            if spif.credit.products is not None and line["product"] not in spif.credit.products:
                continue
            if spif.start <= line["deal_date"] <= spif.end:
                out[row[line["payee_id"]]][line["period"]][s] += int(line[spif.credit.field])
    return out
