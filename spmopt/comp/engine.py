"""Vectorised payout engine: payees x periods x measures in integer cents, exact to the cent.

For payee i, measure k and period p, with year-to-date credit C and quota Q and attainment a = C / Q
(0 while Q = 0), the measure's year-to-date earnings are

* curve measure: TI_i w_k (Q / Q_year) f_k(a), with f_k the plan's piecewise-linear curve (0 below the
  first point, capped), i.e. the target incentive accrues with the quota's seasonality;
* commission: marginal sum_j r_j clip(C - s_j Q, 0, (e_j - s_j) Q), or retroactive r_band(a) C;
* times the modifier's factor at the modifying measure's attainment, rounded to cents with the plan's rule;
* plus every quota bonus whose attainment level is reached (a milestone bonus looks only at its deadline);
* all of it 0 while a gate is closed;
* then the measure's pay cap: each period's increment at most the period cap (the excess is forfeited), the
  year-to-date total at most the year cap.

SPIFs earn rate x qualifying credit (rounded) or a fixed amount per qualifying deal. Counts (deals, new
logos) are credited in hundredths (`COUNT_SCALE`), so a deal split 60/40 counts 60 and 40. The plan's pay cap
limits the total of measures and SPIFs the same way. A period pays year-to-date earnings minus what was paid
before (true-up); with `carry_forward` a shortfall pays 0 and is netted later, with `recover` it is a negative
payment. Draws follow a per-payee schedule (`draw_schedule`: from the payee's start, prorated in part periods,
never after their end; by default the plan's amount in its first periods): a recoverable draw lifts paid-to-date
to at least the draws scheduled so far (later earnings pay it back); a non-recoverable draw tops each scheduled
period's payment up to that period's draw and is never recovered. Thresholds are compared in integers
(C * den >= num * Q), so a rep exactly at a threshold is always on it; amounts are computed in float64 and any
amount within float error of a half-cent is recomputed exactly with fractions, so results equal exact rational
arithmetic.

int64 never wraps silently: integer sums and differences are exact whenever the true result fits (two's
complement arithmetic is exact modulo 2^64), which a float64 shadow of each total checks (`SAFE_CENTS`);
threshold products that could leave the int64 range are compared in Python integers instead; anything still
beyond the range is refused with a `DataError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from spmopt.comp.plan import COUNT_SCALE, CompPlan, Measure, Modifier, PayCap, cents
from spmopt.errors import DataError

Cents = np.ndarray

INT64_LIMIT = 2**63
SAFE_CENTS = 2**61
"""Largest magnitude of any credit, quota or money total the engine accepts (about 2.3 x 10^16 currency units).
Below it, float64 shadows (relative error < 10^-12) prove the int64 totals did not wrap, and a difference of two
such values still fits in int64."""


def exact_sum(values: np.ndarray | pd.Series | list[int]) -> int:
    """The sum of integers as a Python int: int64 when it cannot wrap, Python integers otherwise."""
    arr = np.asarray(values)
    if arr.size == 0:
        return 0
    if arr.dtype.kind in "iu" and _magnitude(arr) < INT64_LIMIT // arr.size:
        return int(arr.sum())
    return sum(int(v) for v in arr.ravel().tolist())


def _magnitude(values: np.ndarray) -> int | float:
    """Largest |value| (np.abs would wrap the most negative int64); NaN if any value is NaN."""
    if not values.size:
        return 0
    top, bottom = values.max(), values.min()
    return max(int(top), -int(bottom)) if values.dtype.kind in "iuO" else max(float(top), -float(bottom))


def _check_range(what: str, plan: CompPlan, bound: int | float, shadow: Callable[[], np.ndarray]) -> None:
    """Refuse figures beyond `SAFE_CENTS` (their int64 counterparts may have wrapped). `bound` is a cheap upper
    bound of their magnitude; only when it is not below the limit is the float64 `shadow` of the figures built
    and checked one by one."""
    if bound < SAFE_CENTS:  # NaN fails this test too
        return
    values = shadow()
    big = ~(np.abs(values) < SAFE_CENTS)  # NaN or inf count as too big
    if big.any():
        where = tuple(int(v) for v in np.argwhere(big)[0])
        raise DataError(
            f"plan '{plan.name}': {what} at (payee, period[, column]) {where} is about {float(values[where]):.3g} "
            f"(cents or hundredths), beyond the engine's int64 range ({SAFE_CENTS:.3g}); check the plan's amounts, "
            "rates and payout multiples and the credit"
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything a plan paid, in cents; the arrays reconcile exactly:
    lines.sum(2) + spif_lines.sum(2) + pay_cap_lines + adjustment + draw = payment."""

    measures: tuple[str, ...]
    spifs: tuple[str, ...]
    earned_ytd: Cents
    """(payees, periods, measures): year-to-date earnings per measure, bonuses included and the measure's pay cap
    applied, rounded."""
    bonus_ytd: Cents
    """(payees, periods, measures): the bonus part of `earned_ytd`."""
    cap_ytd: Cents
    """(payees, periods, measures): the part of `earned_ytd` the measure's pay cap took off year to date (<= 0)."""
    pay_cap_ytd: Cents
    """(payees, periods): what the plan's pay cap took off the year-to-date total of measures and SPIFs (<= 0)."""
    spif_ytd: Cents
    """(payees, periods, spifs): year-to-date SPIF earnings."""
    adjustment: Cents
    """(payees, periods): carry-forward netting of shortfalls (0 under `recover`)."""
    draw: Cents
    """(payees, periods): draw paid (+) or recovered from earnings (-)."""
    payment: Cents
    """(payees, periods): paid in the period."""
    unrecovered: Cents
    """(payees,): paid above the year's earnings and still owed at year end (non-recoverable draws excluded)."""

    @property
    def lines(self) -> Cents:
        """(payees, periods, measures): this period's earnings per measure (increment of `earned_ytd`)."""
        return np.diff(self.earned_ytd, axis=1, prepend=0)

    @property
    def spif_lines(self) -> Cents:
        return np.diff(self.spif_ytd, axis=1, prepend=0)

    @property
    def pay_cap_lines(self) -> Cents:
        """(payees, periods): this period's change of `pay_cap_ytd`."""
        return np.diff(self.pay_cap_ytd, axis=1, prepend=0)

    @property
    def earned(self) -> Cents:
        """(payees,): the year's earnings, measures and SPIFs, after every pay cap."""
        return self.earned_ytd[:, -1].sum(axis=1) + self.spif_ytd[:, -1].sum(axis=1) + self.pay_cap_ytd[:, -1]

    @property
    def total_paid(self) -> int:
        return int(self.payment.sum())


