"""Comp-plan language: the validated pydantic schema of a plan YAML (plan year and payout frequency, roles
and pay mix, measures with their crediting source, payout curves, commission tiers, gates, modifiers, quota
and milestone bonuses, pay caps, SPIFs, draws, clawbacks, rounding and negative-balance rules).

Every number that defines money is a `Decimal` written in the YAML (never a float), so a plan's
thresholds and rates are exact; amounts are in currency units with at most two decimals (cents) and at most
`MAX_AMOUNT`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from spmopt.config import StrictModel
from spmopt.errors import ConfigError


def cents(amount: Decimal) -> int:
    """A validated plan amount (at most two decimals) in whole cents."""
    return int(amount * 100)


MAX_AMOUNT = Decimal(10**13)
"""Largest money value a plan may hold, in currency units (10 trillion). In cents (10^15) it is below 2^53, so
float64 holds every plan amount exactly, and int64 cents (up to 9.2 x 10^18) leave room for thousands of such
amounts in one payee's year; the engine refuses any amount that would still leave the int64 range."""


def _cents(value: Decimal, what: str) -> Decimal:
    # The size check comes first: quantize raises on values with more digits than the decimal context holds.
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"{what} {value} is beyond the largest amount a plan may hold ({MAX_AMOUNT:,} currency units)")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"{what} {value} has more than two decimals (amounts are whole cents)")
    return value


class CurvePoint(StrictModel):
    """One breakpoint of a payout curve: at `attainment` the measure pays `payout` x its target incentive."""

    attainment: Decimal = Field(ge=0)
    payout: Decimal = Field(ge=0)


class Tier(StrictModel):
    """A commission rate that applies from attainment `start` (inclusive) to `end` (exclusive; open if None)."""

    model_config = StrictModel.model_config | {"populate_by_name": True}

    start: Decimal = Field(alias="from", ge=0)
    end: Decimal | None = Field(default=None, alias="to")
    rate: Decimal = Field(ge=0)
    """Share of credited sales paid, e.g. 0.05 for 5%."""


class Bonus(StrictModel):
    """A fixed amount earned once the measure's year-to-date attainment reaches `attainment`.

    With `by_period` it is a milestone: only attainment reached by the end of that payout period counts,
    and the verdict is frozen from then on."""

    attainment: Decimal = Field(gt=0)
    amount: Decimal = Field(gt=0)
    by_period: int | None = Field(default=None, ge=1)

    @field_validator("amount")
    @classmethod
    def _whole_cents(cls, amount: Decimal) -> Decimal:
        return _cents(amount, "amount")


