"""Simulator throughput benchmark: a synthetic organisation of N reps x 1 plan year x R replications x 2 plans
on a local Dask cluster, and the same machine's bare SimPy timeout loop for comparison.

The two plans are the demo's target-incentive plan (threshold 50%, 1.6x slope to quota, 2x above, cap 2.5)
and an accelerated variant (3x slope above quota to 2.5 at 150%); both are scale-free (paid on attainment of
a target incentive), so they fit the synthetic quotas. Each seat's quota is its expected annual sales.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import simpy

from spmopt.comp.plan import CompPlan, load_plan
from spmopt.sim.incentives import plan_context
from spmopt.sim.inputs import synthetic_inputs
from spmopt.sim.parallel import Job, run_dask, run_local
from spmopt.sim.params import BehaviourParams, load_behaviour

ROOT = Path(__file__).resolve().parents[2]


def bare_loop_rate(events: int = 2_000_000, processes: int = 100) -> float:
    """Events per second of `processes` SimPy processes doing nothing but `yield env.timeout(1)`."""
    env = simpy.Environment()
    each = events // processes

    def idle(env: simpy.Environment):
        for _ in range(each):
            yield env.timeout(1)

    for _ in range(processes):
        env.process(idle(env))
    clock = time.perf_counter()
    env.run()
    return each * processes / (time.perf_counter() - clock)


def accelerated(plan: CompPlan) -> CompPlan:
    """The plan with its first measure's slope above quota raised to 3x (payout 2.5 at 150%)."""
    data = plan.model_dump(mode="json", by_alias=True)
    data["name"] = f"{plan.name}_accelerated"
    data["measures"][0]["curve"][-1]["payout"] = "2.5"
    return CompPlan.model_validate(data)


def benchmark_job(
    reps: int,
    seed: int,
    params: BehaviourParams,
    units_per_seat: int = 20,
    annual_per_seat: float = 1_200_000,
    mean_deal: float = 45_000,
) -> Job:
    """The synthetic instance and both plans' contexts."""
    inputs = synthetic_inputs(reps, units_per_seat, annual_per_seat, mean_deal, params, np.random.default_rng(seed))
    base = load_plan(ROOT / "scenarios" / "plans" / "target_incentive.yaml")
    contexts = []
    expected = inputs.expected_amount(params.pipeline.win_probability)
    for plan in (base, accelerated(base)):
        rows = {}
        for rep, amount in zip(inputs.reps, expected, strict=True):
            per = np.full(plan.periods, int(round(amount / plan.periods)), dtype=np.int64)
            rows[(rep, None)] = per
        ref = contexts[0].reference_rate if contexts else None
        contexts.append(plan_context(plan, inputs, params, rows, ref))
    return Job(inputs, tuple(contexts), params, seed, False)


def sim_benchmark(
    reps: int = 500,
    replications: int = 200,
    workers: int = 2,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, object]:
    """Wall time and events per second of the whole benchmark, against the bare SimPy loop."""
    clock = time.perf_counter()
    params = load_behaviour(ROOT / "models" / "behaviour" / "defaults.yaml")
    job = benchmark_job(reps, seed, params)
    prepare = time.perf_counter() - clock
    start = time.perf_counter()
    if workers == 1:
        years, facts = run_local(job, replications, progress), {"workers": 1}
    else:
        years, facts = run_dask(job, replications, workers, None, progress)
    simulate = time.perf_counter() - start
    wall = time.perf_counter() - clock
    events = sum(y.events for outcome in years for y in outcome)
    bare = bare_loop_rate()
    per_worker = events / simulate / facts["workers"]
    plans = [c.plan.name for c in job.contexts]
    headline = {
        name: {
            "payout_mean": float(np.mean([o[k].payment.sum() for o in years]) / 100),
            "revenue_mean": float(np.mean([o[k].revenue.sum() for o in years]) / 100),
            "effort_mean": float(np.nanmean([np.nanmean(o[k].effort) for o in years])),
        }
        for k, name in enumerate(plans)
    }
    return {
        "reps": reps,
        "replications": replications,
        "plans": plans,
        "workers": facts["workers"],
        "wall_seconds": round(wall, 2),
        "prepare_seconds": round(prepare, 2),
        "simulate_seconds": round(simulate, 2),
        "events": events,
        "events_per_second": round(events / simulate),
        "events_per_second_per_worker": round(per_worker),
        "bare_loop_events_per_second": round(bare),
        "slowdown_vs_bare_loop": round(bare / per_worker, 2),
        "headline": headline,
    }
