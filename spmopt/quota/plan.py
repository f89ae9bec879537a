"""Set quotas for an alignment: inputs -> quota total (given or calibrated) -> allocation -> period split.

The result is a `QuotaPlan`: one row per territory with its annual and period quotas, the facts behind
them (potential, last-year sales, growth, quota/potential index, probability of attainment) and the rule
that set each one. Every money figure is a whole currency unit and every total is checked to reconcile.

Granularity: quotas are whole multiples of `quota.granularity`, so each is its unrounded (equal-difficulty or
fair-share) value rounded down or up to a step. A step that rounds a positive quota to 0 is refused
(`ConfigError` naming quota.granularity): a rep with a zero quota has no attainment to pay on. A quota the
rounding moves by more than `ROUNDING_WARN_SHARE` of its unrounded value is kept with a warning, since a coarse
step is sometimes a deliberate policy (quotas in whole 100,000s) yet its cost in fairness should be seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from spmopt.config import QuotaConfig
from spmopt.data.loader import PlanningData
from spmopt.errors import ConfigError, SpmoptError
from spmopt.facts import Facts, SolveFacts
from spmopt.quota.attainment import (
    Dispersion,
    analytic_total,
    attainment_probability,
    backtest_dispersion,
    calibrate_total,
    monte_carlo_share,
)
from spmopt.quota.fairness import equal_difficulty
from spmopt.quota.inputs import QuotaInputs, quota_inputs
from spmopt.quota.model import round_quotas
from spmopt.quota.periods import PipelineLag, period_quotas, split_exact
from spmopt.quota.precheck import check_bounds, steps_range

QUOTA_STREAM = 4
"""Spawn key of the quota stage's random stream under the scenario seed (Monte-Carlo check only)."""
ROUNDING_WARN_SHARE = 0.05
"""Warn when rounding to the granularity moves a quota by more than this share of its unrounded value."""


class DispersionFacts(Facts):
    """Sigma of log territory sales the quotas were calibrated with, and where it came from."""

    sigma: float
    source: str
    territories: int
    """Territories the estimate rests on (0 when given)."""


class LagFacts(Facts):
    """The simulated sales cycle a new rep's ramp allows for."""

    mean_days: float
    source: str


class QuotaFacts(Facts):
    """What the quota stage did: totals, calibration, dispersion and the rounding solves."""

    stage: Literal["quota"] = "quota"
    method: str
    basis: str
    """How fair share was computed (potential, history or their blend)."""
    target: int
    """Company target (currency units)."""
    quota_total: int
    over_assignment_pct: float
    granularity: int
    forecast_total: int
    dispersion: DispersionFacts
    pipeline_lag: LagFacts | None = None
    target_share: float | None = None
    """Share of reps the total was calibrated to put at quota (None: the target was used as given)."""
    predicted_share_at_quota: float
    monte_carlo_share_at_quota: float
    monte_carlo_ci95_half_width: float
    monte_carlo_draws: int
    index_min: float
    """Lowest quota / potential index over territories."""
    index_max: float
    equal_difficulty_level: float
    max_rounding_error_pct: float
    territories_at_bound: int
    allocations_solved: int
    solves: list[SolveFacts]
    """The rounding MILP solves of the chosen total."""
    solve_seconds_total: float


@dataclass(frozen=True, slots=True)
class QuotaPlan:
    """Quotas per territory and the facts a planner needs to defend them."""

    table: pd.DataFrame
    """One row per territory: quotas, per-period quotas and their reasons (written as quotas.csv)."""
    facts: QuotaFacts
    """Totals, calibration, dispersion, solves: the manifest's quota section."""
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class _Allocation:
    """Quotas for one quota total: integer steps, the continuous equal-difficulty quotas, their level, solves."""

    steps: dict[str, int]
    continuous: dict[str, float]
    level: float
    solves: tuple[SolveFacts, ...] = ()