class PayCap(StrictModel):
    """Most a measure (or a payee's whole incentive pay) earns, as amounts: per payout period and/or per plan year.

    A period's earnings above `period` are forfeited, not carried into later periods; a later fall in earnings
    (a clawback, a true-up) comes off what was paid. Year-to-date earnings never exceed `year`."""

    period: Decimal | None = Field(default=None, gt=0)
    year: Decimal | None = Field(default=None, gt=0)

    @field_validator("period", "year")
    @classmethod
    def _whole_cents(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _cents(value, "amount")

    @model_validator(mode="after")
    def _some_cap(self) -> PayCap:
        if self.period is None and self.year is None:
            raise ValueError("give `period` (most paid per payout period) and/or `year` (most paid per plan year)")
        return self


class Gate(StrictModel):
    """The measure pays only while `measure`'s year-to-date attainment is at least `min_attainment`."""

    measure: str
    min_attainment: Decimal = Field(gt=0)


class ModifierStep(StrictModel):
    """From `from` attainment of the modifying measure (inclusive) the factor is `factor`."""

    model_config = StrictModel.model_config | {"populate_by_name": True}

    start: Decimal = Field(alias="from", ge=0)
    factor: Decimal = Field(ge=0)


class Modifier(StrictModel):
    """Multiplies a measure's curve or commission amount by a step function of another measure's attainment."""

    measure: str
    steps: tuple[ModifierStep, ...] = Field(min_length=1)
    """Ascending `from` levels; below the first level the factor is 1."""

    @model_validator(mode="after")
    def _ascending(self) -> Modifier:
        levels = [s.start for s in self.steps]
        if levels != sorted(set(levels)):
            raise ValueError("modifier steps must have strictly ascending `from` levels")
        return self

    def factor_at(self, attainment: Fraction) -> Fraction:
        """The step factor at an attainment of the modifying measure, exactly."""
        factor = Fraction(1)
        for step in self.steps:
            if attainment >= step.start:
                factor = Fraction(step.factor)
        return factor


COUNT_SCALE = 100
"""Count credit (deals, new logos) is in hundredths so that split deals conserve exactly."""

CreditField = Literal["amount", "margin", "deals", "new_logos"]
"""What a transaction contributes: its amount or margin (currency), or a count of deals / new logos."""


class Credit(StrictModel):
    """Which transactions a measure (or SPIF) counts, and what it counts of them."""

    field: CreditField = "amount"
    products: tuple[str, ...] | None = None
    """Only transactions of these products (all products when omitted)."""

    @property
    def is_count(self) -> bool:
        return self.field in ("deals", "new_logos")


class Measure(StrictModel):
    """One plan measure: paid on a curve of target incentive, or as commission on credited sales."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    weight: Decimal = Field(default=Decimal(0), ge=0, le=1)
    """Share of the target incentive the curve pays at payout 1.0 (curve measures)."""
    curve: tuple[CurvePoint, ...] | None = None
    """Breakpoints, attainment ascending; 0 below the first (threshold), linear between, the last segment's
    slope continues above the last point unless `cap` stops it."""
    cap: Decimal | None = Field(default=None, ge=0)
    """Largest payout as a multiple of the measure's target incentive (curve measures)."""
    pay_cap: PayCap | None = None
    """Most the measure pays, bonuses included, as amounts per payout period and/or per plan year (any measure)."""
    tiers: tuple[Tier, ...] | None = None
    """Commission rates by attainment band (commission measures)."""
    tier_mode: Literal["marginal", "retroactive"] = "marginal"
    """`marginal`: each band of sales at its own rate. `retroactive`: all sales at the rate of the band reached."""
    bonuses: tuple[Bonus, ...] = ()
    gate: Gate | None = None
    modifier: Modifier | None = None
    credit: Credit = Credit()
    quota_scale: Decimal = Field(default=Decimal(1), gt=0)
    """The measure's quota as a multiple of the payee's quota when the quotas file has no row for it."""

    @model_validator(mode="after")
    def _one_kind(self, info: ValidationInfo) -> Measure:
        names = (info.context or {}).get("measure_names")
        for what, ref in (("gate", self.gate), ("modifier", self.modifier)):
            # Checked here too (with the names from the file) so the error points at this measure's line.
            if names is not None and ref is not None and ref.measure not in names:
                raise ValueError(f"{what} names unknown measure '{ref.measure}' (have: {', '.join(map(str, names))})")
        if (self.curve is None) == (self.tiers is None):
            raise ValueError("give either `curve` (paid on target incentive) or `tiers` (commission), not both")
        if self.curve is not None:
            _check_curve(self.curve, self.cap)
            if self.weight <= 0:
                raise ValueError("a curve measure needs weight > 0 (its share of the target incentive)")
        if self.tiers is not None:
            _check_tiers(self.tiers)
            if self.cap is not None:
                raise ValueError(
                    "cap (a payout multiple of target incentive) applies to curve measures; cap a commission "
                    "measure's pay with pay_cap: {period: AMOUNT, year: AMOUNT}"
                )
            if self.credit.is_count:
                raise ValueError(
                    f"commission tiers pay a share of money; credit field '{self.credit.field}' is a count"
                )
        levels = [b.attainment for b in self.bonuses]
        if levels != sorted(set(levels)):
            raise ValueError("bonuses must have strictly ascending attainment levels")
        return self

    def payout_at(self, attainment: Fraction) -> Fraction:
        """Curve payout (multiple of target incentive) at an attainment, exactly."""
        assert self.curve is not None
        return curve_payout(self.curve, self.cap, attainment)


def curve_payout(curve: tuple[CurvePoint, ...], cap: Decimal | None, attainment: Fraction) -> Fraction:
    """0 below the first point, linear between points, the last segment extended above the last, capped."""
    pts = [(Fraction(p.attainment), Fraction(p.payout)) for p in curve]
    if attainment < pts[0][0]:
        return Fraction(0)
    k = max(j for j, (x, _) in enumerate(pts) if x <= attainment)
    j = min(k, len(pts) - 2)
    (x0, y0), (x1, y1) = pts[j], pts[j + 1]
    value = y0 + (y1 - y0) * (attainment - x0) / (x1 - x0)
    return min(value, Fraction(cap)) if cap is not None else value


def _check_curve(curve: tuple[CurvePoint, ...], cap: Decimal | None) -> None:
    if len(curve) < 2:
        raise ValueError("a payout curve needs at least two points")
    for k in range(1, len(curve)):
        if curve[k].attainment <= curve[k - 1].attainment:
            raise ValueError(
                f"curve point {k}: attainment {curve[k].attainment} is not above point {k - 1}'s "
                f"{curve[k - 1].attainment} (thresholds must ascend)"
            )
    if cap is not None:
        at_target = curve_payout(curve, None, Fraction(1))
        if cap < at_target:
            raise ValueError(
                f"cap {cap} is below the payout at 100% attainment ({float(at_target):g}): the cap would bind at target"
            )


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise ValueError("give at least one tier")
    for k, tier in enumerate(tiers):
        if tier.end is not None and tier.end <= tier.start:
            raise ValueError(f"tier {k}: to ({tier.end}) must be above from ({tier.start})")
        if k + 1 < len(tiers):
            nxt = tiers[k + 1]
            if nxt.start <= tier.start:
                raise ValueError(f"tier {k + 1}: from {nxt.start} is not above tier {k}'s from {tier.start}")
            if tier.end is not None and tier.end != nxt.start:
                kind = "gap" if tier.end < nxt.start else "overlap"
                raise ValueError(f"tiers {k} and {k + 1}: {kind} between to {tier.end} and from {nxt.start}")
        elif tier.end is not None:
            raise ValueError(f"tier {k}: the last tier must be open-ended (no `to`)")


class Role(StrictModel):
    """Pay of one role: target incentive (variable pay at 100%) and base salary, per year."""

    target_incentive: Decimal = Field(gt=0)
    base_salary: Decimal = Field(default=Decimal(0), ge=0)

    @field_validator("target_incentive", "base_salary")
    @classmethod
    def _whole_cents(cls, value: Decimal) -> Decimal:
        return _cents(value, "amount")

    @property
    def pay_mix(self) -> tuple[Fraction, Fraction]:
        """(base, variable) shares of target total pay."""
        total = Fraction(self.base_salary + self.target_incentive)
        return Fraction(self.base_salary) / total, Fraction(self.target_incentive) / total


class Spif(StrictModel):
    """A short incentive: pays per qualifying deal, or a rate of qualifying credit, closed in a date window."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    start: dt.date
    end: dt.date
    """Last day of the window (inclusive)."""
    credit: Credit = Credit()
    rate: Decimal | None = Field(default=None, gt=0, le=1)
    per_deal: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_payout(self) -> Spif:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if (self.rate is None) == (self.per_deal is None):
            raise ValueError("give either `rate` (share of qualifying credit) or `per_deal` (amount per deal)")
        if self.per_deal is not None:
            _cents(self.per_deal, "per_deal")
            if not self.credit.is_count:
                raise ValueError("per_deal pays a count: set credit.field to deals or new_logos")
        elif self.credit.is_count:
            raise ValueError(f"rate pays a share of money; credit field '{self.credit.field}' is a count")
        return self


class Draw(StrictModel):
    """A guaranteed payment per payout period for a payee's first `periods` periods on the plan: from the start
    of the year, or from a later start month, never after a known end month; a period the payee is on the plan
    for only some months gets that share of `amount`."""

    amount: Decimal = Field(gt=0)
    periods: int | None = Field(default=None, ge=1)
    """How many periods from the payee's first period on the plan it runs (all of them when omitted)."""
    recoverable: bool
    """True: an advance that later earnings pay back. False: a guaranteed minimum that is never recovered."""

    @field_validator("amount")
    @classmethod
    def _whole_cents(cls, value: Decimal) -> Decimal:
        return _cents(value, "amount")


class CompPlan(StrictModel):
    """A whole compensation plan."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str | None = None
    currency: str = "USD"
    year_start: dt.date | None = None
    """First day of the plan year (the 1st of a month); transactions are placed in periods from it. The scenario's
    `comp.plan_year` or `spmopt comp evaluate --plan-year` replace it (`with_plan_year`), so a plan without it
    serves any year."""
    payout: Literal["month", "quarter"] = "month"
    """Payout frequency: each payout pays year-to-date earnings minus what was paid before."""
    target_incentive: Decimal = Field(gt=0)
    """Annual variable pay at 100% attainment on every curve measure, for payees without a listed role."""
    base_salary: Decimal = Field(default=Decimal(0), ge=0)
    roles: dict[str, Role] = Field(default_factory=dict)
    """Target incentive and base salary by role (e.g. manager, overlay); others use the plan's own."""
    eligible_roles: tuple[str, ...] | None = None
    """Roles this plan pays (all when omitted); other payees are left out of its statements and KPIs."""
    measures: tuple[Measure, ...] = Field(min_length=1)
    spifs: tuple[Spif, ...] = ()
    draw: Draw | None = None
    clawback_days: int | None = Field(default=None, ge=0)
    """Cancellations within this many days of the original deal are clawed back; later ones are not
    (None: always)."""
    rounding: Literal["half_even", "half_up"] = "half_even"
    """How an exact amount becomes whole cents: half to even (banker's) or half away from zero."""
    negative_balance: Literal["carry_forward", "recover"] = "carry_forward"
    """When year-to-date earnings fall below what was paid: carry the deficit into later periods (pay 0 now),
    or recover it at once as a negative payment."""
    pay_cap: PayCap | None = None
    """Most a payee's incentive pay (measures after their own caps, and SPIFs) earns per payout period and/or per
    plan year; draws are guarantees and advances, not earnings, so this cap leaves them alone."""
    _source: Path | None = PrivateAttr(default=None)
    """The YAML file the plan was read from (set by `load_plan`), for messages."""

    @field_validator("target_incentive", "base_salary")
    @classmethod
    def _ti_cents(cls, value: Decimal) -> Decimal:
        return _cents(value, "amount")

    @field_validator("year_start")
    @classmethod
    def _first_of_month(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value.day != 1:
            raise ValueError(f"{value} is not the first day of a month (plan years start on a month)")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> CompPlan:
        names = [m.name for m in self.measures]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"measure names repeat: {', '.join(dupes)}")
        for m in self.measures:
            for what, ref in (("gate", m.gate), ("modifier", m.modifier)):
                if ref is not None and ref.measure not in names:
                    raise ValueError(
                        f"measure {m.name}: {what} names unknown measure '{ref.measure}' (have: {', '.join(names)})"
                    )
            for b in m.bonuses:
                if b.by_period is not None and b.by_period > self.periods:
                    raise ValueError(f"measure {m.name}: bonus by_period {b.by_period} is past the last period")
        spif_names = [s.name for s in self.spifs]
        clash = sorted({n for n in spif_names if spif_names.count(n) > 1 or n in names})
        if clash:
            raise ValueError(f"SPIF names repeat or reuse a measure name: {', '.join(clash)}")
        if self.spifs and self.year_start is None:
            raise ValueError("SPIFs have date windows: give the plan's year_start")
        if self.draw is not None and (self.draw.periods or 0) > self.periods:
            raise ValueError(f"draw periods {self.draw.periods} exceed the {self.periods} payout periods")
        weights = [m.weight for m in self.measures if m.curve is not None]
        if weights and sum(weights) != 1:
            raise ValueError(f"curve measure weights add up to {sum(weights)}, not 1")
        return self

    @property
    def measure_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.measures)

    @property
    def source(self) -> str:
        """How messages name the plan: its file, else its name."""
        return str(self._source) if self._source is not None else f"plan '{self.name}'"

    @property
    def periods(self) -> int:
        """Payout periods in the plan year."""
        return 12 if self.payout == "month" else 4

    def role(self, name: str | None) -> Role:
        """A role's pay; the plan's own target incentive and base for unlisted roles."""
        if name is not None and name in self.roles:
            return self.roles[name]
        return Role(target_incentive=self.target_incentive, base_salary=self.base_salary)

    @property
    def has_period_caps(self) -> bool:
        return any(c is not None and c.period is not None for c in (self.pay_cap, *(m.pay_cap for m in self.measures)))

    def without_period_caps(self) -> CompPlan:
        """The plan for pricing a whole year as one period (payout curves, the simulator's incentive tables): a
        period cap is about one payout period, which such a period is not; year caps stay."""

        def year_only(cap: PayCap | None) -> PayCap | None:
            return None if cap is None or cap.year is None else PayCap(year=cap.year)

        measures = tuple(m.model_copy(update={"pay_cap": year_only(m.pay_cap)}) for m in self.measures)
        return self.model_copy(update={"measures": measures, "pay_cap": year_only(self.pay_cap)})


