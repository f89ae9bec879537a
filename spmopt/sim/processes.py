"""The SimPy model of one plan year under one plan (behaviour only; pay is the comp engine's).

Processes and events, time in days from the plan-year start:
* `rep_career` (one process per seat): the rep starts (a new hire on their start day), is checked for
  turnover at the ends of months 3, 6 and 9, may leave, and a ramping replacement starts after the vacancy.
* `pipeline_review` (one process): every `decision_days` each active rep sets effort from the plan's expected
  marginal pay at their forecast attainment and the time left, and works the candidate opportunities arriving
  until the next review (thinning by effort; capacity in workload hours per day caps how many).
* opportunity stage events: each worked opportunity ends each stage after its drawn duration; it is lost at its
  drop stage or closes won at the end of the last stage and is booked to whoever holds the seat then.
* `period_ends` (one process): `window_days` before each payout-period end, reps with deals about to close
  move them across the period end (pull in, at a discount; or push out) when the comp engine says the year
  pays more that way.
"""

from __future__ import annotations

import gc
import time
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.events import Timeout

from spmopt.comp.engine import evaluate
from spmopt.sim.draws import QUARTER_CHECKS, CandidateLists, Candidates
from spmopt.sim.incentives import GRID_STEP, LEVELS, PlanContext
from spmopt.sim.inputs import SimInputs
from spmopt.sim.params import BehaviourParams

PULLED, PUSHED = 1, 2


@dataclass(frozen=True, slots=True)
class Person:
    """One rep's spell in a seat."""

    seat: int
    start: float
    replacement: bool
    ramped: bool
    """Ramps up from `start` (replacements, and new hires whose start month the reps file gives)."""


@dataclass(frozen=True, slots=True)
class YearRecord:
    """What happened in one simulated year, before pay (arrays indexed by booking / person / seat-month)."""

    persons: tuple[Person, ...]
    left_day: np.ndarray
    """(persons,) day each person left (inf: stayed)."""
    book_cand: np.ndarray
    book_person: np.ndarray
    """(bookings,) person credited, -1 when the seat was vacant (house account)."""
    book_seat: np.ndarray
    book_day: np.ndarray
    book_amount: np.ndarray
    """(bookings,) cents, after any pull-in discount."""
    book_moved: np.ndarray
    effort_sum: np.ndarray
    effort_n: np.ndarray
    """(seats, 12) sum and count of the weekly effort levels of active reps."""
    worked: np.ndarray
    """(seats, 12) opportunities worked (accepted)."""
    pushed_out: np.ndarray
    """(seats, 2) deals and cents pushed past the year end."""
    moves: np.ndarray
    """(seats, 12, 2) deals pulled in and pushed out (within the year and past it), by month of decision."""
    credit: np.ndarray
    """(persons, periods, measures) credit, cents or hundredths of a count."""
    spif_credit: np.ndarray
    events: int
    run_seconds: float
    """Wall time of the event loop alone (for events per second)."""


