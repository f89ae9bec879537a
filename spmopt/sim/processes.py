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
"""

from __future__ import annotations

import gc
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.events import Timeout

from spmopt.comp.engine import evaluate
from spmopt.sim.draws import QUARTER_CHECKS, CandidateLists, Candidates, concessions, demand_weights
from spmopt.sim.incentives import GRID_STEP, LEVELS, PlanContext
from spmopt.sim.inputs import SimInputs
from spmopt.sim.params import BehaviourParams

PULLED, PUSHED = 1, 2
PULL_LEAD = 1.0
"""Days before a period end a rep settles which deals to pull into it (its last working day)."""
YEAR = 365.0
"""Days in the year the rep's discount rate is quoted for."""


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


@dataclass(frozen=True, slots=True)
class Move:
    """One rep's option at a period-end review: move the first k of `deals` across the end of `period`."""

    seat: int
    base: np.ndarray
    """(periods, measures) credit with every deal where it is due."""
    quota: np.ndarray
    ti: int
    deals: tuple[int, ...]
    period: int
    pull: bool


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
    carried: np.ndarray
    """(seats, 2) last year's year-end moves the year opens with: deals pushed into it, deals pulled out of it."""
    credit: np.ndarray
    """(persons, periods, measures) credit, cents or hundredths of a count."""
    spif_credit: np.ndarray
    events: int
    run_seconds: float
    """Wall time of the event loop alone (for events per second)."""


@dataclass(frozen=True, slots=True)
class EffortChoice:
    """A review's effort decision, passed to the candidates it works."""

    marginal: np.ndarray
    """(seats, measures) expected marginal pay per unit of credit."""
    seat_effort: np.ndarray
    """(seats,) chosen effort."""
    seat_rho: np.ndarray
    """(seats,) marginal pay per cent of sales along the expected mix, relative to the reference."""