def evaluate(
    plan: CompPlan,
    credit: Cents,
    quota: Cents,
    target_incentive: Cents | None = None,
    spif_credit: Cents | None = None,
    draw: Cents | None = None,
) -> Evaluation:
    """Pay `plan` on per-period `credit` and `quota` (int64, payees x periods x measures; money in cents,
    counts as counts), per-payee target incentive (cents), per-period SPIF credit (payees x periods x spifs)
    and per-payee draw per period (payees x periods, cents >= 0, e.g. from `draw_schedule`; default: the
    plan's draw amount in its first `periods` periods for everyone)."""
    credit = np.asarray(credit, dtype=np.int64)
    quota = np.asarray(quota, dtype=np.int64)
    if credit.shape != quota.shape or credit.ndim != 3 or credit.shape[2] != len(plan.measures):
        raise ValueError(
            f"credit {credit.shape} and quota {quota.shape} must both be payees x periods x "
            f"{len(plan.measures)} measures"
        )
    n, periods, _ = credit.shape
    ti = (
        np.full(n, cents(plan.target_incentive), dtype=np.int64)
        if target_incentive is None
        else np.asarray(target_incentive, dtype=np.int64)
    )
    _check_range("target incentive", plan, _magnitude(ti), lambda: ti.astype(float))
    ytd_credit = np.cumsum(credit, axis=1)
    ytd_quota = np.cumsum(quota, axis=1)
    for what, values in (("year-to-date credit", credit), ("year-to-date quota", quota)):
        _check_range(what, plan, _magnitude(values) * periods, lambda v=values: np.cumsum(v, axis=1, dtype=float))
    # One bound for every threshold product below: C den and num Q need Python integers only beyond int64.
    top = max(_magnitude(ytd_credit), _magnitude(ytd_quota))
    index = {m.name: k for k, m in enumerate(plan.measures)}
    earned = np.zeros_like(ytd_credit)
    bonus = np.zeros_like(ytd_credit)
    cap = np.zeros_like(ytd_credit)
    for k, measure in enumerate(plan.measures):
        c, q = ytd_credit[:, :, k], ytd_quota[:, :, k]
        step = None
        if measure.modifier is not None:
            g = index[measure.modifier.measure]
            steps = [s.start for s in measure.modifier.steps]
            step = _segment_index(steps, ytd_credit[:, :, g], ytd_quota[:, :, g], top)
        amount = _round(plan, measure, c, q, ti, step, top)
        bonus[:, :, k] = _bonuses(measure, c, q, top)
        if measure.gate is not None:
            g = index[measure.gate.measure]
            open_ = _reached(ytd_credit[:, :, g], ytd_quota[:, :, g], measure.gate.min_attainment, top)
            amount *= open_
            bonus[:, :, k] *= open_
        earned[:, :, k] = amount + bonus[:, :, k]
        _check_range(
            f"measure {measure.name} earnings",
            plan,
            _magnitude(amount) + _magnitude(bonus[:, :, k]),
            lambda a=amount, b=bonus[:, :, k]: a.astype(float) + b,
        )
        if measure.pay_cap is not None:
            what = f"measure {measure.name} earnings after its pay cap"
            capped = _capped(plan, what, earned[:, :, k], measure.pay_cap)
            cap[:, :, k] = capped - earned[:, :, k]
            earned[:, :, k] = capped
    spif_ytd = _spifs(plan, spif_credit, n, periods)
    total = earned.sum(axis=2) + spif_ytd.sum(axis=2)
    _check_range(
        "year-to-date earnings",
        plan,
        sum(_magnitude(earned[:, :, k]) for k in range(earned.shape[2]))
        + sum(_magnitude(spif_ytd[:, :, s]) for s in range(spif_ytd.shape[2])),
        lambda: earned.sum(axis=2, dtype=float) + spif_ytd.sum(axis=2, dtype=float),
    )
    pay_cap = np.zeros_like(total)
    if plan.pay_cap is not None:
        capped = _capped(plan, "year-to-date earnings after the plan's pay cap", total, plan.pay_cap)
        pay_cap, total = capped - total, capped
    # carry_forward: never pay back below the highest amount paid so far, so paid-to-date is a running max.
    base = total if plan.negative_balance == "recover" else np.maximum.accumulate(np.maximum(total, 0), axis=1)
    paid, forgiven = _with_draw(plan, base, _draws(plan, draw, n, periods))
    payment = np.diff(paid, axis=1, prepend=0)
    base_payment = np.diff(base, axis=1, prepend=0)
    return Evaluation(
        measures=plan.measure_names,
        spifs=tuple(s.name for s in plan.spifs),
        earned_ytd=earned,
        bonus_ytd=bonus,
        cap_ytd=cap,
        pay_cap_ytd=pay_cap,
        spif_ytd=spif_ytd,
        adjustment=base_payment - np.diff(total, axis=1, prepend=0),
        draw=payment - base_payment,
        payment=payment,
        unrecovered=paid[:, -1] - forgiven - total[:, -1],
    )