def ramp_at(person: Person, day: float, ramp: np.ndarray) -> float:
    """Productivity of a person on a day: their ramp factor for the month since they started, if they ramp."""
    if not person.ramped:
        return 1.0
    k = int((day - person.start) // 30.4)
    return float(ramp[k]) if 0 <= k < len(ramp) else 1.0


def target_share(person: Person, days: float) -> float:
    """Share of the seat's target incentive a person is paid on: a replacement's is pro rata to the year left."""
    return (days - person.start) / days if person.replacement else 1.0


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


class Year:
    """State and callbacks of one simulated year (built, run once, read once)."""

    def __init__(
        self,
        inputs: SimInputs,
        ctx: PlanContext,
        params: BehaviourParams,
        cands: Candidates,
        fixed_effort: bool,
        lists: CandidateLists | None = None,
        trace: bool = False,
        uplift: np.ndarray | None = None,
    ) -> None:
        self.inp, self.ctx, self.params, self.c = inputs, ctx, params, cands
        self.fixed = fixed_effort
        self.trace: list[tuple[float, str, int, int, str]] | None = [] if trace else None
        """With `trace`: (day, event, seat, opportunity or -1, detail) for every event, in order."""
        self.env = simpy.Environment()
        self.events = 0
        n_seats = len(inputs.seats)
        self.T = float(inputs.days)
        self.n_stages = len(params.pipeline.stages)
        mot = params.motivation
        self.e_min, self.e_max, self.eps = mot.effort_min.value, mot.effort_max.value, mot.elasticity.value
        self.step = float(mot.decision_days.value)
        self.window = params.timing.window_days.value
        lists = lists if lists is not None else cands.lists()
        self.arrival, self.dur, self.drop, self.cseat = lists.arrival, lists.durations, lists.drop_stage, lists.seat
        self.uplift = uplift
        """(seats, 12) relative rise of the last stage's win probability from coaching, by plan-year month."""
        if uplift is not None:
            if cands.u_win is None:
                raise ValueError("coaching uplift needs the candidates' last-stage uniforms (u_win)")
            self.drop = list(self.drop)  # outcomes change with coaching: this year's own copy
            self.u_win = cands.u_win.tolist()
            last = params.pipeline.stages[-1].pass_probability
            self.p_last = (last * cands.win_factor).tolist()
        self.token = [0] * len(cands)
        self.moved = [0] * len(cands)
        self.final: list[dict[int, float]] = [{} for _ in range(n_seats)]
        self.holder = [-1] * n_seats
        self.persons: list[Person] = []
        self.left: list[float] = []
        self.ytd: list[float] = []
        self.expected = inputs.expected_amount(params.pipeline.win_probability)
        self.presence_cache: dict[tuple[float, bool], np.ndarray] = {}
        self._table: np.ndarray | None = None
        self._pay_at: tuple[float, np.ndarray] | None = None
        self.presence_row: list[int] = []
        self.first_day: list[int] = []
        self.books: list[tuple[int, int, int, float, int, int]] = []
        self.effort_sum = np.zeros((n_seats, 12))
        self.effort_n = np.zeros((n_seats, 12))
        self.worked = np.zeros((n_seats, 12), dtype=np.int64)
        self.pushed_out = np.zeros((n_seats, 2), dtype=np.int64)
        self.moves = np.zeros((n_seats, 12, 2), dtype=np.int64)
        self.ramp = np.array(inputs.ramp, dtype=float)
        self.month_days = inputs.month_days.astype(float)
        self.day_month = np.minimum(
            np.searchsorted(inputs.month_days, np.arange(inputs.days + 1), side="right") - 1, 11
        ).tolist()
        # Each seat has at most its first rep and a replacement after each turnover check.
        most = n_seats * (1 + QUARTER_CHECKS)
        self.person_credit = np.zeros((most, ctx.periods, len(ctx.field)))
        """Per person: (periods, measures) credit booked, exactly as the comp engine will be given it."""
        self.person_spif = np.zeros((most, ctx.periods, len(ctx.spif_value)))
        self._flushed = 0
        self.size = cands.size.astype(float).tolist()
        self.pull_factor = 1.0 - params.timing.pull_discount.value
        # Money fields shrink with a pull-in discount; counts do not.
        self.money_factor = np.array([self.pull_factor if f in (0, 1) else 1.0 for f in ctx.field])
        self.spif_factor = np.array([self.pull_factor if f in (0, 1) else 1.0 for f in ctx.spif_field])
        self._per_candidate_credit()

    # ------------------------------------------------------------------ setup

    def _per_candidate_credit(self) -> None:
        """Exact credit of each candidate on each measure and SPIF (cents, hundredths for counts), and the
        expected credit a rep reasons with before the deal size is known."""
        c, ctx, inp = self.c, self.ctx, self.inp
        products = list(self.params.pipeline.products.values())
        margin = np.array([p.margin for p in products])[c.product]
        size = c.size.astype(float)

        def credit(fields: tuple[int, ...], mask: np.ndarray, amount: np.ndarray) -> np.ndarray:
            values = np.stack(
                [amount, amount * margin, np.full(len(c), 100.0), 100.0 * c.new_logo], axis=1
            )  # (n, fields)
            if not fields:
                return np.zeros((len(c), 0))
            return values[:, list(fields)] * mask[:, c.product].T

        self.exact = np.rint(credit(ctx.field, ctx.mask, size))
        self.exact_spif = np.rint(credit(ctx.spif_field, ctx.spif_mask, size))
        mean = inp.unit_size[c.unit] * c.size_factor[c.seat]
        self.expected_credit = credit(ctx.field, ctx.mask, mean)
        self.expected_spif = credit(ctx.spif_field, ctx.spif_mask, mean)
        self.mean_size = mean
        self.hours = inp.unit_hours[c.unit]
        self.cycle = float(sum(s.mean_days for s in self.params.pipeline.stages))

    def schedule(self, delay: float, value: tuple[int, int, int]) -> None:
        self.events += 1
        Timeout(self.env, delay, value).callbacks.append(self.on_stage)

    def presence(self, start: float, ramped: bool) -> np.ndarray:
        """(days + 1,) ramp-weighted selling share of the year still ahead at each day, for a rep starting at
        `start`: expected normal-effort sales from day t to year end = A_s x presence[t]."""
        key = (start, ramped)
        if key not in self.presence_cache:
            days = int(self.T)
            rate = np.zeros(days)
            first = int(np.ceil(start))
            rate[first:] = 1.0
            if ramped:
                for k, f in enumerate(self.ramp):
                    lo, hi = first + int(30.4 * k), min(first + int(30.4 * (k + 1)), days)
                    rate[lo:hi] = f
            ahead = np.concatenate([np.cumsum(rate[::-1])[::-1], [0.0]]) / days
            self.presence_cache[key] = ahead
            self._table = None
        return self.presence_cache[key]

    def presence_table(self) -> np.ndarray:
        if self._table is None:
            self._table = np.stack(list(self.presence_cache.values()))
        return self._table

    # ------------------------------------------------------------------ processes

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

    def _warm_pipeline(self) -> None:
        """Opportunities from before the year, worked at normal effort, still open on day 0."""
        c = self.c
        start = self.inp.start_day[c.seat]
        warm = (c.arrival < 0) & (c.u_accept < 1.0 / self.e_max) & (start <= 0)
        ends = np.cumsum(c.durations, axis=1) + c.arrival[:, None]
        last = np.minimum(c.drop_stage, self.n_stages - 1)
        reached = np.arange(self.n_stages)[None, :] <= last[:, None]
        open_ = (ends >= 0) & reached
        chosen = np.flatnonzero(warm & open_.any(axis=1))
        stages = open_[chosen].argmax(axis=1)
        due = ends[chosen, stages]
        last = self.n_stages - 1
        for i, stage, day in zip(chosen.tolist(), stages.tolist(), due.tolist(), strict=True):
            if stage == last and self.drop[i] == self.n_stages:
                self.final[self.cseat[i]][i] = day
            self.schedule(day, (i, stage, 0))

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
        self.presence(day, person.ramped)
        self.presence_row.append(list(self.presence_cache).index((day, person.ramped)))
        self.first_day.append(max(int(np.ceil(day)), 0))
        self.left.append(np.inf)
        self.ytd.append(0.0)
        self.holder[seat] = len(self.persons) - 1
        if self.trace is not None:
            self._log("hired", seat, -1, f"person {len(self.persons) - 1}{' (replacement)' if replacement else ''}")

    def _forecasts(self, hold: np.ndarray, day: float) -> np.ndarray:
        """(seats,) forecast annual sales of each seat's rep as a multiple of their normal-effort expectation
        (1 for vacant seats): (booked + expected still ahead) / expected over their whole spell."""
        out = np.ones(len(hold))
        idx = np.flatnonzero(hold >= 0)
        if not len(idx):
            return out
        who = hold[idx]
        ytd = np.array(self.ytd)[who]
        rows = np.array(self.presence_row)[who]
        table = self.presence_table()
        ahead = table[rows, min(int(day), table.shape[1] - 1)]
        total = table[rows, np.array(self.first_day)[who]]
        exp = self.expected[idx]
        good = total * exp > 0
        out[idx] = np.where(good, (ytd + ahead * exp) / np.where(good, total * exp, 1.0), 1.0)
        return out

    def _level(self, day: float) -> int:
        return min(max(int(np.ceil(12 * (self.T - day) / self.T)), 0), LEVELS - 1)

    def _expected_pay(self, seat: int, who: int) -> float:
        """Expected annual pay of the person in the seat, from the engine's table at their forecast (computed for
        every seat at once and kept for the rest of the same instant: all seats check at the same quarter end)."""
        now = self.env.now
        if self._pay_at is None or self._pay_at[0] != now:
            hold = np.array(self.holder)
            x = self._forecasts(hold, now)
            g = np.minimum(np.rint(x / GRID_STEP).astype(np.int64), self.ctx.expected_pay.shape[2] - 1)
            pay = self.ctx.expected_pay[np.arange(len(hold)), self._level(now), g]
            self._pay_at = (now, pay)
        person = self.persons[who]
        share = self.presence(person.start, person.ramped)[self.first_day[who]]
        return float(self._pay_at[1][seat]) * share

    def _target(self, seat: int, who: int) -> float:
        return float(self.ctx.target_incentive[seat]) * target_share(self.persons[who], self.T)

    def pipeline_review(self):
        """Weekly: effort from marginal pay for every active rep at once, then work this week's candidates."""
        env, ctx = self.env, self.ctx
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
                m = np.zeros((seats, ctx.marginal.shape[3]))
                x = self._forecasts(hold, now)
                g = np.minimum(np.rint(x / GRID_STEP).astype(np.int64), ctx.marginal.shape[2] - 1)
                idx = np.flatnonzero(active)
                m[idx] = ctx.marginal[idx, self._level(now), g[idx]]
                rho_seat = (ctx.ray * m).sum(axis=1) / np.maximum(ctx.reference_rate, 1e-300)
                effort_seat = np.where(active, self._effort(rho_seat), np.nan)
                effort = m
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

    def _effort(self, rho: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            e = np.where(rho > 0, np.power(np.maximum(rho, 1e-300), self.eps), 0.0)
        return np.clip(e, self.e_min, self.e_max)

    def _work(self, block: slice, marginal: np.ndarray | None, ramp: np.ndarray, month: int, now: float) -> None:
        """Accept the block's candidates by effort (thinning) and capacity, and start their first stage."""
        c, ctx = self.c, self.ctx
        seat = c.seat[block]
        if marginal is None:
            effort = np.ones(len(seat))
        else:
            value = (self.expected_credit[block] * marginal[seat]).sum(axis=1)
            if len(ctx.spif_value):
                due = c.arrival[block] + self.cycle
                live = (due[:, None] >= ctx.spif_days[:, 0]) & (due[:, None] < ctx.spif_days[:, 1])
                value = value + (self.expected_spif[block] * ctx.spif_value * live).sum(axis=1)
            rho = value / (self.mean_size[block] * ctx.reference_rate[seat])
            effort = self._effort(rho)
        accept = c.u_accept[block] < effort * ramp[seat] / self.e_max
        hours = self.hours[block]
        if np.isfinite(self.inp.capacity).all() and hours.any():
            # Hours used this review, in arrival order per seat; the rep stops when the week's hours run out.
            used = np.where(accept, hours, 0.0)
            order = np.argsort(seat, kind="stable")
            cum = np.cumsum(used[order])
            first = np.searchsorted(seat[order], seat[order])
            before = np.concatenate([[0.0], cum])[first]
            within = np.empty(len(seat), dtype=bool)
            within[order] = cum - before <= self.inp.capacity[seat[order]] * self.step
            accept &= within
        index = np.flatnonzero(accept) + block.start
        np.add.at(self.worked[:, month], c.seat[index], 1)
        arrival, first = self.arrival, self.dur[0]
        single = self.n_stages == 1 and self.uplift is not None
        for i in index.tolist():
            if single:
                self._decide(i)
            self.schedule(arrival[i] + first[i] - now, (i, 0, 0))
            if self.trace is not None:
                self._log("worked", c.seat[i], i, f"arrives {arrival[i]:.6g}")

    def on_stage(self, event: simpy.Event) -> None:
        i, stage, token = event.value
        if token != self.token[i]:
            return  # the close was moved; this is the stale event
        if stage == self.drop[i]:
            if self.trace is not None:
                self._log("lost", self.cseat[i], i, f"stage {stage}")
            return
        last = self.n_stages - 1
        if stage == last:
            self._book(i)
            return
        if self.trace is not None:
            self._log("passed", self.cseat[i], i, f"stage {stage}")
        nxt = stage + 1
        delay = self.dur[nxt][i]
        if nxt == last and self.uplift is not None:
            self._decide(i)
        if nxt == last and self.drop[i] == self.n_stages:
            self.final[self.cseat[i]][i] = self.env.now + delay
        self.events += 1
        Timeout(self.env, delay, (i, nxt, token)).callbacks.append(self.on_stage)

    def _decide(self, i: int) -> None:
        """Outcome of an opportunity entering the last stage, with the seat's coaching uplift of this month."""
        seat = self.cseat[i]
        p = min(1.0, self.p_last[seat] * (1.0 + self.uplift[seat, self.day_month[int(self.env.now)]]))
        self.drop[i] = self.n_stages if self.u_win[i] < p else self.n_stages - 1

    def _book(self, i: int) -> None:
        seat = self.cseat[i]
        self.final[seat].pop(i, None)
        who = self.holder[seat]
        moved = self.moved[i]
        amount = self.size[i] * (self.pull_factor if moved == PULLED else 1.0)
        if who >= 0:
            self.ytd[who] += amount
        self.books.append((i, who, seat, self.env.now, amount, moved))
        if self.trace is not None:
            self._log("won", seat, i, f"{amount / 100:.2f} to {'house' if who < 0 else f'person {who}'}")

    def _log(self, event: str, seat: int, opportunity: int, detail: str) -> None:
        assert self.trace is not None
        self.trace.append((round(self.env.now, 6), event, seat, opportunity, detail))

    def _flush(self) -> None:
        """Add the bookings since the last flush to every person's per-period credit (vectorised)."""
        new = self.books[self._flushed :]
        self._flushed = len(self.books)
        if not new:
            return
        rows = np.array(new)
        who = rows[:, 1].astype(np.int64)
        keep = who >= 0
        i, who, day = rows[keep, 0].astype(np.int64), who[keep], rows[keep, 3]
        pulled = rows[keep, 5] == PULLED
        ctx = self.ctx
        period = ctx.month_period[np.minimum(np.searchsorted(self.month_days, day, side="right") - 1, 11)]
        credit = np.where(pulled[:, None], np.rint(self.exact[i] * self.money_factor), self.exact[i])
        np.add.at(self.person_credit, (who, period), credit)
        if len(ctx.spif_value):
            live = (day[:, None] >= ctx.spif_days[:, 0]) & (day[:, None] < ctx.spif_days[:, 1])
            spif = np.where(pulled[:, None], np.rint(self.exact_spif[i] * self.spif_factor), self.exact_spif[i])
            np.add.at(self.person_spif, (who, period), spif * live)

    def period_ends(self):
        """Before each payout-period end, move deals across it where the year pays more."""
        env = self.env
        if self.fixed or self.params.timing.movable_share.value == 0 or self.window == 0:
            return
        for p, end in enumerate(self.ctx.period_end.tolist()):
            when = end - self.window
            if when <= env.now:
                continue
            self.events += 1
            yield env.timeout(when - env.now)
            self._move_deals(p, end)

    def _move_deals(self, period: int, end: float) -> None:
        """Price base / pull-in / push-out for each rep with movable deals in one engine call, then move."""
        ctx, c = self.ctx, self.c
        movable = self.params.timing.movable_share.value
        last_period = period == ctx.periods - 1
        plans: list[tuple[int, int, list[int], list[int]]] = []
        for seat, deals in enumerate(self.final):
            who = self.holder[seat]
            if who < 0 or not deals:
                continue
            pull = [i for i, t in deals.items() if end <= t < end + self.window and c.u_move[i] < movable]
            push = [i for i, t in deals.items() if end - self.window <= t < end and c.u_move[i] < movable]
            if pull or push:
                plans.append((seat, who, pull, push))
        if not plans:
            return
        self._flush()
        rows = []
        for seat, who, pull, push in plans:
            base = self._projected_credit(seat, who, period)
            nxt = period + 1
            alt_base, alt_pull, alt_push = base.copy(), base.copy(), base.copy()
            for i in push:
                alt_base[period] += self.exact[i]
                alt_pull[period] += self.exact[i]
                if not last_period:
                    alt_push[nxt] += self.exact[i]
            for i in pull:
                alt_pull[period] += np.rint(self.exact[i] * self.money_factor)
                if not last_period:
                    alt_base[nxt] += self.exact[i]
                    alt_push[nxt] += self.exact[i]
            rows += [alt_base, alt_pull, alt_push]
        credit = np.stack(rows).astype(np.int64)
        quota = np.stack([self._person_quota(seat, who) for seat, who, _, _ in plans for _ in range(3)])
        ti = np.array([round(self._target(seat, who)) for seat, who, _, _ in plans for _ in range(3)], dtype=np.int64)
        earning = ctx.plan.model_copy(update={"draw": None})
        pay = evaluate(earning, credit, quota, ti).payment.sum(axis=1).reshape(-1, 3).astype(float)
        month = self.day_month[int(self.env.now)]
        next_value = self.params.timing.next_year_value.value
        for (seat, _, pull, push), (p_base, p_pull, p_push) in zip(plans, pay, strict=True):
            gain_pull = p_pull - p_base if pull else -np.inf
            gain_push = p_push - p_base if push else -np.inf
            if last_period:
                # Deals past the year end are paid next year, under the same plan, at about its on-track rate.
                rate = next_value * ctx.on_track_rate[seat]
                gain_pull -= rate * sum(float(c.size[i]) for i in pull)
                gain_push += rate * sum(float(c.size[i]) for i in push)
            if max(gain_pull, gain_push) < 1:  # at least a cent better, or nothing moves
                continue
            if gain_pull >= gain_push:
                for i in pull:
                    self._reschedule(i, end - 0.5, PULLED)
                self.moves[seat, month, 0] += len(pull)
            else:
                for i in push:
                    if last_period:
                        self.token[i] += 1
                        self.final[seat].pop(i, None)
                        self.pushed_out[seat] += (1, int(c.size[i]))
                        if self.trace is not None:
                            self._log("pushed past year end", seat, i, "")
                    else:
                        self._reschedule(i, end + 0.5, PUSHED)
                self.moves[seat, month, 1] += len(push)

    def _reschedule(self, i: int, day: float, how: int) -> None:
        if self.trace is not None:
            self._log("pulled in" if how == PULLED else "pushed out", self.cseat[i], i, f"closes {day:.6g}")
        self.token[i] += 1
        self.moved[i] = how
        self.final[self.cseat[i]][i] = day
        self.schedule(day - self.env.now, (i, self.n_stages - 1, self.token[i]))

    def _projected_credit(self, seat: int, who: int, period: int) -> np.ndarray:
        """(periods, measures) booked credit so far plus normal-effort expectation for the rest of the year."""
        ctx = self.ctx
        out = self.person_credit[who].copy()
        person = self.persons[who]
        ahead = self.presence(person.start, person.ramped)
        now = int(self.env.now)
        for p in range(period, ctx.periods):
            start = max(int(ctx.period_end[p - 1]) if p else 0, now)
            stop = int(ctx.period_end[p])
            if stop > start:
                out[p] += (ahead[start] - ahead[stop]) * self.expected[seat] * ctx.ray[seat]
        return np.rint(out)

    def _person_quota(self, seat: int, who: int) -> np.ndarray:
        return person_quota(self.ctx, self.persons[who], self.month_days, self.ramp)

    def _record(self) -> YearRecord:
        books = self.books
        return YearRecord(
            persons=tuple(self.persons),
            left_day=np.array(self.left, dtype=float),
            book_cand=np.array([b[0] for b in books], dtype=np.int64),
            book_person=np.array([b[1] for b in books], dtype=np.int64),
            book_seat=np.array([b[2] for b in books], dtype=np.int64),
            book_day=np.array([b[3] for b in books], dtype=float),
            book_amount=np.array([b[4] for b in books], dtype=float),
            book_moved=np.array([b[5] for b in books], dtype=np.int64),
            effort_sum=self.effort_sum,
            effort_n=self.effort_n,
            worked=self.worked,
            pushed_out=self.pushed_out,
            moves=self.moves,
            credit=self.person_credit[: len(self.persons)],
            spif_credit=self.person_spif[: len(self.persons)],
            events=self.events,
            run_seconds=self.run_seconds,
        )
