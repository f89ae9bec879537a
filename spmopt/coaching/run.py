"""The coaching stage: uplift model (fitted, shrunk towards the prior, with parameter draws; or the prior with its
draws) -> each manager's hours across their reps -> the monthly uplift paths the simulator plays (one per draw,
plus the sensitivity table's fixed parameter sets).

Costs. A manager's hour costs `coaching.hour_cost` (wage) plus an opportunity cost (`coaching.opportunity_cost`
when the scenario states one, else the margin of an average working hour of its reps: `evidence.py`). Hours are
given and charged only from a rep's start month (reps file `start_month`), and their uplift builds from then.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from spmopt.coaching.allocate import CoachingInputs, allocate
from spmopt.coaching.evidence import BOUND_SOURCE, WORK_HOURS, default_opportunity_cost, return_bound
from spmopt.coaching.paths import CoachingPaths
from spmopt.coaching.shrink import months_below, shrink, with_coverage, with_prior_draws
from spmopt.coaching.uplift import Triple, UpliftModel, fit, read_history
from spmopt.comp.crediting import read_hierarchy
from spmopt.config import ScenarioConfig
from spmopt.errors import ConfigError, DataError
from spmopt.facts import Facts
from spmopt.optim.solve import SolveReport


@dataclass(frozen=True, slots=True)
class HourCost:
    """What one manager hour costs, cents."""

    wage: float
    opportunity: float
    source: str
    """Where the opportunity cost comes from (the scenario, or the default rule)."""

    @property
    def total(self) -> float:
        return self.wage + self.opportunity


@dataclass(frozen=True, slots=True)
class CoachingPlan:
    """Who gets coached, how much, what it is expected to return, and the uplift paths the simulator plays."""

    model: UpliftModel
    table: pd.DataFrame
    """coaching.csv: rep, manager, hours, months coached, expected uplift with interval, value of the next slot,
    hours beyond the history's range, the rep's own history months below the planned stock, why."""
    report: SolveReport
    uplift: CoachingPaths
    """Per-draw and sensitivity paths, (seats, 12) each: 0 until the hours of a rep's first month act."""
    cost: int
    """Hours given in the plan year x (wage + opportunity cost), cents."""
    hour_cost: HourCost
    return_bound: float
    """Highest plausible return on `cost` (`evidence.return_bound`)."""
    warnings: tuple[str, ...] = ()

    def facts(self) -> CoachingFacts:
        m, table = self.model, self.table
        hours_year = float(table["hours_per_year"].sum())
        beyond = float((table["beyond_history_hours"] * table["months_coached"]).sum())
        return CoachingFacts(
            method=m.method,
            uncertainty=m.uncertainty,
            max_uplift=round(m.max_uplift, 4),
            max_uplift_ci=(round(m.max_uplift_low, 4), round(m.max_uplift_high, 4)),
            decay=round(m.decay, 4),
            decay_ci=_pair(m.decay_low, m.decay_high),
            half_stock=round(m.half_stock, 4),
            half_stock_ci=_pair(m.half_stock_low, m.half_stock_high),
            fitted=None if m.fitted is None else [round(v, 4) for v in m.fitted],
            fitted_low=None if m.fitted_low is None else [round(v, 4) for v in m.fitted_low],
            fitted_high=None if m.fitted_high is None else [round(v, 4) for v in m.fitted_high],
            evidence_weights=None if m.weights is None else [round(v, 3) for v in m.weights],
            parameter_draws=len(m.draws),
            observations=m.observations,
            covered_hours_per_month=None if m.covered_hours is None else round(m.covered_hours, 3),
            hours_beyond_history_pct=round(100 * beyond / hours_year, 2) if hours_year else 0.0,
            hours_per_month=float(table["hours_per_month"].sum()),
            hours_per_year=hours_year,
            reps_coached=int((table["hours_per_month"] > 0).sum()),
            expected_uplift=float(table["expected_uplift"].sum()),
            hour_wage=self.hour_cost.wage / 100,
            hour_opportunity_cost=round(self.hour_cost.opportunity / 100, 2),
            hour_opportunity_cost_source=self.hour_cost.source,
            cost=self.cost / 100,
            return_bound=round(self.return_bound, 3),
            return_bound_source=BOUND_SOURCE,
            status=str(self.report.status),
            gap=self.report.gap,
        )