def plan_year_end(start: dt.date) -> dt.date:
    """Last day of the plan year that starts on `start`."""
    return dt.date(start.year + 1, start.month, 1) - dt.timedelta(days=1)


def with_plan_year(plan: CompPlan, year_start: dt.date, where: str) -> CompPlan:
    """The plan paid on the plan year starting `year_start` (set by `where`, e.g. the scenario's comp.plan_year),
    whatever its own `year_start`. SPIF windows are dates: one entirely outside that year is refused."""
    if year_start.day != 1:
        raise ConfigError(f"{where}: {year_start} is not the first day of a month (plan years start on a month)")
    end = plan_year_end(year_start)
    for spif in plan.spifs:
        if spif.end < year_start or spif.start > end:
            raise ConfigError(
                f"{plan.source}: SPIF {spif.name} runs {spif.start} to {spif.end}, outside the plan year {year_start} "
                f"to {end} set by {where}; date its window inside that year"
            )
    return plan.model_copy(update={"year_start": year_start})


def load_plan(path: Path) -> CompPlan:
    """Read and validate a plan YAML; errors name the file, key path and line."""
    from spmopt.scenario import load_yaml_model

    def context(raw: dict) -> dict:
        measures = raw.get("measures")
        names = [m.get("name") for m in measures if isinstance(m, dict)] if isinstance(measures, list) else None
        return {"measure_names": names}

    plan = load_yaml_model(path, CompPlan, "comp plan", context)
    plan._source = path
    return plan