def set_quotas(
    cfg: QuotaConfig,
    data: PlanningData,
    alignment: pd.Series,
    reps_of: dict[str, str | None],
    seed: int,
    progress: Callable[[str], None] = lambda _: None,
    lag: PipelineLag | None = None,
) -> QuotaPlan:
    """Quotas for `alignment` (unit_id -> territory_id); `reps_of` maps each territory to its rep. With the
    simulation's pipeline `lag`, a new rep's ramp allows for their first deals closing a sales cycle late."""
    inp = quota_inputs(alignment, reps_of, data, cfg, lag)
    warnings = list(inp.warnings)
    dispersion = _dispersion(cfg, data, alignment, inp)
    forecast_total = cfg.attainment.forecast_total or cfg.target
    share = np.array([inp.fair_share[t] for t in inp.territories])
    expected = forecast_total * share
    g = cfg.granularity
    allocations: dict[int, _Allocation] = {}

    def allocation(total_steps: int) -> _Allocation:
        if total_steps not in allocations:
            if cfg.method == "share":
                steps = dict(zip(inp.territories, split_exact(total_steps, share), strict=True))
                allocations[total_steps] = _Allocation(steps, inp.fair_steps(total_steps), 1.0)
            else:
                check_bounds(inp, total_steps, "the quota total")
                continuous, level = equal_difficulty(inp, total_steps)
                rounding = round_quotas(inp, continuous, total_steps, cfg.solver)
                solves = tuple(SolveFacts(**r.as_dict()) for r in rounding.reports)
                allocations[total_steps] = _Allocation(rounding.steps, continuous, level, solves)
        return allocations[total_steps]

    def share_at(total_steps: int) -> float:
        steps = allocation(total_steps).steps
        quota = np.array([g * steps[t] for t in inp.territories], dtype=float)
        return float(attainment_probability(quota, expected, dispersion.sigma).mean())

    target_steps = cfg.target // g
    if cfg.attainment.target_share is None:
        check_bounds(inp, target_steps, "the company target")
        total_steps = target_steps
    else:
        progress(f"Calibrating the quota total to {cfg.attainment.target_share:.0%} of reps at quota")
        total_steps = _calibrate(inp, share, expected, dispersion, cfg.attainment.target_share, share_at)
    progress(f"Allocating the quota total {g * total_steps:,} ({cfg.method})")
    chosen = allocation(total_steps)
    steps, continuous, level = chosen.steps, chosen.continuous, chosen.level
    warnings += check_granularity(cfg, steps, continuous)
    table = _table(inp, cfg, steps, total_steps, continuous, level, expected, dispersion.sigma)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(QUOTA_STREAM,)))
    mc_share, mc_half = monte_carlo_share(
        table["annual_quota"].to_numpy(), expected, dispersion.sigma, cfg.attainment.draws, rng
    )
    total = g * total_steps
    warnings += _sanity_warnings(cfg, inp, total, table)
    facts = QuotaFacts(
        method=cfg.method,
        basis=inp.basis_text,
        target=cfg.target,
        quota_total=total,
        over_assignment_pct=round(100 * (total / cfg.target - 1), 3),
        granularity=g,
        forecast_total=forecast_total,
        dispersion=DispersionFacts(
            sigma=round(dispersion.sigma, 6), source=dispersion.source, territories=dispersion.territories
        ),
        pipeline_lag=None if lag is None else LagFacts(mean_days=round(lag.mean_days, 2), source=lag.source),
        target_share=cfg.attainment.target_share,
        predicted_share_at_quota=round(share_at(total_steps), 6),
        monte_carlo_share_at_quota=round(mc_share, 6),
        monte_carlo_ci95_half_width=round(mc_half, 6),
        monte_carlo_draws=cfg.attainment.draws,
        index_min=float(table["quota_potential_index"].min()),
        index_max=float(table["quota_potential_index"].max()),
        equal_difficulty_level=round(level, 8),
        max_rounding_error_pct=round(100 * max(abs(steps[t] - c) / c for t, c in continuous.items() if c > 0), 5),
        territories_at_bound=int(table["set_by"].str.startswith(("upper bound", "lower bound")).sum()),
        allocations_solved=len(allocations),
        solves=list(chosen.solves),
        solve_seconds_total=round(sum(r.solve_seconds for a in allocations.values() for r in a.solves), 4),
    )
    return QuotaPlan(table=table, facts=facts, warnings=tuple(warnings))


def _dispersion(cfg: QuotaConfig, data: PlanningData, alignment: pd.Series, inp: QuotaInputs) -> Dispersion:
    rule = cfg.dispersion_rule
    if rule != "history":
        return Dispersion(sigma=float(rule), source="given in the scenario")
    assert data.history is not None  # QuotaConfig requires history for the 'history' rule
    return backtest_dispersion(data.history, alignment.to_dict(), inp.potential, cfg.basis)