def _spifs(plan: CompPlan, spif_credit: Cents | None, n: int, periods: int) -> Cents:
    if spif_credit is None:
        spif_credit = np.zeros((n, periods, len(plan.spifs)), dtype=np.int64)
    spif_credit = np.asarray(spif_credit, dtype=np.int64)
    if spif_credit.shape != (n, periods, len(plan.spifs)):
        raise ValueError(f"spif credit {spif_credit.shape} must be {n} payees x {periods} periods x {len(plan.spifs)}")
    _check_range(
        "year-to-date SPIF credit",
        plan,
        _magnitude(spif_credit) * periods,
        lambda: np.cumsum(spif_credit, axis=1, dtype=float),
    )
    out = np.zeros_like(spif_credit)
    for k, spif in enumerate(plan.spifs):
        c = np.cumsum(spif_credit[:, :, k], axis=1)
        if spif.per_deal is not None:
            num, den = cents(spif.per_deal), COUNT_SCALE
        else:
            num, den = _ratio(spif.rate)
        value = _round_ratio(_times(c, num), den, plan.rounding)
        _check_range(f"SPIF {spif.name} earnings", plan, _magnitude(value), lambda v=value: np.asarray(v, dtype=float))
        out[:, :, k] = value.astype(np.int64)
    return out