def plan_warnings(plan: CompPlan) -> list[str]:
    """Legal but likely wrong: payouts that fall as attainment rises (curves, tiers, modifier steps)."""
    out: list[str] = []
    for m in plan.measures:
        where = f"{plan.source}: measure {m.name}"
        if m.curve is not None:
            out += _falling_curve(where, m.curve, m.cap)
        if m.tiers is not None:
            out += _falling_tiers(where, m.tiers, m.tier_mode)
        if m.modifier is not None:
            out += _falling_modifier(where, m.modifier)
    return out


def _falling_curve(where: str, curve: tuple[CurvePoint, ...], cap: Decimal | None) -> list[str]:
    out = []
    last = len(curve) - 1

    def capped(y: Decimal) -> Decimal:
        # A fall entirely above the cap is never paid, so it is no fall.
        return y if cap is None else min(y, cap)

    for j in range(1, len(curve)):
        before, point = curve[j - 1], curve[j]
        if j == last and point.payout < before.payout:
            slope = (point.payout - before.payout) / (point.attainment - before.attainment)
            zero = point.attainment + point.payout / -slope
            out.append(
                f"{where}: curve point {j} (attainment {point.attainment}, payout {point.payout}) pays less than "
                f"point {j - 1} (attainment {before.attainment}, payout {before.payout}), and the last segment's "
                f"slope {slope:.6g} continues past it: the payout falls as attainment rises and is negative above "
                f"attainment {zero:.6g}"
            )
        elif capped(point.payout) < capped(before.payout):
            out.append(
                f"{where}: curve point {j} (attainment {point.attainment}, payout {point.payout}) pays less than "
                f"point {j - 1} (attainment {before.attainment}, payout {before.payout}): the payout falls as "
                "attainment rises"
            )
    return out


