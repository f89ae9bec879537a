"""The SimPy model's mechanics: an exact event trace derived by hand, bookings and pay that reconcile with the
comp engine, Dask replications equal to local ones, and common random numbers across plans."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import assert_same_years, context, defaults, demo_plan, synthetic, with_param, with_stages

from spmopt.comp.engine import evaluate
from spmopt.sim.draws import Candidates, concessions, draw_candidates
from spmopt.sim.incentives import PlanContext
from spmopt.sim.ledger import YearRecord
from spmopt.sim.parallel import Job, run_dask, run_local
from spmopt.sim.params import BehaviourParams, Stage
from spmopt.sim.people import person_quota
from spmopt.sim.processes import Year
from spmopt.sim.replication import pay_year, simulate_replication
from spmopt.sim.state import PULLED

SEED = 424242


# ------------------------------------------------------------------------------------------ exact event trace

# Hand-made opportunities of one seat with two stages (sorted by arrival; durations per stage; drop stage 2 = won):
#  i  arrival  durations   drop  u_accept  what happens (reviews every 7 days from day 0, effort fixed at 1)
#  0  -100     10, 20      2     0         closed before the year (stage ends -90, -70): never seen
#  1  -30      10, 22.5    2     0         warm: in its last stage on day 0 (ends -20, 2.5): won on day 2.5
#  2  -10      15, 20      2     0         warm: in its first stage (ends 5, 25): passes on 5, won on 25
#  3  -5       8.5, 30     0     0         warm: lost at the end of its first stage, day 3.5
#  4  -2       3, 3        2     0.9       not worked before the year (0.9 >= 1 / effort_max): never seen
#  5  10.5     3, 4        2     0         worked at the day-7 review; passes 13.5, won 17.5
#  6  12       2, 2        2     0.9       arrives in the day-7 week but is not worked (thinning)
#  7  100.25   5, 10       1     0         worked at the day-98 review; passes 105.25, lost 115.25
#  8  350.5    10, 10      2     0         worked at the day-350 review; passes 360.5; would close after the year
#  9  366      1, 1        2     0         arrives after the year: never worked
ARRIVAL = [-100.0, -30.0, -10.0, -5.0, -2.0, 10.5, 12.0, 100.25, 350.5, 366.0]
DURATIONS = [[10, 20], [10, 22.5], [15, 20], [8.5, 30], [3, 3], [3, 4], [2, 2], [5, 10], [10, 10], [1, 1]]
DROP = [2, 2, 2, 0, 2, 2, 2, 1, 2, 2]
U_ACCEPT = [0, 0, 0, 0, 0.9, 0, 0.9, 0, 0, 0]
SIZE = [1_000_00, 2_345_67, 3_000_01, 4_000_00, 5_000_00, 6_543_21, 7_000_00, 8_000_00, 9_000_00, 10_000_00]


def hand_candidates() -> Candidates:
    n = len(ARRIVAL)
    return Candidates(
        seat=np.zeros(n, dtype=np.int64),
        unit=np.zeros(n, dtype=np.int64),
        arrival=np.array(ARRIVAL),
        durations=np.array(DURATIONS, dtype=float),
        drop_stage=np.array(DROP, dtype=np.int64),
        size=np.array(SIZE, dtype=np.int64),
        product=np.array([0, 1] * (n // 2), dtype=np.int64),
        new_logo=np.zeros(n, dtype=bool),
        u_accept=np.array(U_ACCEPT),
        u_move=np.ones(n),
        u_turnover=np.ones((1, 3)),
        win_factor=np.ones(1),
        size_factor=np.ones(1),
    )


def expected_trace(days: int) -> list[tuple[float, str, int, int]]:
    opportunity_events = [
        (2.5, "won", 0, 1),
        (3.5, "lost", 0, 3),
        (5.0, "passed", 0, 2),
        (7.0, "worked", 0, 5),  # logged at the review that works it, right after the review itself
        (13.5, "passed", 0, 5),
        (17.5, "won", 0, 5),
        (25.0, "won", 0, 2),
        (98.0, "worked", 0, 7),
        (105.25, "passed", 0, 7),
        (115.25, "lost", 0, 7),
        (350.0, "worked", 0, 8),
        (360.5, "passed", 0, 8),
    ]
    reviews = [(float(d), "review", 0, -1) for d in range(0, days, 7)]
    # Stable merge by day; a review comes before the opportunities it works on the same day.
    merged = sorted(reviews + opportunity_events, key=lambda e: (e[0], e[1] != "review"))
    return [(0.0, "hired", 0, -1), *merged]


def test_exact_event_trace_of_a_hand_made_year() -> None:
    params = with_stages(
        defaults(),
        Stage(name="qualify", mean_days=10, pass_probability=0.5),
        Stage(name="close", mean_days=20, pass_probability=0.5),
    )
    inputs = synthetic(params, n_seats=1, units=1)
    assert inputs.days == 365
    assert params.motivation.decision_days.value == 7
    ctx = context(demo_plan("target_incentive"), inputs, params)
    year = Year(inputs, ctx, params, hand_candidates(), fixed_effort=True, trace=True)
    record = year.run()
    assert year.trace is not None
    got = [(day, event, seat, opp) for day, event, seat, opp, _ in year.trace]
    want = expected_trace(inputs.days)
    assert len([e for e in want if e[1] == "review"]) == 53  # days 0, 7, ..., 364
    assert got == want
    details = {(day, event, opp): detail for day, event, _, opp, detail in year.trace}
    assert details[(2.5, "won", 1)] == "2345.67 to person 0"
    assert details[(17.5, "won", 5)] == "6543.21 to person 0"
    assert details[(25.0, "won", 2)] == "3000.01 to person 0"
    assert all(detail == "effort 1.0000" for _, event, _, _, detail in year.trace if event == "review")
    # The record agrees with the trace.
    assert record.book_cand.tolist() == [1, 5, 2]
    assert record.book_day.tolist() == [2.5, 17.5, 25.0]
    assert record.book_amount.tolist() == [SIZE[1], SIZE[5], SIZE[2]]
    assert record.book_person.tolist() == [0, 0, 0]
    # In-year opportunities by month of the review that works them (the warm pipeline is not "worked").
    assert record.worked[0].tolist() == [1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert record.effort_n[0].sum() == 53
    assert record.effort_sum[0].sum() == 53
    # Credit of the first quarter: revenue = the amounts; margin = amount x the product's margin ratio.
    margin = [p.margin for p in params.pipeline.products.values()]
    revenue_q1 = SIZE[1] + SIZE[5] + SIZE[2]
    margin_q1 = round(SIZE[1] * margin[1]) + round(SIZE[5] * margin[1]) + round(SIZE[2] * margin[0])
    np.testing.assert_array_equal(record.credit[0], [[revenue_q1, margin_q1], [0, 0], [0, 0], [0, 0]])


# ------------------------------------------------------------------------------------------ reconciliation


def independent_credit(rec: YearRecord, cands: Candidates, params: BehaviourParams, ctx: PlanContext) -> np.ndarray:
    """(persons, periods, 2) revenue and margin credit restated from the bookings alone."""
    margin = np.array([p.margin for p in params.pipeline.products.values()])
    kept = 1 - concessions(cands, params)
    out = np.zeros((len(rec.persons), ctx.periods, 2))
    ends = np.asarray(ctx.period_end)  # day each payout period ends
    for i, who, day, moved in zip(rec.book_cand, rec.book_person, rec.book_day, rec.book_moved, strict=True):
        if who < 0:
            continue
        period = int(np.searchsorted(ends, day, side="right"))
        amount = float(cands.size[i])
        credit = np.array([amount, np.rint(amount * margin[cands.product[i]])])
        if moved == PULLED:
            credit = np.rint(credit * kept[i])
        out[who, period] += credit
    return out


def test_bookings_credit_and_pay_reconcile_with_the_comp_engine() -> None:
    # Two years' settings: the defaults (some deals are moved across period ends, and the year opens with last year's
    # year-end moves) and harsh turnover (anyone below target pay quits at every check) with quotas 30% above
    # expectation (leavers, vacancies booked to the house, ramped replacements with pro-rated quotas and target pay).
    harsh = with_param(with_param(defaults(), "turnover", "pay_threshold", 1.0), "turnover", "quit_probability", 1.0)
    seen = {"leavers": 0, "replacements": 0, "house": 0, "pulled": 0, "pushed": 0, "carried in": 0, "carried out": 0}
    for params, quota_share in ((defaults(), 1.0), (harsh, 1.3)):
        reconcile(params, quota_share, seen)
    assert all(v > 0 for v in seen.values()), seen


def reconcile(params: BehaviourParams, quota_share: float, seen: dict[str, int]) -> None:
    inputs = synthetic(params)
    ctx = context(demo_plan("target_incentive"), inputs, params, quota_share=quota_share)
    margin = np.array([p.margin for p in params.pipeline.products.values()])
    for r in range(6):
        cands = draw_candidates(inputs, params, SEED, r)
        rec = Year(inputs, ctx, params, cands, fixed_effort=False).run()
        year = pay_year(inputs, ctx, rec, margin[cands.product])
        # Each booking is its candidate's size, less its customer's concession when pulled in.
        pulled = rec.book_moved == PULLED
        kept = 1 - concessions(cands, params)[rec.book_cand]
        np.testing.assert_allclose(rec.book_amount, cands.size[rec.book_cand] * np.where(pulled, kept, 1.0))
        assert np.all(kept[pulled] > 1 - 2 * params.timing.pull_discount.value)
        # Revenue and deals: every booking once, house accounts included, in the month it closed.
        assert abs(year.revenue.sum() - rec.book_amount.sum()) <= year.revenue.size / 2
        assert year.deals.sum() == len(rec.book_cand)
        month = np.searchsorted(inputs.month_days, rec.book_day, side="right") - 1
        np.testing.assert_array_equal(year.deals.sum(axis=0), np.bincount(month, minlength=12))
        # Credit: restated independently from the bookings of people (not the house).
        credit = independent_credit(rec, cands, params, ctx)
        np.testing.assert_array_equal(rec.credit, credit)
        house = rec.book_amount[rec.book_person < 0].sum()
        assert abs(credit[:, :, 0].sum() + house - rec.book_amount.sum()) <= 0.5 * pulled.sum() + 1e-6
        # Pay: the comp engine on each person's credit and (ramped, pro-rated) quota; leavers forfeit later periods.
        ramp = np.array(inputs.ramp)
        quota = np.stack([person_quota(ctx, p, inputs.month_days, ramp) for p in rec.persons])
        full = int(ctx.target_incentive[0])
        ti = np.array(
            [round(full * ((inputs.days - p.start) / inputs.days if p.replacement else 1)) for p in rec.persons]
        )
        ev = evaluate(ctx.plan, np.rint(rec.credit).astype(np.int64), quota, ti, np.rint(rec.spif_credit).astype(int))
        stayed = rec.left_day[:, None] >= ctx.period_end[None, :]
        paid = np.where(stayed, ev.payment, 0)
        for s in range(len(inputs.seats)):
            mine = [k for k, p in enumerate(rec.persons) if p.seat == s]
            # Paid in the last month of each quarter, and nothing in the other months.
            np.testing.assert_array_equal(year.payment[s].reshape(4, 3)[:, 2], paid[mine].sum(axis=0))
            assert not year.payment[s].reshape(4, 3)[:, :2].any()
        for k, p in enumerate(rec.persons):
            if p.replacement:
                assert np.all(quota[k].sum(axis=0) < ctx.quota[p.seat].sum(axis=0))
                assert ti[k] < full
        seen["leavers"] += int(np.isfinite(rec.left_day).sum())
        seen["replacements"] += sum(p.replacement for p in rec.persons)
        seen["house"] += int((rec.book_person < 0).sum())
        seen["pulled"] += int(pulled.sum())
        seen["pushed"] += int(rec.moves[:, :, 1].sum())
        seen["carried in"] += int(rec.carried[:, 0].sum())
        seen["carried out"] += int(rec.carried[:, 1].sum())


# ------------------------------------------------------------------------------------------ parallel and CRN


@pytest.mark.slow
def test_dask_replications_equal_local_ones() -> None:
    pytest.importorskip("distributed")
    params = defaults()
    inputs = synthetic(params)
    ti = context(demo_plan("target_incentive"), inputs, params)
    comm = context(demo_plan("commission"), inputs, params, reference_rate=ti.reference_rate)
    job = Job(inputs, (ti, comm), params, SEED, fixed_effort=False)
    local = run_local(job, 4)
    remote, facts = run_dask(job, 4, workers=2)
    assert facts["workers"] == 2
    assert facts["executor"] == "dask"
    assert_same_years(local, remote)


@pytest.mark.parametrize("fixed", [True, False], ids=["fixed", "behaviour"])
def test_two_plans_in_one_replication_see_the_same_candidates(fixed: bool) -> None:
    params = defaults()
    inputs = synthetic(params)
    ti = context(demo_plan("target_incentive"), inputs, params)
    comm = context(demo_plan("commission"), inputs, params, reference_rate=ti.reference_rate)
    cands = draw_candidates(inputs, params, SEED, 0)
    a, b = simulate_replication(inputs, [ti, comm], params, SEED, 0, fixed_effort=fixed)
    recs = [Year(inputs, ctx, params, cands, fixed).run() for ctx in (ti, comm)]
    # Booked deals are always drawn candidates of this replication, at their drawn size (less any pull discount).
    for rec in recs:
        assert np.all(rec.book_amount <= cands.size[rec.book_cand])
    if fixed:
        # Effort 1 under both plans and no timing or turnover: the very same year, paid differently.
        for name in ("revenue", "margin", "deals", "worked", "effort"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        np.testing.assert_array_equal(recs[0].book_cand, recs[1].book_cand)
        assert not np.array_equal(a.payment, b.payment)
    else:
        # Behaviour differs by plan, but each plan's year depends only on the replication's draws, not on which
        # other plans share the replication or in what order.
        again = simulate_replication(inputs, [comm, ti], params, SEED, 0, fixed_effort=False)
        np.testing.assert_array_equal(again[1].worked, a.worked)
        np.testing.assert_array_equal(again[0].worked, b.worked)
        assert not np.array_equal(a.effort, b.effort)
