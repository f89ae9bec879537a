"""The state of one simulated year, and what is derived from its inputs once before it runs.

`YearState` holds what the year's parts read and write: the SimPy environment, each seat's holder and each
person's spell and sales so far, each opportunity's outcome, move mark and due close, the bookings, and the
per-seat tallies the record reports. Built with it: each candidate's exact and expected credit, the customers'
concessions and who may move, demand by day, and the cache of expected normal-effort sales still ahead per spell.
The parts acting on it (`effort`, `opportunities`, `timing`, `ledger`) are mixins of `processes.Year`.
"""

from __future__ import annotations

import numpy as np
import simpy

from spmopt.sim.draws import QUARTER_CHECKS, CandidateLists, Candidates, concessions, demand_weights
from spmopt.sim.incentives import PlanContext
from spmopt.sim.inputs import SimInputs
from spmopt.sim.params import BehaviourParams
from spmopt.sim.people import Person, target_share

PULLED, PUSHED = 1, 2
"""How an opportunity's close was moved across a period end (0: it closes when its last stage ends)."""


def seasonal(ahead: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """`SimInputs.ahead` (the share of a year's sales still ahead at flat demand) with each day's closings weighted
    by the day's demand (mean 1 over the year, so a whole year still sums to 1)."""
    rate = -np.diff(ahead) * weight
    return np.concatenate([np.cumsum(rate[::-1])[::-1], [0.0]])


class YearState:
    """State of one simulated year (built, run once, read once)."""

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

    def _target(self, seat: int, who: int) -> float:
        return float(self.ctx.target_incentive[seat]) * target_share(self.persons[who], self.T)

    def _log(self, event: str, seat: int, opportunity: int, detail: str) -> None:
        assert self.trace is not None
        self.trace.append((round(self.env.now, 6), event, seat, opportunity, detail))