def _calibrate(
    inp: QuotaInputs,
    share: np.ndarray,
    expected: np.ndarray,
    dispersion: Dispersion,
    target_share: float,
    share_at: Callable[[int], float],
) -> int:
    """Bisection on the quota total, bracketed around the bound-free analytic level."""
    g = inp.granularity
    guess = analytic_total(share, expected, dispersion.sigma, target_share) / g
    low, high = steps_range(inp)
    low = max(low, 1)
    bracket_low = max(low, int(0.8 * guess))
    bracket_high = int(1.25 * guess) + 1 if high is None else min(high, int(1.25 * guess) + 1)
    bracket_high = max(bracket_high, bracket_low)
    if share_at(bracket_low) < target_share:
        bracket_low = low
    while share_at(bracket_high) >= target_share and (high is None or bracket_high < high):
        bracket_high = 2 * bracket_high if high is None else min(high, 2 * bracket_high)
    steps, _ = calibrate_total(share_at, target_share, bracket_low, bracket_high, g)
    return steps


def _table(
    inp: QuotaInputs,
    cfg: QuotaConfig,
    steps: dict[str, int],
    total_steps: int,
    continuous: dict[str, float],
    level: float,
    expected: np.ndarray,
    sigma: float,
) -> pd.DataFrame:
    g = inp.granularity
    ts = list(inp.territories)
    annual = np.array([g * steps[t] for t in ts], dtype=np.int64)
    ramp = np.array([inp.ramp[t] for t in ts])
    potential = np.array([inp.potential[t] for t in ts])
    frame = pd.DataFrame(
        {
            "territory_id": ts,
            "rep_id": [inp.rep_id[t] for t in ts],
            "start_month": [inp.start_month[t] for t in ts],
            "ramp_factor": ramp.round(4),
            "potential": potential.round(2),
            "last_year_sales": [round(inp.last_year[t], 2) for t in ts] if inp.last_year else np.nan,
            "fair_quota": [round(g * total_steps * inp.fair_share[t], 2) for t in ts],
            "annual_quota": annual,
            "full_year_quota": (annual / ramp).round(0),
        }
    )
    if inp.last_year:
        last = np.array([inp.last_year[t] for t in ts])
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["growth_pct"] = np.where(last > 0, 100 * (annual / last - 1), np.nan).round(2)
            frame["full_year_growth_pct"] = np.where(last > 0, 100 * (annual / ramp / last - 1), np.nan).round(2)
    frame["quota_potential_pct"] = (100 * annual / potential).round(3)
    average = annual.sum() / float((ramp * potential).sum())
    frame["quota_potential_index"] = (annual / (ramp * potential) / average).round(4)
    frame["expected_sales"] = expected.round(0)
    frame["attainment_probability"] = attainment_probability(annual, expected, sigma).round(4)
    # The simulator spreads seats' normal-effort years by this same sigma (spmopt.sim.analytic.matched_behaviour).
    frame["dispersion_sigma"] = round(sigma, 6)
    frame["set_by"] = [_set_by(inp, t, total_steps * inp.fair_share[t], continuous[t], level, cfg) for t in ts]
    periods = [
        period_quotas(int(q), inp.month_weights[t], cfg.seasonality.periods) for q, t in zip(annual, ts, strict=True)
    ]
    period_frame = pd.DataFrame(periods).add_prefix("quota_")
    frame = pd.concat([frame, period_frame], axis=1)
    _check_reconciles(frame, period_frame, total_steps * g)
    return frame


def _set_by(inp: QuotaInputs, t: str, fair: float, continuous: float, level: float, cfg: QuotaConfig) -> str:
    """Which rule fixed the quota: a bound the common level would cross, or the fair share at that level."""
    lo, hi = inp.lower[t], inp.upper[t]
    if hi.steps is not None and continuous >= hi.steps - 1e-9 and level * fair > hi.steps + 1e-9:
        text = f"upper bound: {hi.rule}"
    elif lo.steps and continuous <= lo.steps + 1e-9 and level * fair < lo.steps - 1e-9:
        text = f"lower bound: {lo.rule}"
    else:
        text = f"fair share ({inp.basis_text})"
        if abs(level - 1) > 1e-9:
            text += f" x {level:.4f}, the common level the bounded territories leave"
    if inp.ramp[t] < 1:
        lagged = ", first deals a sales cycle later" if inp.lag is not None else ""
        text += f"; ramp {inp.ramp[t]:.3f} (starts plan month {inp.start_month[t]}{lagged})"
    if cfg.granularity > 1:
        text += f"; rounded to {cfg.granularity:,}"
    return text


