"""The coaching stage: uplift model (fitted or prior) -> each manager's hours across their reps -> the monthly
uplift the simulator plays the year with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmopt.coaching.allocate import CoachingInputs, allocate
from spmopt.coaching.uplift import UpliftModel, fit, read_history
from spmopt.comp.crediting import read_hierarchy
from spmopt.config import ScenarioConfig
from spmopt.errors import ConfigError, DataError
from spmopt.optim.solve import SolveReport


@dataclass(frozen=True, slots=True)
class CoachingPlan:
    """Who gets coached, how much, what it is expected to return, and the uplift path the simulator uses."""

    model: UpliftModel
    table: pd.DataFrame
    """coaching.csv: rep, manager, hours, expected uplift with interval, value of the next slot, why."""
    report: SolveReport
    uplift: np.ndarray
    """(seats, 12) relative uplift of each seat's win rate by plan-year month (0 in month 1, then building)."""
    cost: int
    """Manager hours a year x hour cost, cents."""

    def facts(self) -> dict[str, object]:
        return {
            "method": self.model.method,
            "max_uplift": round(self.model.max_uplift, 4),
            "max_uplift_ci": [round(self.model.max_uplift_low, 4), round(self.model.max_uplift_high, 4)],
            "decay": self.model.decay,
            "half_stock": self.model.half_stock,
            "observations": self.model.observations,
            "hours_per_month": float(self.table["hours_per_month"].sum()),
            "reps_coached": int((self.table["hours_per_month"] > 0).sum()),
            "expected_uplift": float(self.table["expected_uplift"].sum()),
            "cost": self.cost / 100,
            "status": str(self.report.status),
            "gap": self.report.gap,
        }


def uplift_model(cfg: ScenarioConfig, reps: set[str]) -> UpliftModel:
    """Fitted from the scenario's coaching history, or the documented prior."""
    c = cfg.coaching
    assert c is not None
    if c.history is not None:
        return fit(read_history(c.history, reps), source=str(c.history))
    return UpliftModel.load(c.prior)


def plan_coaching(cfg: ScenarioConfig, reps: tuple[str, ...], value: np.ndarray) -> CoachingPlan:
    """Allocate every manager's hours over their reps; `value` is each rep's expected annual sales in cents."""
    c, comp = cfg.coaching, cfg.comp
    if c is None or comp is None or comp.crediting.hierarchy is None:
        raise ConfigError("coaching needs the coaching section and comp.crediting.hierarchy")
    model = uplift_model(cfg, set(reps))
    manager_of, _ = read_hierarchy(comp.crediting.hierarchy)
    missing = [r for r in reps if r not in manager_of]
    if missing:
        raise DataError(f"{comp.crediting.hierarchy}: no manager for rep {missing[0]} (coaching comes from managers)")
    managers = tuple(manager_of[r] for r in reps)
    capacity = {}
    for manager in dict.fromkeys(managers):
        if isinstance(c.capacity, dict):
            if manager not in c.capacity:
                raise ConfigError(f"coaching.capacity: no hours for manager {manager} (have {', '.join(c.capacity)})")
            capacity[manager] = float(c.capacity[manager])
        else:
            capacity[manager] = float(c.capacity)
    inputs = CoachingInputs(
        reps=reps,
        manager=managers,
        value=np.asarray(value, dtype=float),
        min_hours=np.full(len(reps), c.min_hours),
        max_hours=np.full(len(reps), c.max_hours),
        capacity=capacity,
        step=c.step,
        hour_cost=100 * c.hour_cost,
    )
    table, report = allocate(inputs, model)
    hours = table["hours_per_month"].to_numpy(dtype=float)
    # Coaching starts with the plan year; each month's hours act from the next month on.
    uplift = model.path(np.repeat(hours[:, None], 12, axis=1))
    cost = int(round(100 * c.hour_cost * 12 * hours.sum()))
    return CoachingPlan(model=model, table=table, report=report, uplift=uplift, cost=cost)


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
    if c.history is not None:
        read_history(c.history, reps)
    else:
        UpliftModel.load(c.prior)
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
