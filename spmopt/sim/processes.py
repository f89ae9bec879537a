"""The SimPy model of one plan year under one plan (behaviour only; pay is the comp engine's).

Processes and events, time in days from the plan-year start:
* `rep_career` (one process per seat): the rep starts (a new hire on their start day), is checked for
  turnover at the ends of months 3, 6 and 9, may leave, and a ramping replacement starts after the vacancy.
* `pipeline_review` (one process): every `decision_days` each active rep sets the effort that maximises the plan's
  expected pay at their forecast attainment and the time left, less a convex effort cost in money, and works the
  candidate opportunities arriving until the next review (thinning by effort; capacity in workload hours per day
  caps how many).
* opportunity stage events: each worked opportunity ends each stage after its drawn duration; it is lost at its
  drop stage or closes won at the end of the last stage and is booked to whoever holds the seat then.
* `period_ends` (one process): `window_days` before each payout-period end reps may push deals due before it
  past it, and on its last day pull deals due after it into it (at the customer's price concession), when the
  comp engine's per-period pay, valued when it is paid, is worth more that way; at the year end next year's pay
  and quota ratchet count too. The year opens with last year's year-end moves (deals pushed into it, deals pulled
  out of it), decided the same way on a drawn last-year attainment.

`Year` runs these processes over the year's state (`state`); the rules they act by are its parts: forecasts and
effort (`effort`), opportunity stage events (`opportunities`), deal timing (`timing`), bookings (`ledger`).
"""

from __future__ import annotations

import gc
import time
from bisect import bisect_left

import numpy as np

from spmopt.sim.draws import QUARTER_CHECKS
from spmopt.sim.effort import EffortRules
from spmopt.sim.ledger import Ledger, YearRecord
from spmopt.sim.opportunities import Opportunities
from spmopt.sim.people import Person
from spmopt.sim.timing import PULL_LEAD, DealTiming


class Year(Opportunities, EffortRules, DealTiming, Ledger):
    """One simulated year: its processes over the state and the parts it is made of (built, run once, read once)."""

    def run(self) -> YearRecord:
        env = self.env
        self._warm_pipeline()
        for s in range(len(self.inp.seats)):
            env.process(self.rep_career(s))
        env.process(self.pipeline_review())
        env.process(self.period_ends())
        clock = time.perf_counter()
        # The event loop allocates hundreds of thousands of short-lived events that reference counting frees;
        # the cyclic collector's passes over a large worker heap would only slow it down.
        collecting = gc.isenabled()
        gc.disable()
        try:
            env.run(until=self.T)
        finally:
            if collecting:
                gc.enable()
        self.run_seconds = time.perf_counter() - clock
        self._flush()
        return self._record()

    def rep_career(self, seat: int):
        """A seat's reps: start, quarterly turnover checks, leaving, vacancy and a ramping replacement."""
        env = self.env
        start = float(self.inp.start_day[seat])
        if start > 0:
            self.events += 1
            yield env.timeout(start)
        self._hire(seat, start, replacement=False)
        turnover = self.params.turnover
        checks = [float(self.month_days[3 * (q + 1)]) for q in range(QUARTER_CHECKS)]
        for q, day in enumerate(checks):
            if day <= env.now:
                continue
            self.events += 1
            yield env.timeout(day - env.now)
            if self.fixed:
                continue
            who = self.holder[seat]
            if who < 0 or env.now - self.persons[who].start < 30:
                continue
            pay = self._expected_pay(seat, who)
            target = self._target(seat, who)
            if pay < turnover.pay_threshold.value * target and self.c.u_turnover[seat, q] < (
                turnover.quit_probability.value
            ):
                self.left[who] = env.now
                self.holder[seat] = -1
                if self.trace is not None:
                    self._log("left", seat, -1, f"person {who}, expected pay {pay / 100:.2f}")
                if env.now + turnover.vacancy_days.value >= self.T:
                    return
                self.events += 1
                yield env.timeout(turnover.vacancy_days.value)
                self._hire(seat, env.now, replacement=True)

    def _hire(self, seat: int, day: float, replacement: bool) -> None:
        person = Person(seat, day, replacement, replacement or bool(self.inp.new_hire[seat]))
        self.persons.append(person)
        self.presence(day, person.ramped, person.lagged)
        self.presence_row.append(list(self.presence_cache).index((day, person.ramped, person.lagged)))
        self.first_day.append(max(int(np.ceil(day)), 0))
        self.left.append(np.inf)
        self.ytd.append(0.0)
        self.holder[seat] = len(self.persons) - 1
        if self.trace is not None:
            self._log("hired", seat, -1, f"person {len(self.persons) - 1}{' (replacement)' if replacement else ''}")

    def pipeline_review(self):
        """Weekly: effort for every active rep at once, then work this week's candidates."""
        env = self.env
        ptr = bisect_left(self.arrival, 0.0)
        n = len(self.arrival)
        seats = len(self.inp.seats)
        while env.now < self.T:
            now = env.now
            until = min(now + self.step, self.T)
            end = bisect_left(self.arrival, until, ptr, n)
            month = self.day_month[int(now)]
            hold = np.array(self.holder)
            active = hold >= 0
            who = hold[active]
            start = np.array([p.start for p in self.persons])[who] if len(who) else np.zeros(0)
            since = now - start
            ramp = np.zeros(seats)
            month_in = (since // 30.4).astype(np.int64)
            ramped = (month_in < len(self.ramp)) & np.array([p.ramped for p in self.persons], dtype=bool)[who]
            ramp[active] = np.where(ramped, self.ramp[np.minimum(month_in, len(self.ramp) - 1)], 1.0)
            if self.fixed:
                effort_seat = np.where(active, 1.0, np.nan)
                effort = None
            else:
                effort = self.review_effort(hold, now)
                effort_seat = np.where(active, effort.seat_effort, np.nan)
            if self.trace is not None:
                for s in np.flatnonzero(active).tolist():
                    self._log("review", s, -1, f"effort {effort_seat[s]:.4f}")
            self.effort_sum[:, month] += np.nan_to_num(effort_seat)
            self.effort_n[:, month] += active
            if end > ptr:
                self._work(slice(ptr, end), effort, ramp, month, now)
            ptr = end
            self.events += 1
            yield env.timeout(until - now)

    def period_ends(self):
        """Before each payout-period end: a push review `window_days` before it, a pull review on its last day."""
        env = self.env
        if not self._timing_on():
            return
        lead = min(PULL_LEAD, self.window)
        # In time order: with monthly pay a month's push review can come before the last month's pull review.
        reviews = sorted(
            (when, p, end, pull)
            for p, end in enumerate(self.ctx.period_end.tolist())
            for when, pull in ((end - self.window, False), (end - lead, True))
        )
        for when, p, end, pull in reviews:
            if when < env.now:
                continue
            self.events += 1
            yield env.timeout(when - env.now)
            self._review_moves(p, end, pull)