def _check_reconciles(frame: pd.DataFrame, periods: pd.DataFrame, total: int) -> None:
    if int(frame["annual_quota"].sum()) != total:
        raise SpmoptError(f"internal check failed: quotas add up to {frame['annual_quota'].sum():,}, not {total:,}")
    rows = periods.sum(axis=1).to_numpy(dtype=np.int64)
    if not np.array_equal(rows, frame["annual_quota"].to_numpy(dtype=np.int64)):
        raise SpmoptError("internal check failed: period quotas do not add up to the annual quota")


def _sanity_warnings(cfg: QuotaConfig, inp: QuotaInputs, total: int, table: pd.DataFrame) -> list[str]:
    out = []
    potential = sum(inp.potential.values())
    limit = cfg.max_target_to_potential * potential
    if total > limit:
        out.append(
            f"quota total {total:,} is {100 * (total / limit - 1):.1f}% above total potential {potential:,.0f} "
            f"x quota.max_target_to_potential {cfg.max_target_to_potential:g}; check the target or the potential "
            "measure"
        )
    if cfg.attainment.target_share is not None and total < cfg.target:
        at_target = table["attainment_probability"].mean()
        out.append(
            f"calibrated quota total {total:,} is {100 * (1 - total / cfg.target):.1f}% below the company target "
            f"{cfg.target:,}: the forecast ({cfg.attainment.forecast_total or cfg.target:,}) does not support "
            f"{cfg.attainment.target_share:.0%} of reps at quota with quotas that cover the target "
            f"(expected share at the calibrated total: {at_target:.1%})"
        )
    return out


def check_granularity(cfg: QuotaConfig, steps: dict[str, int], continuous: dict[str, float]) -> list[str]:
    """Refuse a granularity that rounds a positive quota to 0; warn when it moves quotas by more than
    `ROUNDING_WARN_SHARE` of their unrounded values. `steps` and `continuous` are in granularity steps."""
    g = cfg.granularity
    positive = {t: c for t, c in continuous.items() if c > 1e-9}
    if not positive:
        return []
    smallest = min(positive.values())
    zeroed = sorted((t for t in positive if steps[t] == 0), key=lambda t: -positive[t])
    # At granularity 1 a zero quota means a fair share below one currency unit: the target, not the step, is
    # the cause, and the warning below says so.
    if zeroed and g > 1:
        others = f" and {len(zeroed) - 1} more territories" if len(zeroed) > 1 else ""
        raise ConfigError(
            f"quota.granularity {g:,} is too coarse: rounding to it gives territory {zeroed[0]}{others} a quota of "
            f"0 (unrounded {g * positive[zeroed[0]]:,.0f}; the smallest unrounded quota is {g * smallest:,.0f}); "
            f"{_granularity_advice(cfg.target, g * smallest)}"
        )
    moved = {t: steps[t] / c - 1 for t, c in positive.items() if abs(steps[t] / c - 1) > ROUNDING_WARN_SHARE}
    if not moved:
        return []
    worst = max(moved, key=lambda t: abs(moved[t]))
    return [
        f"rounding quotas to quota.granularity {g:,} moves {len(moved)} of {len(continuous)} quota(s) by more than "
        f"{ROUNDING_WARN_SHARE:.0%} of their unrounded value (most: territory {worst}, {g * positive[worst]:,.0f} "
        f"-> {g * steps[worst]:,}, {100 * moved[worst]:+.1f}%); {_granularity_advice(cfg.target, g * smallest)}"
    ]


def _granularity_advice(target: int, smallest: float) -> str:
    """A round granularity that divides the target and keeps every rounding within the warning share."""
    if smallest < 1 / ROUNDING_WARN_SHARE:
        return "quotas this small cannot be whole currency units; check quota.target against the territories"
    limit = ROUNDING_WARN_SHARE * smallest
    nice = [m * 10**e for e in range(15) for m in (1, 2, 5) if m * 10**e <= limit and target % (m * 10**e) == 0]
    if not nice:
        return "lower quota.granularity (it must divide the target)"
    return f"lower quota.granularity, e.g. to {max(nice):,} (it divides the target {target:,})"
