"""Behaviour parameters of the rep simulator: the validated schema of `models/behaviour/*.yaml`.

Each scalar is written as `{value, range, source}`: `value` must satisfy the hard limits below (a negative
rate or a probability above 1 is an error), `range` is the plausible band from the source, and a value
outside it is allowed but reported as a warning, so a planner can stress-test beyond the literature knowingly.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator, model_validator

from spmopt.config import StrictModel


class Param(StrictModel):
    """One documented number: the value used, its plausible range and where that range comes from."""

    value: float = Field(allow_inf_nan=False)
    range: tuple[float, float]
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Param:
        if self.range[0] > self.range[1]:
            raise ValueError(f"range {list(self.range)} is not ascending")
        return self


LIMITS: dict[str, tuple[float | None, float | None, bool]] = {
    "capture": (0, None, True),
    "deal_size_share": (0, None, True),
    "deal_size_sigma": (0, 3, False),
    "new_logo_share": (0, 1, False),
    "warmup_days": (0, 1000, False),
    "skill_sigma": (0, 2, False),
    "capacity_headroom": (0, None, True),
    "elasticity": (0, 5, False),
    "effort_min": (0, 1, False),
    "effort_max": (1, 5, False),
    "forecast_cv": (0, 3, True),
    "decision_days": (1, 92, False),
    "window_days": (0, 45, False),
    "movable_share": (0, 1, False),
    "pull_discount": (0, 1, False),
    "next_year_value": (0, 5, False),
    "discount_rate": (0, 5, False),
    "ratchet": (0, 1, False),
    "revenue_per_incentive_dollar": (0, None, True),
    "pay_threshold": (0, 1, False),
    "quit_probability": (0, 1, False),
    "vacancy_days": (0, 365, False),
}
"""Hard limits of each parameter's value: (low, high, low excluded). Outside them the model is meaningless
(a negative rate, a probability above 1); inside them but outside `range` it is merely unusual."""


class Section(StrictModel):
    """A parameter section: every `Param` field is checked against its hard limits where it is declared, so an
    error names the section and the key."""

    @field_validator("*")
    @classmethod
    def _within_limits(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, Param) and info.field_name in LIMITS:
            low, high, open_low = LIMITS[info.field_name]
            v = value.value
            if low is not None and (v < low or (open_low and v == low)):
                raise ValueError(f"value {v:g} must be {'>' if open_low else '>='} {low:g}")
            if high is not None and v > high:
                raise ValueError(f"value {v:g} must be <= {high:g}")
        return value


class Stage(StrictModel):
    """One pipeline stage: a Gamma-distributed duration and the probability of passing to the next stage."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    mean_days: float = Field(gt=0)
    shape: float = Field(default=2.0, gt=0)
    """Gamma shape k (coefficient of variation 1/sqrt(k))."""
    pass_probability: float = Field(gt=0, le=1)
    """Probability the opportunity passes this stage; at the last stage, that it closes won."""


class Pipeline(Section):
    """How opportunities arise, move and close."""

    stages: tuple[Stage, ...] = Field(min_length=1)
    stages_source: str = Field(min_length=1)
    capture: Param
    """Share of a unit's potential a normal-effort rep sells in a year (sets the opportunity rate)."""
    deal_size_share: Param
    """Mean deal size as a share of the account's annual potential (unit potential / accounts)."""
    deal_size_sigma: Param
    """Sigma of log deal size (lognormal around the account's mean)."""
    new_logo_share: Param
    """Probability that an opportunity is with a new customer."""
    products: dict[str, ProductMix] = Field(min_length=1)
    """Product mix of opportunities and each product's margin ratio."""
    products_source: str = Field(min_length=1)
    warmup_days: Param
    """Days of opportunities simulated before the plan year so the year opens with a pipeline."""

    @field_validator("products")
    @classmethod
    def _shares_add_up(cls, products: dict[str, ProductMix]) -> dict[str, ProductMix]:
        total = sum(p.share for p in products.values())
        if abs(total - 1) > 1e-9:
            raise ValueError(f"product shares add up to {total:g}, not 1")
        return products

    @property
    def margin_ratio(self) -> float:
        """Expected margin per unit of sales over the product mix."""
        return float(sum(p.share * p.margin for p in self.products.values()))

    @property
    def win_probability(self) -> float:
        """Probability that an opportunity passes every stage (before a rep's skill factor)."""
        p = 1.0
        for s in self.stages:
            p *= s.pass_probability
        return p


class ProductMix(StrictModel):
    """One product line: its share of opportunities and margin as a share of the deal amount."""

    share: float = Field(ge=0, le=1)
    margin: float = Field(ge=0, le=1)