class CoachingFacts(Facts):
    """What the coaching stage did: the uplift model with its intervals, the hours allocated, their cost."""

    stage: Literal["coaching"] = "coaching"
    method: str
    """fitted (from coaching history, shrunk towards the prior) or prior."""
    uncertainty: str
    max_uplift: float
    """Largest monthly sales uplift coaching can give (0.05 = +5%)."""
    max_uplift_ci: tuple[float, float]
    decay: float
    """Share of the coaching stock kept from one month to the next."""
    decay_ci: tuple[float, float] | None = None
    half_stock: float
    """Coaching stock (hours) giving half the largest uplift."""
    half_stock_ci: tuple[float, float] | None = None
    fitted: list[float] | None = None
    fitted_low: list[float] | None = None
    fitted_high: list[float] | None = None
    evidence_weights: list[float] | None = None
    parameter_draws: int
    observations: int
    covered_hours_per_month: float | None = None
    """Largest monthly hours the history covers."""
    hours_beyond_history_pct: float
    hours_per_month: float
    hours_per_year: float
    reps_coached: int
    expected_uplift: float
    hour_wage: float
    hour_opportunity_cost: float
    hour_opportunity_cost_source: str
    cost: float
    """Hours given in the plan year x (wage + opportunity cost), currency units."""
    return_bound: float
    return_bound_source: str
    status: str
    """Status of the allocation MILP."""
    gap: float | None = None


def _pair(low: float | None, high: float | None) -> tuple[float, float] | None:
    return None if low is None or high is None else (round(low, 4), round(high, 4))


def uplift_model(cfg: ScenarioConfig, reps: set[str]) -> UpliftModel:
    """Fitted from the scenario's coaching history and shrunk towards the prior, or the documented prior; with
    parameter draws either way."""
    return _model_and_history(cfg, reps)[0]


def _model_and_history(cfg: ScenarioConfig, reps: set[str]) -> tuple[UpliftModel, pd.DataFrame | None]:
    c = cfg.coaching
    assert c is not None
    prior = UpliftModel.load(c.prior)
    if c.history is None:
        return with_prior_draws(prior, seed=cfg.seed), None
    history = read_history(c.history, reps)
    fitted = shrink(fit(history, source=str(c.history), seed=cfg.seed), prior)
    return with_coverage(fitted, history), history


def plan_coaching(cfg: ScenarioConfig, reps: tuple[str, ...], value: np.ndarray, margin: float) -> CoachingPlan:
    """Allocate every manager's hours over their reps; `value` is each rep's expected annual sales in cents
    (a full year; the months before a new hire's start are taken off here), `margin` the expected margin per
    unit of sales (the simulation's product mix: `BehaviourParams.pipeline.margin_ratio`)."""
    c, comp = cfg.coaching, cfg.comp
    if c is None or comp is None or comp.crediting.hierarchy is None:
        raise ConfigError("coaching needs the coaching section and comp.crediting.hierarchy")
    model, history = _model_and_history(cfg, set(reps))
    prior = UpliftModel.load(c.prior)
    managers = _managers(comp.crediting.hierarchy, reps)
    start = start_months(cfg, reps)
    months = 12.0 - np.maximum(start - 1, 0)
    full_year = np.asarray(value, dtype=float)
    hour_cost = hour_costs(cfg, full_year, margin)
    inputs = CoachingInputs(
        reps=reps,
        manager=managers,
        value=full_year * months / 12,
        min_hours=np.full(len(reps), c.min_hours),
        max_hours=np.full(len(reps), c.max_hours),
        capacity=_capacity(cfg, managers),
        step=c.step,
        hour_cost=hour_cost.total,
        months=months,
        margin=margin,
        covered=model.covered_hours,
    )
    table, report = allocate(inputs, model)
    hours = table["hours_per_month"].to_numpy(dtype=float)
    table = with_history_columns(table, history, model)
    cost = int(round(hour_cost.total * float((hours * months).sum())))
    bound = return_bound(hours, full_year, months, margin, cost)
    paths = coaching_paths(model, prior, monthly_hours(hours, start), bound)
    warnings = coaching_warnings(table, model, history)
    return CoachingPlan(model, table, report, paths, cost, hour_cost, bound, warnings)