def _times(values: np.ndarray, factor: int, top: int | None = None) -> np.ndarray:
    """values x factor exactly: int64 when the product fits, else Python integers (an object array); `top` is a
    known bound of |values|."""
    if (_magnitude(values) if top is None else top) * abs(factor) < INT64_LIMIT:
        return values * factor
    return values.astype(object) * factor


def _round_ratio(numerator: np.ndarray, den: int, rule: str) -> np.ndarray:
    """numerator / den rounded to integers with the plan's rule, in exact integer arithmetic."""
    # // and % rather than divmod: they also run on the Python integers of an object array.
    whole, rest = numerator // den, numerator % den
    twice = 2 * rest
    if rule == "half_even":
        return whole + ((twice > den) | ((twice == den) & (whole % 2 == 1)))
    return whole + np.where(numerator >= 0, twice >= den, twice > den)


def _capped(plan: CompPlan, what: str, ytd: np.ndarray, cap: PayCap) -> np.ndarray:
    """Year-to-date amounts (payees, periods) under a pay cap: each period's increment at most `cap.period` (the
    excess is forfeited; a fall passes through whole), then the running total at most `cap.year`."""
    out = ytd
    if cap.period is not None:
        step = np.diff(ytd, axis=1, prepend=0)
        # Forfeits are at most the rises, so |out| <= |ytd| + periods x 2 |ytd|.
        _check_range(
            what,
            plan,
            _magnitude(ytd) * (1 + 2 * ytd.shape[1]),
            lambda: np.cumsum(np.minimum(step.astype(float), cents(cap.period)), axis=1),
        )
        out = np.cumsum(np.minimum(step, cents(cap.period)), axis=1)
    if cap.year is not None:
        out = np.minimum(out, cents(cap.year))
    return out


def _draws(plan: CompPlan, draw: Cents | None, n: int, periods: int) -> np.ndarray:
    """(payees, periods) draw per period: the given schedule, or the plan's amount in its first periods."""
    if draw is None:
        if plan.draw is None:
            return np.zeros((n, periods), dtype=np.int64)
        active = np.arange(periods) < (plan.draw.periods or periods)
        return np.broadcast_to(cents(plan.draw.amount) * active, (n, periods)).astype(np.int64)
    out = np.asarray(draw, dtype=np.int64)
    if out.shape != (n, periods):
        raise ValueError(f"draw {out.shape} must be {n} payees x {periods} periods")
    if (out < 0).any():
        raise ValueError("a draw schedule holds amounts >= 0 per period")
    if plan.draw is None and out.any():
        raise ValueError(f"plan '{plan.name}' has no draw, so a draw schedule must be all 0")
    _check_range("draws to date", plan, _magnitude(out) * periods, lambda: np.cumsum(out, axis=1, dtype=float))
    return out


