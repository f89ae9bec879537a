"""Deal timing around payout-period ends: seasonal demand, per-period pay valued when it is paid, next year's pay and
quota ratchet at the year end, last year's moves carried into the year, and what timing games cost.

Stylised facts and their sources: sales bunch at fiscal quarter ends and spike at the year end (Oyer 1998, Quarterly
Journal of Economics; the demo's FY2027 transactions: quarter-end months 1.28-1.47x and December 1.47x the mean
mid-quarter month); salespeople time deals to the pay plan at the price of concessions (Larkin 2014, Journal of
Labor Economics)."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
from sim_helpers import contexts, defaults, demo_plan, with_param

from spmopt.comp.plan import CompPlan
from spmopt.sim.draws import concessions, demand_weights, draw_candidates
from spmopt.sim.inputs import SimInputs, synthetic_inputs
from spmopt.sim.params import BehaviourParams
from spmopt.sim.processes import Year
from spmopt.sim.replication import PlanYear, simulate_replication
from spmopt.sim.state import PULLED, PUSHED
from spmopt.sim.timing import Move

SEED = 20270404
ANNUAL = 10_000_000.0
"""Expected sales per seat: the demo's scale, so the demo plans' $600k target incentive is 1/16.7 of quota."""
DEAL = 80_000.0
"""About 125 won deals a seat-year keeps the runs small."""
SEASON = (0.07, 0.07, 0.10, 0.07, 0.08, 0.10, 0.07, 0.07, 0.10, 0.08, 0.08, 0.11)
"""The demo's monthly sales profile (spmopt.synthetic.SEASON): the history its quota profile comes from."""
MID_QUARTER, QUARTER_END = [1, 4, 7, 10], [2, 5, 8, 11]
"""Month indices (0 = January) of February, May, August, November and of March, June, September, December."""


def inputs_for(params: BehaviourParams, seats: int = 12, season: tuple[float, ...] | None = None) -> SimInputs:
    flat = synthetic_inputs(seats, 3, ANNUAL, DEAL, params, np.random.default_rng(7))
    if season is None:
        return flat
    return dataclasses.replace(flat, month_weights=np.array(season))


@cache
def years(movable: float, replications: int = 10) -> tuple[PlanYear, ...]:
    params = with_param(defaults(), "timing", "movable_share", movable)
    inputs = inputs_for(params)
    ctx = contexts(inputs, params, [demo_plan("target_incentive")], ANNUAL)
    return tuple(simulate_replication(inputs, ctx, params, SEED, r)[0] for r in range(replications))


def month_ratios(run: tuple[PlanYear, ...]) -> tuple[float, float]:
    """(December, mean quarter-end month) over the mean mid-quarter month, summed over seats and replications."""
    months = np.sum([y.revenue.sum(axis=0) for y in run], axis=0).astype(float)
    mid = months[MID_QUARTER].mean()
    return months[11] / mid, months[QUARTER_END].mean() / mid


# ------------------------------------------------------------------------------------------ the stylised facts


def test_year_end_spike_and_quarter_end_bunching() -> None:
    """Oyer (1998): sales are higher at fiscal year ends and bunch at quarter ends under non-linear pay. Twelve
    seats with flat demand under the demo's quarterly target-incentive plan: December and the quarter-end months
    stand clearly above the mid-quarter months (the demo's own transactions: 1.47x and 1.36x). The same draws
    without deal timing (movable_share 0) show no such pattern, so it is the timing that makes it."""
    december, quarter_ends = month_ratios(years(defaults().timing.movable_share.value))
    assert december > 1.12, december
    assert quarter_ends > 1.12, quarter_ends
    flat_december, flat_quarter_ends = month_ratios(years(0.0))
    assert 0.9 < flat_december < 1.08, flat_december
    assert 0.92 < flat_quarter_ends < 1.06, flat_quarter_ends
    # Deals pulled into a quarter's last month come out of the next quarter's first weeks.
    timed = np.sum([y.revenue.sum(axis=0) for y in years(defaults().timing.movable_share.value)], axis=0)
    assert timed[[3, 6, 9]].mean() < timed[[4, 7, 10]].mean()