def _managers(hierarchy: Path, reps: tuple[str, ...]) -> tuple[str, ...]:
    manager_of, _ = read_hierarchy(hierarchy)
    missing = [r for r in reps if r not in manager_of]
    if missing:
        raise DataError(f"{hierarchy}: no manager for rep {missing[0]} (coaching comes from managers)")
    return tuple(manager_of[r] for r in reps)


def _capacity(cfg: ScenarioConfig, managers: tuple[str, ...]) -> dict[str, float]:
    c = cfg.coaching
    assert c is not None
    capacity = {}
    for manager in dict.fromkeys(managers):
        if isinstance(c.capacity, dict):
            if manager not in c.capacity:
                raise ConfigError(f"coaching.capacity: no hours for manager {manager} (have {', '.join(c.capacity)})")
            capacity[manager] = float(c.capacity[manager])
        else:
            capacity[manager] = float(c.capacity)
    return capacity


def start_months(cfg: ScenarioConfig, reps: tuple[str, ...]) -> np.ndarray:
    """(reps,) plan-year month each rep starts in (0: on board all year), from the reps file's start_month."""
    if cfg.data.reps is None:
        return np.zeros(len(reps))
    from spmopt.data.tables import read_table

    table = read_table(cfg.data.reps, "reps")
    if "start_month" not in table.columns:
        return np.zeros(len(reps))
    start = pd.to_numeric(table["start_month"], errors="coerce").fillna(0)
    by_rep = dict(zip(table["rep_id"].astype(str).str.strip(), start, strict=True))
    return np.array([max(float(by_rep.get(r, 0)), 0.0) for r in reps])


def monthly_hours(hours: np.ndarray, start: np.ndarray) -> np.ndarray:
    """(reps, 12) hours given each plan-year month: none before a rep's start month, then `hours` a month."""
    month = np.arange(1, 13)
    return np.where(month[None, :] >= np.maximum(start, 1)[:, None], hours[:, None], 0.0)


def hour_costs(cfg: ScenarioConfig, value: np.ndarray, margin: float) -> HourCost:
    """Wage from `coaching.hour_cost`; opportunity cost from `coaching.opportunity_cost` (a setting the
    scenario may state, currency an hour) or, by default, the margin of an average working hour of its reps."""
    c = cfg.coaching
    assert c is not None
    stated = c.opportunity_cost
    if stated is not None:
        return HourCost(100 * c.hour_cost, 100 * float(stated), "coaching.opportunity_cost")
    source = (
        f"default: margin of an average working hour of the reps (mean expected sales x margin {margin:.3f} / "
        f"{WORK_HOURS:,.0f} h)"
    )
    return HourCost(100 * c.hour_cost, default_opportunity_cost(value, margin), source)


def sensitivity_sets(model: UpliftModel, prior: UpliftModel) -> list[tuple[str, Triple]]:
    """The fixed parameter sets the return is also simulated at: the history's own fit, the estimate the plan
    uses, and the prior's low / central / high u_max (at its central K and d)."""
    sets: list[tuple[str, Triple]] = []
    if model.fitted is not None:
        sets += [("fit", model.fitted), ("estimate", model.central())]
    _, k, d = prior.central()
    sets += [
        ("prior low", (prior.max_uplift_low, k, d)),
        ("prior central", prior.central()),
        ("prior high", (prior.max_uplift_high, k, d)),
    ]
    return sets