class Reps(Section):
    """Rep skill and capacity."""

    skill_sigma: Param
    """Sigma of the lognormal (mean 1) spread of win-rate and deal-size factors across reps, per replication."""
    capacity_headroom: Param
    """A rep's weekly selling hours as a multiple of the average territory's workload at normal effort."""


class Motivation(Section):
    """How effort answers the plan's pay: the effort that maximises expected pay less a convex effort cost."""

    elasticity: Param
    """Elasticity of sales to marginal pay: the effort cost is r (e^(1 + 1/elasticity) - 1) / (1 + 1/elasticity) per
    cent of sales, so where pay is smooth effort = (marginal pay / r) ** elasticity, clipped to [effort_min,
    effort_max]; r is the money the baseline plan pays at the margin on track."""
    effort_min: Param
    effort_max: Param
    forecast_cv: Param
    """Coefficient of variation of the rep's own forecast of annual sales at the start of the year; it shrinks
    with the square root of the time left."""
    decision_days: Param
    """How often a rep revisits effort."""


class Timing(Section):
    """Moving deals across payout-period ends when the pay it brings, valued when it is paid, is worth more."""

    window_days: Param
    """Deals due to close this many days either side of a period end can be moved across it."""
    movable_share: Param
    """Probability that a customer agrees to move a deal's close date."""
    pull_discount: Param
    """Mean price concession on a deal pulled into an earlier period (share of its amount); each customer asks for
    a concession spread evenly between 0 and twice this."""
    next_year_value: Param
    """What a rep counts a deal booked after the plan year as worth, as a multiple of the same plan's marginal pay
    for a rep on track at the start of a year."""
    discount_rate: Param
    """The rep's rate of time preference, per year: pay a quarter later is worth exp(-rate / 4) of pay now."""
    ratchet: Param
    """Share of a cent booked this year that is added to next year's quota (quotas set partly on last year's
    sales)."""


class Turnover(Section):
    """Reps leaving when expected pay falls far below target, and their replacements (who ramp up like new
    hires, with the scenario's quota.ramp)."""

    pay_threshold: Param
    """A rep whose expected annual pay is below this share of target incentive considers leaving."""
    quit_probability: Param
    """Probability of leaving at each quarterly check while below the threshold."""
    vacancy_days: Param
    """Days before a replacement starts."""


class Plausibility(Section):
    """Bands a simulated outcome should stay inside; leaving one is a warning about the plan or the scenario (the
    `value` is the benchmark's central figure, the `range` the band)."""

    revenue_per_incentive_dollar: Param
    """Revenue a plan's incentive pay buys, currency per currency of payout."""


class BehaviourParams(StrictModel):
    """A whole behaviour parameter set (one file under models/behaviour/)."""

    version: int = Field(ge=1)
    description: str
    pipeline: Pipeline
    reps: Reps
    motivation: Motivation
    timing: Timing
    turnover: Turnover
    plausibility: Plausibility

    def warnings(self) -> list[str]:
        """Values outside their documented plausible range."""
        out = []
        for section in (self.pipeline, self.reps, self.motivation, self.timing, self.turnover, self.plausibility):
            for name in type(section).model_fields:
                p = getattr(section, name)
                if isinstance(p, Param) and not p.range[0] <= p.value <= p.range[1]:
                    out.append(
                        f"behaviour parameter {name} = {p.value:g} is outside its plausible range "
                        f"{p.range[0]:g}-{p.range[1]:g} ({p.source})"
                    )
        return out

    def pay_warnings(self, totals: dict[str, tuple[float, float]]) -> list[str]:
        """Plans whose revenue per incentive dollar leaves the plausible band; `totals` maps a plan's name to its
        mean (revenue, payout) over replications."""
        band = self.plausibility.revenue_per_incentive_dollar
        low, high = band.range
        out = []
        for plan, (revenue, payout) in totals.items():
            ratio = revenue / payout if payout > 0 else float("inf")
            if not low <= ratio <= high:
                share = 100 / ratio if ratio > 0 else float("inf")
                out.append(
                    f"simulation: plan {plan} buys {ratio:,.1f} of revenue per incentive dollar (pay {share:.2f}% of "
                    f"revenue), outside the plausible {low:g}-{high:g} ({band.source}); check the plan's target "
                    "incentive against its quotas"
                )
        return out


Pipeline.model_rebuild()


def load_behaviour(path: Path) -> BehaviourParams:
    """Read and validate a behaviour parameter file; errors name the file, key and line."""
    from spmopt.scenario import load_yaml_model

    return load_yaml_model(path, BehaviourParams, "behaviour parameters")