def table_at(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Row-wise linear interpolation of (rows, grid) pay tables at forecasts x (rows, k), clipped to the grid."""
    g = np.clip(x / GRID_STEP, 0.0, table.shape[1] - 1.0)
    lo = np.minimum(np.floor(g).astype(np.int64), table.shape[1] - 2)
    frac = g - lo
    left = np.take_along_axis(table, lo, axis=1)
    right = np.take_along_axis(table, lo + 1, axis=1)
    return left + frac * (right - left)


def seasonal(ahead: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """`SimInputs.ahead` (the share of a year's sales still ahead at flat demand) with each day's closings weighted
    by the day's demand (mean 1 over the year, so a whole year still sums to 1)."""
    rate = -np.diff(ahead) * weight
    return np.concatenate([np.cumsum(rate[::-1])[::-1], [0.0]])


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
        self.presence_cache: dict[tuple[float, bool, bool], np.ndarray] = {}
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
        self.carried = np.zeros((n_seats, 2), dtype=np.int64)
        self._timing_setup()
        self._per_candidate_credit()

    # ------------------------------------------------------------------ setup

    def _timing_setup(self) -> None:
        """Per-deal concessions, who may move, the time value of pay and the plan year's demand by day."""
        timing = self.params.timing
        self.concession = concessions(self.c, self.params)
        """(n,) share of its amount a customer asks to close early."""
        self.movable = (self.c.u_move < timing.movable_share.value).tolist()
        self.rate = timing.discount_rate.value
        # Money fields shrink with a pull-in concession; counts do not.
        self.money_field = np.array([f in (0, 1) for f in self.ctx.field], dtype=bool)
        self.spif_money = np.array([f in (0, 1) for f in self.ctx.spif_field], dtype=bool)
        self.day_weight = demand_weights(self.inp)[np.array(self.day_month[: int(self.T)])]
        """(days,) demand of each day relative to the year's mean: what normal-effort deals close at."""
        self.cost_power = 1.0 + 1.0 / self.eps if self.eps > 0 else np.inf

    def _timing_on(self) -> bool:
        """Deal timing plays in behaviour mode when some customers accept a move and there is a window to move in."""
        timing = self.params.timing
        return not self.fixed and timing.movable_share.value > 0 and self.window > 0

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

    def presence(self, start: float, ramped: bool, lagged: bool = False) -> np.ndarray:
        """(days + 1,) ramp-weighted selling share of the year still ahead at each day, for a rep starting at
        `start` (`lagged`: with an empty pipeline): expected normal-effort sales from day t to year end =
        A_s x presence[t]."""
        key = (start, ramped, lagged)
        if key not in self.presence_cache:
            self.presence_cache[key] = seasonal(self.inp.ahead(start, ramped, lagged), self.day_weight)
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
        # A new hire (even one starting on day 0) has no pipeline from before their start.
        warm = (c.arrival < 0) & (c.u_accept < 1.0 / self.e_max) & ~self.inp.new_hire[c.seat]
        ends = np.cumsum(c.durations, axis=1) + c.arrival[:, None]
        last = np.minimum(c.drop_stage, self.n_stages - 1)
        reached = np.arange(self.n_stages)[None, :] <= last[:, None]
        open_ = (ends >= 0) & reached
        pulled_out, pushed_in = self._carry_in(warm, ends[:, -1])
        chosen = np.flatnonzero(warm & open_.any(axis=1))
        stages = open_[chosen].argmax(axis=1)
        due = ends[chosen, stages]
        last = self.n_stages - 1
        for i in pushed_in:
            self.moved[i] = PUSHED
            self.schedule(0.5, (i, last, 0))
        for i, stage, day in zip(chosen.tolist(), stages.tolist(), due.tolist(), strict=True):
            if i in pulled_out:
                continue  # closed last year, pulled into its last period
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
        self.presence(day, person.ramped, person.lagged)
        self.presence_row.append(list(self.presence_cache).index((day, person.ramped, person.lagged)))
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
        # The table is priced on the seat's first rep's spell; a replacement's pay scales with their own.
        share = self.presence(person.start, person.ramped, person.lagged)[self.first_day[who]] / self.ctx.spell[seat]
        return float(self._pay_at[1][seat]) * share

    def _target(self, seat: int, who: int) -> float:
        return float(self.ctx.target_incentive[seat]) * target_share(self.persons[who], self.T)

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

    def review_effort(self, hold: np.ndarray, now: float) -> EffortChoice:
        """Every seat's effort at a review, from its rep's forecast, the time left and the plan's pay tables
        (`hold`: each seat's person, -1 when vacant; vacant seats' entries are meaningless)."""
        ctx = self.ctx
        active = hold >= 0
        m = np.zeros((len(hold), ctx.marginal.shape[3]))
        x = self._forecasts(hold, now)
        g = np.minimum(np.rint(x / GRID_STEP).astype(np.int64), ctx.marginal.shape[2] - 1)
        idx = np.flatnonzero(active)
        m[idx] = ctx.marginal[idx, self._level(now), g[idx]]
        rho_seat = (ctx.ray * m).sum(axis=1) / np.maximum(ctx.reference_rate, 1e-300)
        return EffortChoice(m, self._chosen_effort(self._effort(rho_seat), x, hold, now), rho_seat)

    def _effort(self, rho: np.ndarray) -> np.ndarray:
        """First-order condition of the effort choice: marginal pay rho x r_s per cent of sales equals the marginal
        effort cost r_s e^(1 / eps), so e = rho^eps (rho <= 0: the floor)."""
        with np.errstate(divide="ignore"):
            e = np.where(rho > 0, np.power(np.maximum(rho, 1e-300), self.eps), 0.0)
        return np.clip(e, self.e_min, self.e_max)

    def _chosen_effort(self, local: np.ndarray, x: np.ndarray, hold: np.ndarray, now: float) -> np.ndarray:
        """(seats,) the effort in [effort_min, effort_max] that maximises expected pay less effort cost over the rest
        of the year, per cent of the sales still ahead (so both compare whatever the time left):

            G(e) = (Pay(x + (e - 1) d) - Pay(x)) / (d A_s spell_s) - r_s (e^(1 + 1/eps) - 1) / (1 + 1/eps)

        with Pay the engine's expected-pay table (linear between its grid points), x the forecast at normal effort,
        d the share of the rep's spell still ahead and r_s the reference. On each linear piece of Pay the best
        effort is the first-order one, (slope / (A_s spell_s r_s))^eps clipped to the piece; the best piece wins
        (the smallest effort on ties), so bonus jumps and caps count however far they are, and effort never falls
        as marginal pay rises. `local` (the first-order effort at x) is kept where the rule cannot apply."""
        ref = self.ctx.reference_rate
        idx = np.flatnonzero((hold >= 0) & (ref > 0))
        if not len(idx) or not np.isfinite(self.cost_power):
            return local
        d = np.maximum(self._ahead_share(hold, now)[idx], 1e-6)[:, None]
        table = self.ctx.expected_pay[idx, self._level(now)]
        per_x = (self.expected[idx] * self.ctx.spell[idx])[:, None]
        x0 = x[idx, None]
        lo, hi = x0 + (self.e_min - 1) * d, x0 + (self.e_max - 1) * d
        last = table.shape[1] - 2
        first = np.clip(np.floor(lo / GRID_STEP), 0, last).astype(np.int64)
        # Linear pieces of the table the effort range spans: (e_max - e_min) x d / step, plus the partial ends.
        pieces = int(np.ceil((self.e_max - self.e_min) * float(d.max()) / GRID_STEP)) + 2
        piece = np.minimum(first + np.arange(pieces)[None, :], last)
        a = np.clip(piece * GRID_STEP, lo, hi)
        b = np.clip((piece + 1) * GRID_STEP, lo, hi)
        b = np.where(piece == last, hi, b)  # forecasts past the grid (x > 4) are read on its last piece
        slope = (np.take_along_axis(table, piece + 1, 1) - np.take_along_axis(table, piece, 1)) / GRID_STEP
        r = ref[idx, None]
        with np.errstate(divide="ignore"):
            best_e = np.power(np.maximum(slope, 0.0) / (per_x * r), self.eps)
        e = np.clip(best_e, 1 + (a - x0) / d, 1 + (b - x0) / d)
        e = np.clip(e, self.e_min, self.e_max)
        gain = (table_at(table, x0 + (e - 1) * d) - table_at(table, x0)) / (d * per_x)
        worth = gain - r * (e**self.cost_power - 1) / self.cost_power
        out = local.copy()
        out[idx] = e[np.arange(len(idx)), worth.argmax(axis=1)]
        return out

    def _ahead_share(self, hold: np.ndarray, day: float) -> np.ndarray:
        """(seats,) share of each rep's spell of normal-effort sales still ahead (0 for vacant seats)."""
        out = np.zeros(len(hold))
        idx = np.flatnonzero(hold >= 0)
        if not len(idx):
            return out
        who = hold[idx]
        rows = np.array(self.presence_row)[who]
        table = self.presence_table()
        total = table[rows, np.array(self.first_day)[who]]
        ahead = table[rows, min(int(day), table.shape[1] - 1)]
        out[idx] = np.divide(ahead, total, out=np.zeros(len(idx)), where=total > 0)
        return out

    def _opportunity_effort(self, rho: np.ndarray, seat_effort: np.ndarray, seat_rho: np.ndarray) -> np.ndarray:
        """Effort on each opportunity: the seat's chosen effort scaled by what the opportunity pays relative to the
        seat's average (product filters, per-deal measures, SPIFs); at an interior optimum this is rho_i^eps."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(seat_rho > 0, rho / np.where(seat_rho > 0, seat_rho, 1.0), np.where(rho > 0, np.inf, 1.0))
            e = seat_effort * np.power(np.maximum(ratio, 0.0), self.eps)
        return np.clip(np.nan_to_num(e, posinf=self.e_max), self.e_min, self.e_max)

    def _work(self, block: slice, choice: EffortChoice | None, ramp: np.ndarray, month: int, now: float) -> None:
        """Accept the block's candidates by effort (thinning) and capacity, and start their first stage."""
        c, ctx = self.c, self.ctx
        seat = c.seat[block]
        if choice is None:
            effort = np.ones(len(seat))
        else:
            value = (self.expected_credit[block] * choice.marginal[seat]).sum(axis=1)
            if len(ctx.spif_value):
                due = c.arrival[block] + self.cycle
                live = (due[:, None] >= ctx.spif_days[:, 0]) & (due[:, None] < ctx.spif_days[:, 1])
                value = value + (self.expected_spif[block] * ctx.spif_value * live).sum(axis=1)
            rho = value / (self.mean_size[block] * ctx.reference_rate[seat])
            effort = self._opportunity_effort(rho, choice.seat_effort[seat], choice.seat_rho[seat])
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
        amount = self.size[i] * (1.0 - self.concession[i] if moved == PULLED else 1.0)
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
        kept = np.where(pulled, 1.0 - self.concession[i], 1.0)[:, None]
        credit = np.where(self.money_field, np.rint(self.exact[i] * kept), self.exact[i])
        np.add.at(self.person_credit, (who, period), credit)
        if len(ctx.spif_value):
            live = (day[:, None] >= ctx.spif_days[:, 0]) & (day[:, None] < ctx.spif_days[:, 1])
            spif = np.where(self.spif_money, np.rint(self.exact_spif[i] * kept), self.exact_spif[i])
            np.add.at(self.person_spif, (who, period), spif * live)

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

    def _review_moves(self, period: int, end: float, pull: bool) -> None:
        """Every rep with movable deals: price moving the first k of them for every k in one engine call, then move
        the best k (none unless it is worth at least a cent)."""
        options = []
        for seat, deals in enumerate(self.final):
            who = self.holder[seat]
            chosen = self._movable(deals, end, pull) if who >= 0 and deals else []
            if chosen:
                options.append((seat, who, chosen))
        if not options:
            return
        self._flush()
        moves = [
            Move(
                seat,
                self._base_credit(self._projected_credit(seat, who, period), period, chosen, pull),
                self._person_quota(seat, who),
                round(self._target(seat, who)),
                tuple(chosen),
                period,
                pull,
            )
            for seat, who, chosen in options
        ]
        month = self.day_month[int(self.env.now)]
        for move, k in zip(moves, self._best_counts(moves, self.env.now, self.ctx.period_end), strict=True):
            if k:
                self._apply(move, k, end, month)

    def _movable(self, deals: dict[int, float], end: float, pull: bool) -> list[int]:
        """A rep's deals that can cross the period end, in the order they would be moved: the cheapest concession
        first when pulling in, the latest due first when pushing out."""
        w, moved, movable = self.window, self.moved, self.movable
        if pull:
            ids = [i for i, t in deals.items() if end <= t < end + w and movable[i] and not moved[i]]
            return sorted(ids, key=lambda i: self.concession[i])
        ids = [i for i, t in deals.items() if end - w <= t < end and movable[i] and not moved[i]]
        return sorted(ids, key=lambda i: -deals[i])

    def _base_credit(self, credit: np.ndarray, period: int, deals: list[int], pull: bool) -> np.ndarray:
        """(periods, measures) credit with the deals in the periods they are due in (after the year: nowhere)."""
        out = credit.copy()
        due = period + 1 if pull else period
        if due < self.ctx.periods:
            out[due] += self.exact[deals].sum(axis=0)
        return out

    def _best_counts(self, moves: list[Move], now: float, ends: np.ndarray) -> list[int]:
        """How many of each move's deals to move: the count whose pay is worth most, each period's payment valued
        when it is paid (its period end) and deals past the year end at next year's pay and quota ratchet."""
        rows = [self._rows(m) for m in moves]
        credit = np.concatenate(rows).astype(np.int64)
        pairs = list(zip(moves, rows, strict=True))
        quota = np.concatenate([np.broadcast_to(m.quota, (len(r), *m.quota.shape)) for m, r in pairs])
        ti = np.concatenate([np.full(len(r), m.ti, dtype=np.int64) for m, r in pairs])
        earning = self.ctx.plan.model_copy(update={"draw": None})
        pay = evaluate(earning, credit, np.ascontiguousarray(quota), ti).payment.astype(float)
        worth = pay @ self._discount(ends - now)
        out, at = [], 0
        for m, r in zip(moves, rows, strict=True):
            gain = worth[at + 1 : at + len(r)] - worth[at] + np.cumsum(self._next_year(m, now, ends))
            at += len(r)
            best = int(np.argmax(gain)) if len(gain) else 0
            out.append(best + 1 if len(gain) and gain[best] >= 1 else 0)
        return out

    def _rows(self, m: Move) -> np.ndarray:
        """(deals + 1, periods, measures) credit with the first k deals moved, k = 0 .. deals."""
        p, nxt = m.period, m.period + 1
        last = nxt == self.ctx.periods
        exact = self.exact[list(m.deals)]
        delta = np.zeros((len(m.deals), *m.base.shape))
        if m.pull:
            kept = 1.0 - self.concession[list(m.deals)]
            delta[:, p] = np.where(self.money_field, np.rint(exact * kept[:, None]), exact)
            if not last:
                delta[:, nxt] -= exact
        else:
            delta[:, p] -= exact
            if not last:
                delta[:, nxt] += exact
        return np.rint(m.base[None] + np.concatenate([np.zeros((1, *m.base.shape)), np.cumsum(delta, axis=0)]))

    def _next_year(self, m: Move, now: float, ends: np.ndarray) -> np.ndarray:
        """(deals,) what moving each deal changes beyond this year's pay: at the year end a deal booked next year
        earns next year's on-track pay at next year's first payout, and a cent booked this year raises next year's
        quota by `ratchet` cents (a deal booked next year raises the year after's instead)."""
        if m.period != self.ctx.periods - 1:
            return np.zeros(len(m.deals))
        timing = self.params.timing
        rate = float(self.ctx.on_track_rate[m.seat])
        size = np.array([self.size[i] for i in m.deals])
        year_end = float(ends[-1])
        next_pay, ratchet_next, ratchet_after = self._discount(
            np.array([ends[0] + self.T, year_end + 0.5 * self.T, year_end + 1.5 * self.T]) - now
        )
        ratchet = timing.ratchet.value
        booked_next = rate * size * (timing.next_year_value.value * next_pay - ratchet * ratchet_after)
        if m.pull:
            kept = 1.0 - self.concession[list(m.deals)]
            return -booked_next - rate * size * kept * ratchet * ratchet_next
        return booked_next + rate * size * ratchet * ratchet_next

    def _discount(self, days: np.ndarray) -> np.ndarray:
        """Worth now of a cent paid `days` from now (pay already paid counts in full)."""
        return np.exp(-self.rate * np.maximum(np.asarray(days, dtype=float), 0.0) / YEAR)

    def _apply(self, m: Move, k: int, end: float, month: int) -> None:
        """Move the first k deals: pulled ones close half a day before the end, pushed ones half a day after it or,
        at the year end, leave the year."""
        moved = m.deals[:k]
        if m.pull:
            for i in moved:
                self._reschedule(i, end - 0.5, PULLED)
            self.moves[m.seat, month, 0] += k
            return
        for i in moved:
            if m.period == self.ctx.periods - 1:
                self.token[i] += 1
                self.final[m.seat].pop(i, None)
                self.pushed_out[m.seat] += (1, int(self.c.size[i]))
                if self.trace is not None:
                    self._log("pushed past year end", m.seat, i, "")
            else:
                self._reschedule(i, end + 0.5, PUSHED)
        self.moves[m.seat, month, 1] += k

    def _carry_in(self, warm: np.ndarray, due: np.ndarray) -> tuple[set[int], list[int]]:
        """Last year's year-end timing, for seats whose rep sold there last year: deals due in its last `window`
        days that were pushed into this year, and deals due in this year's first `window` days that were pulled
        into last year. Decided as this year's year end is, on last year's sales drawn around expectation
        (`forecast_cv`), with last year's pay valued from last year's reviews; returns (pulled out, pushed in)."""
        c = self.c
        if not self._timing_on() or c.last_year is None:
            return set(), []
        w, last = self.window, self.ctx.periods - 1
        lead = min(PULL_LEAD, w)
        known = warm & (c.drop_stage == self.n_stages) & np.array(self.movable, dtype=bool)
        starts_last = due - c.durations[:, -1]
        push_set = known & (due >= -w) & (due < 0) & (starts_last <= -w)
        pull_set = known & (due >= 0) & (due < w) & (starts_last <= -lead)
        ends = self.ctx.period_end - self.T
        seats = np.unique(c.seat[push_set | pull_set]).tolist()
        credit = {s: self._last_year_credit(s) for s in seats}
        # Every seat's push decision in one engine call, then every pull decision on what the pushes left.
        pushes = self._carry_moves(seats, push_set, credit, lambda i: -due[i], pull=False)
        pushed: list[int] = []
        for move, k in zip(pushes, self._best_counts(pushes, -w, ends) if pushes else [], strict=True):
            pushed += move.deals[:k]
            credit[move.seat] = self._base_credit(credit[move.seat], last, list(move.deals[k:]), False)
            self.carried[move.seat, 0] += k
        pulls = self._carry_moves(seats, pull_set, credit, lambda i: self.concession[i], pull=True)
        pulled: set[int] = set()
        for move, k in zip(pulls, self._best_counts(pulls, -lead, ends) if pulls else [], strict=True):
            pulled.update(move.deals[:k])
            self.carried[move.seat, 1] += k
        return pulled, pushed

    def _carry_moves(
        self, seats: list[int], chosen: np.ndarray, credit: dict[int, np.ndarray], order: Callable, pull: bool
    ) -> list[Move]:
        """Last year's year-end options: per seat, its `chosen` deals in moving order on last year's credit."""
        last = self.ctx.periods - 1
        moves = []
        for seat in seats:
            deals = sorted(np.flatnonzero(chosen & (self.c.seat == seat)).tolist(), key=order)
            if deals:
                base = self._base_credit(credit[seat], last, deals, pull)
                ti = int(self.ctx.target_incentive[seat])
                moves.append(Move(seat, base, self.ctx.quota[seat], ti, tuple(deals), last, pull))
        return moves

    def _last_year_credit(self, seat: int) -> np.ndarray:
        """(periods, measures) credit of the seat's rep last year: expected sales along the expected mix and the
        year's demand, times 1 + forecast_cv x the seat's draw."""
        ctx = self.ctx
        sales = max(0.0, 1.0 + self.params.motivation.forecast_cv.value * float(self.c.last_year[seat]))
        bounds = np.concatenate([[0], ctx.period_end]).astype(int)
        share = np.add.reduceat(self.day_weight, bounds[:-1]) / self.T
        return np.rint(sales * self.expected[seat] * share[:, None] * ctx.ray[seat][None, :])

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
        ahead = self.presence(person.start, person.ramped, person.lagged)
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
            carried=self.carried,
            credit=self.person_credit[: len(self.persons)],
            spif_credit=self.person_spif[: len(self.persons)],
            events=self.events,
            run_seconds=self.run_seconds,
        )
