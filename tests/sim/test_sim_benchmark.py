"""Simulator throughput on a small synthetic organisation (pytest-benchmark records the time; the assertions
check the run, not its speed). The full-size run is `spmopt bench sim`: 500 reps x 200 replications x 2 plans."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import numpy as np
import pytest
import simpy

import spmopt_bench.sim as bench_sim
from spmopt.comp.plan import load_plan
from spmopt.quota.periods import split_exact
from spmopt.sim.draws import QUARTER_CHECKS
from spmopt.sim.parallel import run_local
from spmopt.sim.params import load_behaviour
from spmopt_bench.sim import BEHAVIOUR, PLAN, accelerated, bare_loop_rate, benchmark_job, headline

SEATS, REPLICATIONS = 50, 4


@pytest.fixture(scope="module")
def job():
    return benchmark_job(SEATS, 3, load_behaviour(BEHAVIOUR))


@pytest.mark.slow
def test_simulator_throughput(benchmark, job) -> None:
    years = benchmark.pedantic(run_local, args=(job, REPLICATIONS), rounds=3, iterations=1)
    assert len(years) == REPLICATIONS
    assert all(len(outcome) == 2 for outcome in years)
    # Deterministic: the same seed plays the same years, to the cent and the event.
    again = run_local(job, REPLICATIONS)
    for first, second in zip(years, again, strict=True):
        for a, b in zip(first, second, strict=True):
            assert _same_with_nan(a.totals(), b.totals())
            assert np.array_equal(a.payment, b.payment)
            assert np.array_equal(a.revenue, b.revenue)
    weeks = int(np.ceil(job.inputs.days / job.params.motivation.decision_days.value))
    for outcome in years:
        for year in outcome:
            # Every won deal ended at least one stage event; plus the weekly reviews and each seat's turnover checks.
            assert year.events >= int(year.deals.sum()) + weeks + SEATS * QUARTER_CHECKS
            assert year.totals()["events"] == year.events
            assert year.payment.sum() > 0
            assert year.revenue.sum() > 0
            assert (year.payment >= 0).all()
    events = sum(y.events for outcome in years for y in outcome)
    benchmark.extra_info["events_per_round"] = events
    # Pay is at least as generous above quota under the accelerated plan and identical below it, and the draws
    # are common to both plans, so over the replications it pays more.
    means = headline(years, [c.plan.name for c in job.contexts])
    base, fast = (means[c.plan.name] for c in job.contexts)
    assert fast["payout"] > base["payout"] > 0


def _same_with_nan(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    return all(x == y or (x != x and y != y) for x, y in zip(a.values(), b.values(), strict=True))


def test_quota_is_expected_sales_spread_over_the_payout_periods(job) -> None:
    expected = job.inputs.expected_amount(job.params.pipeline.win_probability)
    for ctx in job.contexts:
        assert ctx.quota.shape == (SEATS, 4, len(ctx.plan.measures))  # quarterly plan
        assert np.array_equal(ctx.quota[:, :, 0].sum(axis=1), np.rint(expected).astype(np.int64))
        assert np.array_equal(ctx.annual_quota, np.rint(expected).astype(np.int64))
    assert np.array_equal(job.contexts[1].reference_rate, job.contexts[0].reference_rate)
    assert split_exact(10, np.ones(4)) == [3, 3, 2, 2]


def test_accelerated_variant_is_steeper_above_quota_only() -> None:
    base = load_plan(PLAN)
    fast = accelerated(base)
    assert fast.name != base.name
    assert fast.measures[0].curve[:-1] == base.measures[0].curve[:-1]
    assert fast.measures[0].curve[-1].attainment == base.measures[0].curve[-1].attainment
    assert fast.measures[0].curve[-1].payout > base.measures[0].curve[-1].payout
    assert fast.measures[0].cap == base.measures[0].cap
    assert fast.measures[1:] == base.measures[1:]
    assert fast.spifs == base.spifs
    assert fast.periods == base.periods


def test_bare_loop_rate_counts_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate is the timeouts the loop really plays over the seconds its clock measures: 10 processes x 2,000
    timeouts in 2.5 s is 8,000 a second; 25 events over 10 processes play 2 each, 20 in 2.5 s. The garbage collector
    is on again afterwards."""
    played: list[int] = []

    class Counting(simpy.Environment):
        def timeout(self, delay, value=None):
            played.append(delay)
            return super().timeout(delay, value)

    ticks = iter([100.0, 102.5, 200.0, 202.5])
    monkeypatch.setattr(bench_sim, "simpy", SimpleNamespace(Environment=Counting))
    monkeypatch.setattr(bench_sim, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    assert gc.isenabled()
    assert bare_loop_rate(events=20_000, processes=10) == 8_000.0
    assert played == [1] * 20_000
    assert gc.isenabled()
    played.clear()
    assert bare_loop_rate(events=25, processes=10) == 8.0
    assert len(played) == 20