def test_timing_games_cost_the_concessions_on_pulled_deals() -> None:
    """Larkin (2014): timing deals to the plan costs the vendor through price concessions (6-8% of revenue in
    enterprise software, where 12-24 month cycles let reps time most deals). Here only deals in their last stage
    within `window_days` of a period end can move, so about a tenth of revenue is pulled in (the share that gives
    the demo's 1.3-1.4x quarter-end months), and a rep pulls a deal in only when its concession is below what
    getting paid a quarter earlier is worth (1 - exp(-0.28 / 4) = 6.8% of its pay): the cost lands at a few tenths
    of a percent of revenue, between 0.1% and 1.5%."""
    params = defaults()
    inputs = inputs_for(params)
    ctx = contexts(inputs, params, [demo_plan("target_incentive")], ANNUAL)[0]
    lost, pulled, booked, conceded = 0.0, 0.0, 0.0, []
    for r in range(6):
        cands = draw_candidates(inputs, params, SEED, r)
        rec = Year(inputs, ctx, params, cands, fixed_effort=False).run()
        moved = rec.book_moved == PULLED
        size = cands.size[rec.book_cand].astype(float)
        lost += (size - rec.book_amount)[moved].sum()
        pulled += size[moved].sum()
        booked += rec.book_amount.sum()
        conceded += concessions(cands, params)[rec.book_cand[moved]].tolist()
    assert 0.05 < pulled / booked < 0.25, pulled / booked
    assert 0.001 < lost / booked < 0.015, lost / booked
    # Concessions run from 0 to 10% (mean 5%); the reps only accept those the quarter's time value covers.
    time_value = 1 - np.exp(-params.timing.discount_rate.value * 91 / 365)
    assert np.quantile(conceded, 0.9) < time_value + 0.005
    assert np.mean(conceded) < params.timing.pull_discount.value


def test_arrivals_follow_the_quarters_of_the_quota_profile() -> None:
    """Demand follows the quota stage's seasonal profile averaged within quarters (the profile's quarter-end peaks
    are the bunching timing makes, not demand): with the demo's generator profile (7/7/10, 7/8/10, 7/7/10, 8/8/11%
    of the year) opportunities arrive a mean won cycle ahead of each quarter's share of the year, level within the
    quarter, and at normal effort the heavy fourth quarter books the most."""
    params = defaults()
    inputs = inputs_for(params, season=SEASON)
    weights = demand_weights(inputs)
    days = np.diff(inputs.month_days)
    assert abs((weights * days).sum() / days.sum() - 1) < 1e-12
    quarter = np.add.reduceat(np.array(SEASON), [0, 3, 6, 9])
    np.testing.assert_allclose(np.add.reduceat(weights * days, [0, 3, 6, 9]) / days.sum(), quarter, atol=0.002)
    assert np.ptp(weights[9:12]) < 1e-12
    cycle = sum(s.mean_days for s in params.pipeline.stages)
    arrival = np.concatenate([draw_candidates(inputs, params, SEED, r).arrival for r in range(3)])
    arrival = arrival[(arrival >= 0) & (arrival < inputs.days)]  # one whole year (warm-up candidates are thinned)
    due = np.mod(arrival + cycle, inputs.days)
    month = np.searchsorted(inputs.month_days, due, side="right") - 1
    arrivals = np.bincount(month, minlength=12)[:12].astype(float)
    np.testing.assert_allclose(np.add.reduceat(arrivals, [0, 3, 6, 9]) / arrivals.sum(), quarter, atol=0.004)
    per_day = arrivals / days
    assert np.ptp(per_day[9:12]) / per_day[9:12].mean() < 0.06  # level within the quarter
    ctx = contexts(inputs, params, [demo_plan("target_incentive")], ANNUAL)
    runs = [simulate_replication(inputs, ctx, params, SEED, r, fixed_effort=True)[0] for r in range(8)]
    booked = np.sum([y.revenue.sum(axis=0) for y in runs], axis=0).astype(float)
    share = np.add.reduceat(booked, [0, 3, 6, 9]) / booked.sum()
    # Cycles spread about a month either way blur each quarter towards its neighbours, but the peak stays.
    assert share[3] > max(share[:3]) + 0.008, share


# ------------------------------------------------------------------------------------------ how moves are priced


def priced_year(plan: CompPlan, params: BehaviourParams) -> Year:
    inputs = inputs_for(params, seats=2)
    ctx = contexts(inputs, params, [plan], ANNUAL)[0]
    year = Year(inputs, ctx, params, draw_candidates(inputs, params, SEED, 0), fixed_effort=False)
    for seat in range(2):
        year._hire(seat, 0.0, replacement=False)
    return year


def best_count(year: Year, deals: list[int], period: int, pull: bool, scale: float = 1.0) -> int:
    """How many of `deals` (seat 0) the rep moves across the end of `period`, on a normal year's projected credit
    times `scale`, decided on the period end's last day."""
    ctx = year.ctx
    end = float(ctx.period_end[period])
    credit = np.rint(year._projected_credit(0, 0, 0) * scale)
    move = Move(0, year._base_credit(credit, period, deals, pull), ctx.quota[0], int(ctx.target_incentive[0]),
                tuple(deals), period, pull)  # fmt: skip
    return year._best_counts([move], end - 1, ctx.period_end)[0]


def deals_of_seat_0(year: Year, n: int) -> list[int]:
    return [int(i) for i in np.flatnonzero(year.c.seat == 0)[:n]]


