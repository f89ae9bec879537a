"""Simulator throughput on a small synthetic organisation (pytest-benchmark; the full-size run is
`spmopt bench sim`: 500 reps x 200 replications x 2 plans)."""

from __future__ import annotations

import numpy as np

from spmopt.bench.sim import ROOT, accelerated, bare_loop_rate, benchmark_job
from spmopt.comp.plan import load_plan
from spmopt.sim.parallel import run_local
from spmopt.sim.params import load_behaviour


def test_simulator_throughput(benchmark) -> None:
    params = load_behaviour(ROOT / "models" / "behaviour" / "defaults.yaml")
    job = benchmark_job(50, 3, params)
    years = benchmark.pedantic(run_local, args=(job, 4), rounds=2, iterations=1)
    again = run_local(job, 4)
    for first, second in zip(years, again, strict=True):
        for a, b in zip(first, second, strict=True):
            assert np.array_equal(a.payment, b.payment)
            assert np.array_equal(a.revenue, b.revenue)
    events = sum(y.events for outcome in years for y in outcome)
    assert events > 4 * 2 * 50 * 52  # at least the weekly reviews, plus every opportunity stage
    payouts = [outcome[k].payment.sum() for outcome in years for k in range(2)]
    assert min(payouts) > 0
    # The accelerated plan pays more than the base plan in every paired replication.
    assert all(outcome[1].payment.sum() > outcome[0].payment.sum() for outcome in years)
    benchmark.extra_info["events_per_round"] = events


def test_accelerated_variant_is_steeper_above_quota_only() -> None:
    base = load_plan(ROOT / "scenarios" / "plans" / "target_incentive.yaml")
    fast = accelerated(base)
    assert fast.measures[0].curve[:2] == base.measures[0].curve[:2]
    assert fast.measures[0].curve[-1].payout > base.measures[0].curve[-1].payout
    assert fast.measures[1:] == base.measures[1:]


def test_bare_loop_rate_counts_events() -> None:
    assert bare_loop_rate(events=20_000, processes=10) > 0