def coaching_paths(model: UpliftModel, prior: UpliftModel, hours: np.ndarray, bound: float) -> CoachingPaths:
    """Every draw's and every fixed set's (seats, 12) uplift for the monthly `hours`."""
    draws = model.parameter_draws()
    sets = sensitivity_sets(model, prior)
    fixed = np.array([p for _, p in sets], dtype=float)
    return CoachingPaths(
        draws=np.stack([model.at(tuple(p)).path(hours) for p in draws]),
        parameters=draws,
        checks=np.stack([model.at(tuple(p)).path(hours) for p in fixed]),
        check_names=tuple(name for name, _ in sets),
        check_parameters=fixed,
        return_bound=bound,
        hours=float(hours.sum()),
    )


def with_history_columns(table: pd.DataFrame, history: pd.DataFrame | None, model: UpliftModel) -> pd.DataFrame:
    """coaching.csv's `history_months_below_pct`: the share of the rep's own history months whose stock was below
    the plan's steady stock (blank for reps without history or without hours)."""
    hours = dict(zip(table["rep_id"], table["hours_per_month"], strict=True))
    below = months_below(history, model.decay, hours) if history is not None else {}
    share = [round(100 * below[r], 1) if r in below else np.nan for r in table["rep_id"]]
    return table.assign(history_months_below_pct=share)


def coaching_warnings(table: pd.DataFrame, model: UpliftModel, history: pd.DataFrame | None) -> tuple[str, ...]:
    """What the plan should not be read without: extrapolated hours, coached reps with no history of their own."""
    notes = []
    hours_year = float(table["hours_per_year"].sum())
    beyond = float((table["beyond_history_hours"] * table["months_coached"]).sum())
    if beyond > 0:
        notes.append(
            f"coaching: {100 * beyond / hours_year:.1f}% of the plan's hours are beyond the "
            f"{model.covered_hours:.2f} h a month the history covers (minimum hours force them)"
        )
    if history is not None:
        known = set(history["rep_id"])
        new = [r for r, h in zip(table["rep_id"], table["hours_per_month"], strict=True) if h > 0 and r not in known]
        if new:
            notes.append(
                f"coaching: {', '.join(new)} has no coaching history; their uplift is the other reps' average response"
            )
    return tuple(notes)


def check_coaching(cfg: ScenarioConfig) -> None:
    """What can be checked before any solving: the history's rows (known reps, hours >= 0), the prior file,
    and that every manager's capacity covers their reps' minimum hours."""
    c, comp = cfg.coaching, cfg.comp
    if c is None or comp is None or comp.crediting.hierarchy is None:
        return
    manager_of, roles = read_hierarchy(comp.crediting.hierarchy)
    reps = {p for p, m in manager_of.items() if roles.get(p, "rep") == "rep"}
    if cfg.data.reps is not None:
        from spmopt.data.tables import read_table

        reps = set(read_table(cfg.data.reps, "reps")["rep_id"].astype(str).str.strip())
    # The prior is read either way: a fitted history is shrunk towards it.
    UpliftModel.load(c.prior)
    if c.history is not None:
        read_history(c.history, reps)
    for manager in dict.fromkeys(manager_of[r] for r in reps if r in manager_of):
        team = sum(1 for r in reps if manager_of.get(r) == manager)
        hours = c.capacity.get(manager) if isinstance(c.capacity, dict) else c.capacity
        if hours is None:
            raise ConfigError(f"coaching.capacity: no hours for manager {manager}")
        if team * c.min_hours > hours + 1e-9:
            raise ConfigError(
                f"coaching: manager {manager} has {hours:g} h a month, below the {team * c.min_hours:g} h their "
                f"{team} reps' min_hours of {c.min_hours:g} add up to"
            )
