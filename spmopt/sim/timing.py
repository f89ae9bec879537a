"""Deal timing at payout-period ends: which deals a rep pushes past a period end or pulls into it (at the
customer's price concession), priced with the comp engine's per-period pay valued when it is paid, plus next
year's pay and quota ratchet at the year end; and last year's year-end moves the year opens with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spmopt.comp.engine import evaluate
from spmopt.sim.people import person_quota
from spmopt.sim.state import PULLED, PUSHED, YearState

PULL_LEAD = 1.0
"""Days before a period end a rep settles which deals to pull into it (its last working day)."""
YEAR = 365.0
"""Days in the year the rep's discount rate is quoted for."""


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


class DealTiming(YearState):
    """Period-end reviews of a `processes.Year`: reschedules through `opportunities` and reads the credit `ledger`
    books."""

    def _timing_on(self) -> bool:
        """Deal timing plays in behaviour mode when some customers accept a move and there is a window to move in."""
        timing = self.params.timing
        return not self.fixed and timing.movable_share.value > 0 and self.window > 0

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
