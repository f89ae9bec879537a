"""The simulation stage: an alignment's seats and quotas + the plans (+ a coaching plan) -> replications ->
`SimulationResult`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.candidate import DESIGNED, candidates_of
from spmopt.coaching.run import CoachingPlan
from spmopt.comp.plan import CompPlan
from spmopt.config import ScenarioConfig, SimulationConfig
from spmopt.data.loader import PlanningData
from spmopt.errors import ConfigError
from spmopt.hashing import sha256_file
from spmopt.quota.attainment import predicted_share, share_mismatch_warning
from spmopt.sim.analytic import matched_behaviour
from spmopt.sim.facts import SimulationFacts
from spmopt.sim.incentives import PlanContext, check_plan, plan_contexts
from spmopt.sim.inputs import SimInputs, sim_inputs
from spmopt.sim.montecarlo import SimulationResult, coaching_returns, summarise
from spmopt.sim.parallel import Job, Progress, run_dask, run_local
from spmopt.sim.params import BehaviourParams, load_behaviour

PILOT_REPLICATIONS = 2
"""Replications played first in this process and timed, to estimate the rest; their results are the run's
replications 0 and 1 (each replication depends only on the seed and its number), so nothing is wasted."""
LONG_RUN_SECONDS = 3600.0
"""Estimated simulation time above which the run warns (it never refuses: a long run may be intended)."""


def check_simulation(cfg: ScenarioConfig, plans: list[CompPlan]) -> BehaviourParams:
    """Everything about the simulation that can be checked before any solving: the behaviour file, that every
    plan counts only what the simulation produces, one plan year, distinct plan names."""
    sim, comp = cfg.simulation, cfg.comp
    if sim is None or comp is None:
        raise ConfigError("simulation needs the scenario's simulation and comp sections")
    params = load_behaviour(sim.behaviour)
    for plan, path in zip(plans, comp.plans, strict=True):
        check_plan(plan, params, str(path))
    names = [p.name for p in plans]
    if len(set(names)) < len(names):
        raise ConfigError(f"comp.plans: two plans share the name '{next(n for n in names if names.count(n) > 1)}'")
    starts = {p.year_start for p in plans}
    if len(starts) > 1:
        raise ConfigError(
            f"comp.plans: the plans start their years on different days ({', '.join(sorted(map(str, starts)))}); "
            "the simulation plays one plan year"
        )
    return params


@dataclass(frozen=True, slots=True)
class SimulationSetup:
    """What every replication of one alignment shares: the seats and their opportunity rates, the behaviour with
    its dispersion matched to the quota stage's, each plan's engine-priced incentives. The coaching stage values
    a manager's hours against the seats' expected sales from here."""

    inputs: SimInputs
    params: BehaviourParams
    contexts: tuple[PlanContext, ...]
    plans: tuple[CompPlan, ...]
    quota_table: pd.DataFrame
    warnings: tuple[str, ...]
    seconds: float

    def expected_sales(self) -> np.ndarray:
        """Each rep's expected annual sales in cents at normal effort (a full year)."""
        return self.inputs.expected_amount(self.params.pipeline.win_probability)


def set_up_simulation(
    cfg: ScenarioConfig,
    data: PlanningData,
    alignment: pd.Series,
    quota_table: pd.DataFrame,
    plans: list[CompPlan],
    message: Callable[[str], None] = lambda _: None,
) -> SimulationSetup:
    """The seats of `alignment` (unit -> territory) with their quotas, and each plan priced by the comp engine."""
    sim, comp, quota = cfg.simulation, cfg.comp, cfg.quota
    if sim is None or comp is None or quota is None:
        raise ConfigError("simulation needs the scenario's simulation, comp and quota sections")
    clock = time.perf_counter()
    params = check_simulation(cfg, plans)
    message("Preparing the simulation (seats, opportunity rates, engine-priced incentive tables)")
    inputs = sim_inputs(
        data.units,
        alignment,
        quota_table,
        params,
        plans[0].year_start,
        quota.ramp,
        sim.calibrate,
        sim.potential,
        sim.workload,
        sim.accounts,
    )
    # One dispersion: seats' normal-effort years spread as far as the quota stage's sigma says (quota table).
    params, spread = matched_behaviour(params, inputs)
    contexts = tuple(plan_contexts(plans, inputs, params, comp, quota_table))
    seconds = time.perf_counter() - clock
    return SimulationSetup(inputs, params, contexts, tuple(plans), quota_table, tuple(spread), seconds)


