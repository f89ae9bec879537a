"""The pipeline's opportunities: the warm pipeline open on day 0, the candidates a review works, and each worked
opportunity's stage events up to its loss or win (with any coaching uplift on its last stage's outcome)."""

from __future__ import annotations

import numpy as np
import simpy
from simpy.events import Timeout

from spmopt.sim.effort import EffortChoice
from spmopt.sim.state import PUSHED, YearState


class Opportunities(YearState):
    """Opportunity flow of a `processes.Year`: uses the opportunity effort (`effort`), last year's year-end moves
    (`timing`) and books wins (`ledger`)."""

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

    def schedule(self, delay: float, value: tuple[int, int, int]) -> None:
        self.events += 1
        Timeout(self.env, delay, value).callbacks.append(self.on_stage)

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
