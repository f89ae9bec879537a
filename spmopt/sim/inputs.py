"""The simulator's view of a scenario: seats (territories with a rep), the units they cover and how many
opportunities of what size each unit brings at normal effort; plus the calendar of the plan year.

Opportunity rate of unit u (per day, normal effort, skill 1): lambda_u = R_u / (T p_win m_u), where R_u is the
unit's expected annual sales, m_u its mean deal size and p_win the pipeline's win probability, so a
normal-effort year sells R_u in expectation. R_u is `capture` x potential, or (calibrate: forecast) the
territory's expected sales from the quota stage shared in proportion to potential.

New hires start with an empty pipeline: what they work closes a won-deal cycle later (`lag`), as the quota
stage's ramp assumes when it is given the same lag (`spmopt.quota.periods.closing_rate` serves both). Their
normal-effort expectation for the plan year is the full-year one times `first_spell()`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from spmopt.errors import DataError
from spmopt.quota.periods import closing_rate
from spmopt.sim.cycle import pipeline_lag
from spmopt.sim.params import BehaviourParams

DISPERSION_COLUMN = "dispersion_sigma"
"""Column of the quota table holding the quota stage's sigma of log seat sales."""


@dataclass(frozen=True, slots=True)
class SimInputs:
    """Everything plan-independent the simulator needs; money in cents, time in days from the year start."""

    seats: tuple[str, ...]
    """Territory ids that have a rep (vacant territories are not simulated)."""
    reps: tuple[str, ...]
    year_start: dt.date
    month_days: np.ndarray
    """(13,) day offset of each month start; the last entry is the year's length in days."""
    unit_ids: tuple[str, ...]
    unit_seat: np.ndarray
    """(units,) seat index of each unit."""
    unit_rate: np.ndarray
    """(units,) opportunities per day at normal effort."""
    unit_size: np.ndarray
    """(units,) mean deal size, cents."""
    unit_hours: np.ndarray
    """(units,) workload hours one opportunity takes (0 when capacity is not modelled)."""
    capacity: np.ndarray
    """(seats,) selling hours per day (inf when capacity is not modelled)."""
    start_day: np.ndarray
    """(seats,) day the seat's rep starts selling (0: on board all year)."""
    new_hire: np.ndarray
    """(seats,) the rep is new (a start month is given) and ramps up from their start day."""
    ramp: tuple[float, ...]
    """Productivity of a new rep (new hire or replacement) in their 1st, 2nd, ... month."""
    lag: np.ndarray = field(default_factory=lambda: np.ones(1))
    """Daily distribution of a won deal's cycle from arrival to close: a new hire's first closings follow their
    first day by it (all mass on day 0: no delay)."""
    dispersion: float | None = None
    """The quota stage's sigma of log seat sales, which the simulated skill spread is calibrated to (None: the
    behaviour file's skill spread)."""
    month_weights: np.ndarray = field(default_factory=lambda: np.ones(12))
    """(12,) the quota stage's seasonal profile: each plan-year month's share of the year (any positive scale)."""

    @property
    def days(self) -> int:
        return int(self.month_days[-1])

    def ahead(self, start: float, ramped: bool, lagged: bool) -> np.ndarray:
        """(days + 1,) share of a full year's normal-effort sales a rep whose first day is `start` closes from each
        day to the year end; `ramped` reps ramp up, `lagged` ones start with an empty pipeline (new hires)."""
        if start <= 0 and not ramped:
            rate = np.ones(self.days)  # on board before the year: the warm pipeline closes from day 0
        else:
            rate = closing_rate(self.days, start, self.ramp if ramped else (), self.lag if lagged else None)
        return np.concatenate([np.cumsum(rate[::-1])[::-1], [0.0]]) / self.days

    def first_spell(self) -> np.ndarray:
        """(seats,) share of a full year's normal-effort sales the seat's first rep closes in the plan year (1 for
        reps on board all year): what the seat's quota and incentive tables are set against."""
        pairs = zip(self.start_day.tolist(), self.new_hire.tolist(), strict=True)
        return np.array([self.ahead(start, hired, hired)[max(int(np.ceil(start)), 0)] for start, hired in pairs])

    def expected_amount(self, win_probability: float) -> np.ndarray:
        """(seats,) expected annual sales (cents) at normal effort over a full year, skill 1."""
        per_unit = self.unit_rate * win_probability * self.unit_size * self.days
        return np.bincount(self.unit_seat, weights=per_unit, minlength=len(self.seats))

    def month_of(self, day: float) -> int:
        return int(np.searchsorted(self.month_days, day, side="right") - 1)