def _with_draw(plan: CompPlan, base: np.ndarray, draw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Paid-to-date with the draw schedule, and the non-recoverable top-ups paid by year end."""
    n = base.shape[0]
    if plan.draw is None:
        return base, np.zeros(n, dtype=np.int64)
    if plan.draw.recoverable:
        return np.maximum(base, np.cumsum(draw, axis=1)), np.zeros(n, dtype=np.int64)
    # Only scheduled periods are topped up: elsewhere a fall in earnings is not the draw's to cover.
    top_up = np.maximum(draw - np.diff(base, axis=1, prepend=0), 0) * (draw > 0)
    forgiven = np.cumsum(top_up, axis=1)
    return base + forgiven, forgiven[:, -1]


def months_on_plan(start_month: np.ndarray, end_month: np.ndarray) -> np.ndarray:
    """(payees, 12) True for the plan-year months (1-based `start_month`..`end_month`, inclusive) a payee is on
    the plan; a start of 0 counts as 1."""
    month = np.arange(1, 13)
    start = np.maximum(np.asarray(start_month, dtype=np.int64), 1)
    return (month[None, :] >= start[:, None]) & (month[None, :] <= np.asarray(end_month, dtype=np.int64)[:, None])


def prorated(amount: np.ndarray, months: np.ndarray, rule: str) -> np.ndarray:
    """Annual amounts (cents) x months on the plan / 12, rounded to cents with the plan's rule."""
    value = _round_ratio(np.asarray(amount, dtype=np.int64) * np.asarray(months, dtype=np.int64), 12, rule)
    return np.asarray(value, dtype=np.int64)


def draw_schedule(plan: CompPlan, start_month: np.ndarray, end_month: np.ndarray) -> np.ndarray:
    """(payees, plan periods) each payee's draw per payout period, in cents: the plan's amount in their first
    `draw.periods` periods on the plan (counted from the period holding their start month), times the share of
    the period's months they are on the plan (rounded with the plan's rule), 0 before their start and after
    their end."""
    on = months_on_plan(start_month, end_month)
    n, periods = on.shape[0], plan.periods
    if plan.draw is None:
        return np.zeros((n, periods), dtype=np.int64)
    per = 12 // periods
    months = on.reshape(n, periods, per).sum(axis=2)
    first = (np.maximum(np.asarray(start_month, dtype=np.int64), 1) - 1) // per
    index = np.arange(periods)[None, :]
    active = (index >= first[:, None]) & (index < first[:, None] + (plan.draw.periods or periods))
    return np.asarray(_round_ratio(cents(plan.draw.amount) * months, per, plan.rounding), dtype=np.int64) * active


def _ratio(x: Decimal) -> tuple[int, int]:
    f = Fraction(x)
    return f.numerator, f.denominator


def _reached(c: np.ndarray, q: np.ndarray, level: Decimal, top: int) -> np.ndarray:
    """a >= level in exact integers (never while Q = 0); `top` bounds |C| and |Q|."""
    num, den = _ratio(level)
    # A level with many decimals has a large denominator: the products may need more than int64.
    return (q > 0) & np.asarray(_times(c, den, top) >= _times(q, num, top), dtype=bool)


def _bonuses(measure: Measure, c: np.ndarray, q: np.ndarray, top: int) -> np.ndarray:
    out = np.zeros_like(c)
    periods = np.arange(c.shape[1])
    for bonus in measure.bonuses:
        reached = _reached(c, q, bonus.attainment, top)
        if bonus.by_period is not None:
            reached = reached[:, np.minimum(periods, bonus.by_period - 1)]
        out += cents(bonus.amount) * reached
    return out


def _factors(modifier: Modifier) -> list[Fraction]:
    """Factor by modifier step reached (1 below the first step)."""
    return [Fraction(1)] + [Fraction(s.factor) for s in modifier.steps]


def _round(
    plan: CompPlan,
    measure: Measure,
    c: np.ndarray,
    q: np.ndarray,
    ti: np.ndarray,
    step: np.ndarray | None,
    top: int,
) -> np.ndarray:
    """The measure's exact year-to-date amount in whole cents: float fast path, exact path near half-cents."""
    curve = measure.curve is not None
    value = _curve_value(measure, c, q, ti, top) if curve else _commission_value(measure, c, q, top)
    if step is not None:
        factors = _factors(measure.modifier)
        value = value * np.array([float(f) for f in factors])[step]
    _check_range(f"measure {measure.name} amount", plan, _magnitude(value), lambda: value)
    rounded = np.rint(value) if plan.rounding == "half_even" else np.sign(value) * np.floor(np.abs(value) + 0.5)
    near = np.abs(np.abs(value - np.floor(value)) - 0.5) <= 1e-12 * np.abs(value) + 1e-9
    result = rounded.astype(np.int64)
    for i, p in zip(*np.nonzero(near), strict=True):
        exact = exact_amount(measure, int(c[i, p]), int(q[i, p]), int(q[i, -1]), int(ti[i]))
        if step is not None:
            exact *= _factors(measure.modifier)[step[i, p]]
        result[i, p] = round_cents(exact, plan.rounding)
    return result


def _segment_index(points: list[Decimal], c: np.ndarray, q: np.ndarray, top: int) -> np.ndarray:
    """How many of `points` the attainment has reached (exact)."""
    reached = np.zeros(c.shape, dtype=np.int64)
    for x in points:
        reached += _reached(c, q, x, top)
    return reached


def _curve_value(measure: Measure, c: np.ndarray, q: np.ndarray, ti: np.ndarray, top: int) -> np.ndarray:
    pts = measure.curve
    assert pts is not None
    xs = np.array([float(p.attainment) for p in pts])
    ys = np.array([float(p.payout) for p in pts])
    slopes = np.diff(ys) / np.diff(xs)
    reached = _segment_index([p.attainment for p in pts], c, q, top)
    seg = np.clip(reached - 1, 0, len(pts) - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        attainment = np.where(q > 0, c / np.where(q > 0, q, 1), 0.0)
        share = np.where(q[:, -1:] > 0, q / np.where(q[:, -1:] > 0, q[:, -1:], 1), 0.0)
    payout = ys[seg] + slopes[seg] * (attainment - xs[seg])
    payout = np.where(reached > 0, payout, 0.0)
    if measure.cap is not None:
        payout = np.minimum(payout, float(measure.cap))
    return ti[:, None] * float(measure.weight) * share * payout


def _commission_value(measure: Measure, c: np.ndarray, q: np.ndarray, top: int) -> np.ndarray:
    tiers = measure.tiers
    assert tiers is not None
    cf, qf = c.astype(float), q.astype(float)
    # With no quota yet, attainment is undefined: the first tier applies if it starts at 0 (both tier modes).
    no_quota = float(tiers[0].rate) * cf * (tiers[0].start == 0)
    if measure.tier_mode == "retroactive":
        reached = _segment_index([t.start for t in tiers], c, q, top)
        rates = np.array([0.0] + [float(t.rate) for t in tiers])
        return np.where(q > 0, rates[reached] * cf, no_quota)
    value = np.zeros(c.shape)
    for k, tier in enumerate(tiers):
        start = float(tier.start) * qf
        band = cf - start
        if k + 1 < len(tiers):
            band = np.minimum(band, (float(tiers[k + 1].start) - float(tier.start)) * qf)
        value += float(tier.rate) * np.clip(band, 0.0, None)
    return np.where(q > 0, value, no_quota)


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
