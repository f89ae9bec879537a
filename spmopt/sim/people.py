"""The reps who hold the seats: one rep's spell in a seat, their ramp, and the quota and share of the seat's
target incentive they are paid on (the simulator reasons with these, and the pay step pays on them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spmopt.sim.incentives import PlanContext


@dataclass(frozen=True, slots=True)
class Person:
    """One rep's spell in a seat."""

    seat: int
    start: float
    replacement: bool
    ramped: bool
    """Ramps up from `start` (replacements, and new hires whose start month the reps file gives)."""

    @property
    def lagged(self) -> bool:
        """A new hire starts with an empty pipeline, so their first deals close a sales cycle after their start
        (a replacement takes over the seat's open deals)."""
        return self.ramped and not self.replacement


def ramp_at(person: Person, day: float, ramp: np.ndarray) -> float:
    """Productivity of a person on a day: their ramp factor for the month since they started, if they ramp."""
    if not person.ramped:
        return 1.0
    k = int((day - person.start) // 30.4)
    return float(ramp[k]) if 0 <= k < len(ramp) else 1.0


def target_share(person: Person, days: float) -> float:
    """Share of the seat's target incentive a person is paid on: pro rata to the year left from their start, for
    a replacement and for a new hire alike (the comp stage prorates a mid-year start's target incentive too)."""
    return max(days - person.start, 0.0) / days


def person_quota(ctx: PlanContext, person: Person, month_days: np.ndarray, ramp: np.ndarray) -> np.ndarray:
    """(periods, measures) quota of a person: the seat's, or for a replacement the part of each period from
    their start, ramped."""
    if not person.replacement:
        return ctx.quota[person.seat]
    factor = np.zeros(12)
    for month in range(12):
        lo, hi = float(month_days[month]), float(month_days[month + 1])
        inside = max(0.0, hi - max(lo, person.start)) / (hi - lo)
        factor[month] = inside * ramp_at(person, max(lo, person.start), ramp)
    per = 12 // ctx.periods
    period_factor = factor.reshape(ctx.periods, per).mean(axis=1)
    return np.rint(ctx.quota[person.seat] * period_factor[:, None]).astype(np.int64)
