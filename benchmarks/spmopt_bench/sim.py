"""Simulator throughput benchmark: a synthetic organisation of N reps x 1 plan year x R replications x 2 plans
on a local Dask cluster, against the same machine's bare SimPy timeout loop.

The two plans are the demo's target-incentive plan (revenue: threshold 50%, 1.6x slope to quota, 2x above,
cap 2.5) and an accelerated variant (3x slope above quota, to 2.5 at 150%). Both pay on attainment of a
target incentive, so they fit the synthetic quotas whatever their scale. Each seat's annual quota is its
expected sales at normal effort, rounded to the cent, spread over the plan's payout periods.

What is counted as an event: every SimPy event the model schedules (opportunity stage ends, weekly pipeline
reviews, turnover checks, vacancies, period-end deal timing), as `PlanYear.events` reports it. Events per
second are total events over the wall time of the replications (tasks, scatter and gather included; cluster
start and the plan contexts excluded), so they include the comp-engine pay and the numpy bookkeeping around
each event loop, not the event loop alone.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import numpy as np
import simpy

from spmopt.comp.plan import CompPlan, load_plan
from spmopt.quota.periods import split_exact
from spmopt.sim.incentives import PlanContext, plan_context
from spmopt.sim.inputs import SimInputs, synthetic_inputs
from spmopt.sim.parallel import Job, run_dask, run_local
from spmopt.sim.params import BehaviourParams, load_behaviour
from spmopt.sim.replication import PlanYear
from spmopt_bench.paths import MODELS, SCENARIOS

PLAN = SCENARIOS / "plans" / "target_incentive.yaml"
BEHAVIOUR = MODELS / "behaviour" / "defaults.yaml"

Progress = Callable[[int, int], None]


def bare_loop_rate(events: int = 2_000_000, processes: int = 100) -> float:
    """Events per second of one core running a bare SimPy loop: `processes` processes doing nothing but
    `yield env.timeout(1)`, `events` timeouts in all (the cyclic garbage collector off, as in the model's
    event loop). The ceiling a SimPy model's event rate could reach on this machine."""
    env = simpy.Environment()
    each = max(events // processes, 1)

    def idle(env: simpy.Environment):
        for _ in range(each):
            yield env.timeout(1)

    for _ in range(processes):
        env.process(idle(env))
    collecting = gc.isenabled()
    gc.disable()
    try:
        clock = time.perf_counter()
        env.run()
        seconds = time.perf_counter() - clock
    finally:
        if collecting:
            gc.enable()
    return each * processes / seconds


def accelerated(plan: CompPlan) -> CompPlan:
    """The plan with its first measure's last curve point raised to payout 2.5 (a 3x slope above quota for
    the demo plan, against 2x); everything else, the cap included, unchanged."""
    data = plan.model_dump(mode="json", by_alias=True)
    data["name"] = f"{plan.name}_accelerated"
    data["measures"][0]["curve"][-1]["payout"] = "2.5"
    fast = CompPlan.model_validate(data)
    cap, curve = fast.measures[0].cap, fast.measures[0].curve
    at_quota = next((p.payout for p in curve if p.attainment == 1), None)
    if cap is not None and at_quota is not None and cap < at_quota:
        raise ValueError(f"plan {plan.name}: cap {cap} is below the payout at quota {at_quota}")
    return fast


def plan_contexts(plans: list[CompPlan], inputs: SimInputs, params: BehaviourParams) -> tuple[PlanContext, ...]:
    """Each plan's context with every seat's quota = its expected annual sales, rounded; the first plan's
    on-track marginal pay is both plans' effort reference."""
    expected = inputs.expected_amount(params.pipeline.win_probability)
    contexts: list[PlanContext] = []
    for plan in plans:
        rows = {
            (rep, None): np.array(split_exact(round(amount), np.ones(plan.periods)), dtype=np.int64)
            for rep, amount in zip(inputs.reps, expected, strict=True)
        }
        reference = contexts[0].reference_rate if contexts else None
        contexts.append(plan_context(plan, inputs, params, rows, reference))
    return tuple(contexts)


def benchmark_job(
    reps: int,
    seed: int,
    params: BehaviourParams,
    units_per_seat: int = 20,
    annual_per_seat: float = 1_200_000,
    mean_deal: float = 45_000,
) -> Job:
    """The synthetic instance (`reps` seats of `units_per_seat` units, `annual_per_seat` expected sales and
    `mean_deal` mean deal size, currency units) under the demo plan and its accelerated variant."""
    rng = np.random.default_rng(seed)
    inputs = synthetic_inputs(reps, units_per_seat, annual_per_seat, mean_deal, params, rng)
    base = load_plan(PLAN)
    return Job(inputs, plan_contexts([base, accelerated(base)], inputs, params), params, seed, False)


def headline(years: list[list[PlanYear]], plans: list[str]) -> dict[str, dict[str, float]]:
    """Mean over replications of each plan's year totals (currency units; effort a mean level)."""
    out = {}
    for k, name in enumerate(plans):
        totals = [outcome[k].totals() for outcome in years]
        out[name] = {
            key: float(np.nanmean([t[key] for t in totals]))
            for key in ("payout", "revenue", "cost_of_sales_pct", "attainment_mean", "share_at_quota", "effort_mean")
        }
    return out


def sim_benchmark(
    reps: int = 500,
    replications: int = 200,
    workers: int = 2,
    seed: int = 0,
    units_per_seat: int = 20,
    annual_per_seat: float = 1_200_000,
    mean_deal: float = 45_000,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Run `replications` x 2 plans of a `reps`-seat synthetic organisation on a local Dask cluster of
    `workers` processes (in this process when `workers` is 1) and measure it.

    Returns: the sizes; `wall_seconds` (everything: behaviour parameters, synthetic instance, both plan
    contexts, cluster start and stop, replications); `prepare_seconds` (parameters, instance, contexts);
    `simulate_seconds` (`run_dask`: cluster start, scatter, tasks, gather); `events` (SimPy events over all
    plan-years); `events_per_second` (events / simulate_seconds) and `events_per_second_per_worker`;
    `bare_loop_events_per_second` (`bare_loop_rate` on one core, after the cluster is stopped); `ratio` (bare
    loop rate / our per-worker rate: how many bare-loop events one model event costs, pay and bookkeeping
    included); `event_loop_events_per_second` and `event_loop_ratio` (the same for the event loops alone);
    and `headline`, each plan's mean payout, revenue, cost of sales, attainment and effort.
    """
    clock = time.perf_counter()
    params = load_behaviour(BEHAVIOUR)
    job = benchmark_job(reps, seed, params, units_per_seat, annual_per_seat, mean_deal)
    prepare = time.perf_counter() - clock
    start = time.perf_counter()
    if workers == 1:
        years, n_workers = run_local(job, replications, progress), 1
    else:
        years, facts = run_dask(job, replications, workers, None, progress)
        n_workers = int(facts["workers"])
    simulate = time.perf_counter() - start
    wall = time.perf_counter() - clock
    events = sum(y.events for outcome in years for y in outcome)
    loop = sum(y.loop_seconds for outcome in years for y in outcome)
    bare = bare_loop_rate()
    rate = events / simulate
    per_worker = rate / n_workers
    plans = [c.plan.name for c in job.contexts]
    return {
        "reps": reps,
        "replications": replications,
        "plans": plans,
        "plan_years": replications * len(plans),
        "workers": n_workers,
        "wall_seconds": round(wall, 2),
        "prepare_seconds": round(prepare, 2),
        "simulate_seconds": round(simulate, 2),
        "events": events,
        "events_per_plan_year": round(events / (replications * len(plans))),
        "events_per_second": round(rate),
        "events_per_second_per_worker": round(per_worker),
        "bare_loop_events_per_second": round(bare),
        "ratio": round(bare / per_worker, 2),
        "event_loop_events_per_second": round(events / loop),
        "event_loop_ratio": round(bare / (events / loop), 2),
        "headline": headline(years, plans),
    }