def play_simulation(
    cfg: ScenarioConfig,
    setup: SimulationSetup,
    coaching: CoachingPlan | None = None,
    progress: Progress | None = None,
    local: bool = False,
    message: Callable[[str], None] = lambda _: None,
    alignment_name: str = DESIGNED,
) -> SimulationResult:
    """Every plan through the scenario's replications, and with a coaching plan every plan again coached (same
    draws), with the coaching return. `local` runs the replications in this process instead of on Dask."""
    sim = cfg.simulation
    if sim is None:
        raise ConfigError("simulation needs the scenario's simulation section")
    inputs, params, plans = setup.inputs, setup.params, setup.plans
    uplift = coaching.uplift if coaching is not None else None
    job = Job(inputs, setup.contexts, params, cfg.seed, sim.mode == "fixed_effort", uplift)
    variants = len(plans) * (2 if coaching is not None else 1)
    message(f"Simulating {sim.replications:,} replications x {variants} candidates")
    clock = time.perf_counter()
    years, executor, timing = _play(job, sim, variants, local, progress, message)
    seconds = time.perf_counter() - clock
    names = [p.name for p in plans]
    candidates = candidates_of(names, alignment_name, coaching is not None)
    result = summarise([c.variant for c in candidates], inputs.seats, inputs.reps, years, keep_months=True)
    events = int(result.replications["events"].sum())
    facts = SimulationFacts(
        **executor,
        mode=sim.mode,
        replications=sim.replications,
        plans=names,
        seats=len(inputs.seats),
        behaviour_file=str(sim.behaviour),
        behaviour_sha256=sha256_file(Path(sim.behaviour)),
        behaviour_version=params.version,
        dispersion_sigma=inputs.dispersion,
        skill_sigma=round(params.reps.skill_sigma.value, 6),
        seed=cfg.seed,
        prepare_seconds=round(setup.seconds, 3),
        simulate_seconds=round(seconds, 3),
        events=events,
        events_per_second=round(events / seconds, 1) if seconds > 0 else None,
        headline=headline(result),
    )
    warnings = (
        *params.warnings(),
        *setup.warnings,
        *share_check(setup.quota_table, result, names[0]),
        *timing,
        *params.pay_warnings({p: _revenue_and_pay(result, p) for p in names}),
    )
    roi = coaching_returns(names, years, coaching.cost) if coaching is not None else pd.DataFrame()
    return replace(result, facts=facts, candidates=candidates, warnings=warnings, coaching_roi=roi)


def _revenue_and_pay(result: SimulationResult, plan: str) -> tuple[float, float]:
    return result.metric(plan, "revenue")["mean"], result.metric(plan, "payout")["mean"]


def share_check(quota_table: pd.DataFrame, result: SimulationResult, plan: str) -> list[str]:
    """The quota stage's predicted share of reps at quota against the simulated share under the baseline plan
    (whose on-track pay is normal effort): a warning when they are more than a few points apart."""
    predicted = predicted_share(quota_table)
    if predicted is None:
        return []
    m = result.metric(plan, "share_at_quota")
    warning = share_mismatch_warning(predicted, m["mean"], (m["ci_low"], m["ci_high"]), plan)
    return [warning] if warning is not None else []


def _play(
    job: Job,
    sim: SimulationConfig,
    variants: int,
    local: bool,
    progress: Progress | None,
    message: Callable[[str], None],
) -> tuple[list, dict[str, object], list[str]]:
    """Every replication, the executor's facts, and the run-time warning (if any): a timed pilot of the first
    replications in this process says how long the rest will take before they start. The estimate only ever
    reaches warnings and messages, never a result, so results do not depend on the machine's speed."""
    n = sim.replications
    pilot = min(PILOT_REPLICATIONS, n)
    clock = time.perf_counter()
    # The pilot's progress counts towards the whole run, as every later replication's does.
    years = run_local(job, pilot, None if progress is None else lambda done, _: progress(done, n))
    per_replication = (time.perf_counter() - clock) / pilot
    notes: list[str] = []

    def estimate(n_workers: int) -> None:
        seconds = per_replication * (n - pilot) / n_workers
        if seconds >= 60:
            message(f"Simulating: about {_duration(seconds)} to go on {n_workers} worker(s)")
        notes.extend(run_time_warning(per_replication, n, variants, n_workers, pilot))

    if n == pilot:
        return years, {"executor": "local", "workers": 1}, notes
    if local or (sim.workers == 1 and sim.scheduler is None):
        estimate(1)
        return years + run_local(job, n, progress, start=pilot), {"executor": "local", "workers": 1}, notes
    rest, facts = run_dask(job, n, sim.workers, sim.scheduler, progress, start=pilot, connected=estimate)
    return years + rest, facts, notes


def run_time_warning(per_replication: float, replications: int, variants: int, workers: int, pilot: int) -> list[str]:
    """The warning for a simulation expected to take longer than `LONG_RUN_SECONDS` ([] otherwise)."""
    seconds = per_replication * (replications - pilot) / workers
    if seconds <= LONG_RUN_SECONDS:
        return []
    return [
        f"simulation: {replications:,} replications x {variants} candidates will take about {_duration(seconds)} "
        f"on {workers} worker(s) ({per_replication:.3g} s per replication, timed on the first {pilot}); lower "
        "simulation.replications or add workers (simulation.workers, simulation.scheduler)"
    ]


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    days = f" ({hours / 24:,.0f} days)" if hours >= 48 else ""
    return f"{hours:,.0f} h{days}"


def headline(result: SimulationResult) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Per plan: (mean, ci_low, ci_high) of cost, revenue, cost of sales and share at quota (manifest)."""
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for plan in result.plans:
        out[plan] = {}
        for metric in ("payout", "revenue", "cost_of_sales_pct", "share_at_quota", "effort_mean", "leavers"):
            m = result.metric(plan, metric)
            out[plan][metric] = (round(m["mean"], 4), round(m["ci_low"], 4), round(m["ci_high"], 4))
    return out