def _falling_tiers(where: str, tiers: tuple[Tier, ...], mode: str) -> list[str]:
    out = []
    for j in range(1, len(tiers)):
        before, tier = tiers[j - 1], tiers[j]
        if tier.rate >= before.rate:
            continue
        if mode == "retroactive":
            out.append(
                f"{where}: tier {j} (from {tier.start}) pays rate {tier.rate} on all credit, less than tier "
                f"{j - 1}'s {before.rate}: the total commission drops when attainment reaches {tier.start}"
            )
        else:
            out.append(
                f"{where}: tier {j} (from {tier.start}) rate {tier.rate} is below tier {j - 1}'s {before.rate}: "
                "the payout rate falls as attainment rises (a decelerator)"
            )
    return out


def _falling_modifier(where: str, modifier: Modifier) -> list[str]:
    out = []
    # Below the first step the factor is 1; that only matters when the first step starts above 0.
    before = Decimal(1) if modifier.steps[0].start > 0 else modifier.steps[0].factor
    for j, step in enumerate(modifier.steps):
        if step.factor < before:
            out.append(
                f"{where}: modifier step {j} (from {step.start} of {modifier.measure}) factor {step.factor} is below "
                f"the factor before it ({before}): the payout falls as {modifier.measure} attainment rises"
            )
        before = step.factor
    return out