def test_a_deal_is_pulled_in_only_when_its_concession_is_below_the_time_value_of_pay() -> None:
    """Under a quarterly plan with year-to-date true-ups, closing a deal a few days early moves its pay a quarter
    earlier and nothing else: worth 1 - exp(-0.28 x 91 / 365) = 6.7% of its pay, against the concession's share of
    it. A deal asking 3% is pulled in, one asking 9% is not; with monthly pay (one month earlier, 2.3%) only one
    asking less than that is; pushing a deal out within the year only delays pay. (The rep sits between the plans'
    thresholds and tiers, so no bonus or rate step rides on the move.)"""
    params = defaults()
    year = priced_year(demo_plan("target_incentive"), params)
    cheap, dear = deals_of_seat_0(year, 2)
    year.concession[[cheap, dear]] = [0.03, 0.09]
    assert best_count(year, [cheap, dear], 0, pull=True, scale=0.8) == 1
    assert best_count(year, [cheap], 0, pull=False, scale=0.8) == 0
    patient = priced_year(demo_plan("target_incentive"), with_param(params, "timing", "discount_rate", 0.1))
    patient.concession[[cheap, dear]] = [0.03, 0.09]
    assert best_count(patient, [cheap, dear], 0, pull=True, scale=0.8) == 0  # 2.5% a quarter covers neither
    monthly = priced_year(demo_plan("commission"), params)
    monthly.concession[[cheap, dear]] = [0.03, 0.01]
    # At 60% of quota the commission plan pays its first tier's flat rate, as 80% does for the target plan.
    assert best_count(monthly, [dear, cheap], 0, pull=True, scale=0.6) == 1  # the 1% one: a month is worth 2.3%


def test_at_the_year_end_next_years_pay_and_the_ratchet_count() -> None:
    """At the year end a deal pushed out earns next year's on-track pay a quarter later, and a cent booked this year
    raises next year's quota by `ratchet` cents. A rep past both caps (this year pays nothing more) pushes every
    movable deal out; if next year paid nothing and quotas were not ratcheted, none. A stiffer ratchet makes
    pushing worth more and pulling worth less."""
    params = defaults()
    year = priced_year(demo_plan("target_incentive"), params)
    deals = deals_of_seat_0(year, 3)
    assert best_count(year, deals, 3, pull=False, scale=2.6) == 3
    assert best_count(year, deals, 3, pull=False, scale=1.0) == 0
    indifferent = with_param(with_param(params, "timing", "next_year_value", 0), "timing", "ratchet", 0)
    nothing_next_year = priced_year(demo_plan("target_incentive"), indifferent)
    assert best_count(nothing_next_year, deals, 3, pull=False, scale=2.6) == 0
    ctx = year.ctx
    push = Move(0, ctx.quota[0], ctx.quota[0], 0, tuple(deals), 3, False)
    pull = dataclasses.replace(push, pull=True)
    stiff = priced_year(demo_plan("target_incentive"), with_param(params, "timing", "ratchet", 0.5))
    now = float(ctx.period_end[3]) - 1
    assert np.all(stiff._next_year(push, now, ctx.period_end) > year._next_year(push, now, ctx.period_end))
    assert np.all(stiff._next_year(pull, now, ctx.period_end) < year._next_year(pull, now, ctx.period_end))
    # Within the year nothing beyond this year's pay is at stake.
    assert not year._next_year(dataclasses.replace(push, period=1), now, ctx.period_end).any()


# ------------------------------------------------------------------------------------------ last year's moves


def test_the_year_opens_with_last_years_year_end_moves() -> None:
    """The year before is not simulated, but its year end is: deals due in its last `window_days` that its rep
    pushed out close on day 0.5 at full price, deals due in this year's first days that were pulled into last year
    never close in this one. Over replications about as many deals come in as this year pushes out at its own end
    (the same rule on a year of the same kind). Without timing (fixed effort) nothing is carried."""
    params = defaults()
    inputs = inputs_for(params)
    ctx = contexts(inputs, params, [demo_plan("target_incentive")], ANNUAL)[0]
    carried = np.zeros(2)
    pushed_out = 0
    for r in range(6):
        cands = draw_candidates(inputs, params, SEED, r)
        rec = Year(inputs, ctx, params, cands, fixed_effort=False).run()
        early = (rec.book_day == 0.5) & (rec.book_moved == PUSHED)
        assert early.sum() == rec.carried[:, 0].sum()
        np.testing.assert_array_equal(rec.book_amount[early], cands.size[rec.book_cand[early]])
        ends = cands.arrival + cands.durations.sum(axis=1)
        assert np.all(ends[rec.book_cand[early]] < 0)  # due before the year: here only because pushed in
        carried += rec.carried.sum(axis=0)
        pushed_out += int(rec.pushed_out[:, 0].sum())
        fixed = Year(inputs, ctx, params, cands, fixed_effort=True).run()
        assert not fixed.carried.any()
    assert carried.min() > 0
    assert 0.4 < carried[0] / max(pushed_out, 1) < 2.5, (carried, pushed_out)