def calendar(year_start: dt.date) -> np.ndarray:
    """(13,) day offsets of the plan year's month starts from `year_start`."""
    days = [0]
    y, m = year_start.year, year_start.month
    for _ in range(12):
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        days.append((dt.date(y, m, 1) - year_start).days)
    return np.array(days, dtype=np.int64)


def sim_inputs(
    units: pd.DataFrame,
    alignment: pd.Series,
    quota_table: pd.DataFrame,
    params: BehaviourParams,
    year_start: dt.date,
    ramp: tuple[float, ...],
    calibrate: str = "forecast",
    potential: str = "potential",
    workload: str | None = None,
    accounts: str | None = None,
) -> SimInputs:
    """Seats and unit rates from the units table (index unit_id), the alignment (unit -> territory) and the
    quota stage's table (territory_id, rep_id, start_month, ramp_factor, expected_sales)."""
    table = quota_table.set_index("territory_id")
    staffed = [t for t in table.index if isinstance(table.at[t, "rep_id"], str) and table.at[t, "rep_id"]]
    if not staffed:
        raise DataError("simulation: no territory has a rep, so there is nobody to simulate")
    seat_of = {t: k for k, t in enumerate(staffed)}
    aligned = alignment[alignment.isin(seat_of)]
    unit_ids = tuple(str(u) for u in aligned.index)
    seat = aligned.map(seat_of).to_numpy(dtype=np.int64)
    pot = units.loc[list(aligned.index), potential].to_numpy(dtype=float)
    n_acc = units.loc[list(aligned.index), accounts].to_numpy(dtype=float) if accounts else np.ones(len(pot))
    if (n_acc <= 0).any():
        bad = unit_ids[int(np.argmax(n_acc <= 0))]
        raise DataError(f"units: unit {bad} has {accounts} = 0; every unit with potential needs an account")
    pipeline = params.pipeline
    p_win = pipeline.win_probability
    size = pipeline.deal_size_share.value * pot / n_acc * 100  # cents
    if calibrate == "forecast":
        if "expected_sales" not in table.columns:
            raise DataError("simulation.calibrate forecast needs the quota stage's expected_sales per territory")
        ramp_factor = table["ramp_factor"] if "ramp_factor" in table.columns else pd.Series(1.0, index=table.index)
        # Expected sales of a ramping rep are a part-year figure; rates are set for a full year.
        full_year = {t: float(table.at[t, "expected_sales"]) / max(float(ramp_factor[t]), 1e-9) for t in staffed}
        seat_pot = np.bincount(seat, weights=pot, minlength=len(staffed))
        annual = np.array([full_year[t] for t in staffed])[seat] * np.divide(
            pot, seat_pot[seat], out=np.zeros_like(pot), where=seat_pot[seat] > 0
        )
    else:
        annual = pipeline.capture.value * pot
    month_days = calendar(year_start)
    days = int(month_days[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(size > 0, annual * 100 / (days * p_win * size), 0.0)
    if workload is not None:
        load = units.loc[list(aligned.index), workload].to_numpy(dtype=float)
        opps = rate * days
        hours = np.divide(load, opps, out=np.zeros_like(load), where=opps > 0)
        seat_load = np.bincount(seat, weights=load, minlength=len(staffed))
        capacity = np.full(len(staffed), params.reps.capacity_headroom.value * seat_load.mean() / days)
    else:
        hours = np.zeros(len(pot))
        capacity = np.full(len(staffed), np.inf)
    start_month = (
        table["start_month"].fillna(0).astype(int) if "start_month" in table.columns else pd.Series(0, table.index)
    )
    start_day = np.array([month_days[max(int(start_month[t]) - 1, 0)] for t in staffed], dtype=float)
    return SimInputs(
        seats=tuple(str(t) for t in staffed),
        reps=tuple(str(table.at[t, "rep_id"]) for t in staffed),
        year_start=year_start,
        month_days=month_days,
        unit_ids=unit_ids,
        unit_seat=seat,
        unit_rate=rate,
        unit_size=size,
        unit_hours=hours,
        capacity=capacity,
        start_day=start_day,
        new_hire=np.array([int(start_month[t]) >= 1 for t in staffed], dtype=bool),
        ramp=tuple(ramp),
        lag=np.asarray(pipeline_lag(params).daily),
        dispersion=_dispersion(table),
        month_weights=_month_weights(table, staffed, start_month),
    )


def _month_weights(table: pd.DataFrame, staffed: list[str], start_month: pd.Series) -> np.ndarray:
    """The seasonal profile of the quota stage, from the period quotas of seats on board all year (theirs carry no
    ramp); flat when the table has no period columns."""
    steady = [t for t in staffed if int(start_month[t]) == 0]
    months = [f"quota_m{k:02d}" for k in range(1, 13)]
    quarters = [f"quota_q{k}" for k in range(1, 5)]
    if steady and all(c in table.columns for c in months):
        return table.loc[steady, months].to_numpy(float).sum(axis=0)
    if steady and all(c in table.columns for c in quarters):
        return np.repeat(table.loc[steady, quarters].to_numpy(float).sum(axis=0) / 3, 3)
    return np.ones(12)


def _dispersion(table: pd.DataFrame) -> float | None:
    """The quota stage's sigma (one value in the column), or None when the table does not carry it."""
    if DISPERSION_COLUMN not in table.columns:
        return None
    values = pd.to_numeric(table[DISPERSION_COLUMN], errors="coerce").dropna().unique()
    if len(values) != 1 or not values[0] > 0:
        raise DataError(f"quotas: column {DISPERSION_COLUMN} must hold one positive sigma, not {list(values)[:3]}")
    return float(values[0])


def synthetic_inputs(
    n_seats: int,
    units_per_seat: int,
    annual_per_seat: float,
    mean_deal: float,
    params: BehaviourParams,
    rng: np.random.Generator,
    year_start: dt.date = dt.date(2027, 1, 1),
    ramp: tuple[float, ...] = (0.25, 0.5, 0.75),
) -> SimInputs:
    """A benchmark/test instance: seats with equal expected sales spread over units of random potential."""
    n = n_seats * units_per_seat
    seat = np.repeat(np.arange(n_seats), units_per_seat)
    weight = rng.gamma(2.0, 1.0, size=n)
    share = weight / np.bincount(seat, weights=weight)[seat]
    annual = annual_per_seat * share
    size = np.full(n, mean_deal * 100.0)
    month_days = calendar(year_start)
    days = int(month_days[-1])
    rate = annual * 100 / (days * params.pipeline.win_probability * size)
    return SimInputs(
        seats=tuple(f"T{k:04d}" for k in range(n_seats)),
        reps=tuple(f"R{k:04d}" for k in range(n_seats)),
        year_start=year_start,
        month_days=month_days,
        unit_ids=tuple(f"U{k:06d}" for k in range(n)),
        unit_seat=seat,
        unit_rate=rate,
        unit_size=size,
        unit_hours=np.zeros(n),
        capacity=np.full(n_seats, np.inf),
        start_day=np.zeros(n_seats),
        new_hire=np.zeros(n_seats, dtype=bool),
        ramp=ramp,
        lag=np.asarray(pipeline_lag(params).daily),
    )
