"""What a rep expects and how hard they work: their forecast attainment, the plan's expected pay at it, and the
effort chosen at each review for the seat and for each opportunity (the expected pay also drives turnover)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spmopt.sim.incentives import GRID_STEP, LEVELS
from spmopt.sim.state import YearState


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


class EffortRules(YearState):
    """Forecasts, expected pay and the effort decision of a `processes.Year`."""

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
