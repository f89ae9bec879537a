"""Run a scenario's stages in order (orchestration only: the maths lives in the stage modules)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from spmopt.cache import StageCache, stage_key
from spmopt.coaching.run import CoachingPlan, check_coaching
from spmopt.comp.plan import load_plan
from spmopt.comp.run import CompResult, evaluate_scenario_plans
from spmopt.config import ScenarioConfig
from spmopt.data.loader import PlanningData, load_planning_data, read_candidate_alignment
from spmopt.errors import InfeasibleModelError, SolverError
from spmopt.optim.solve import SolveStatus
from spmopt.quota.plan import QuotaPlan, set_quotas
from spmopt.sim.cycle import scenario_lag
from spmopt.sim.montecarlo import SimulationResult, mark_best
from spmopt.sim.run import check_simulation, simulate_scenario
from spmopt.sim.write import sim_facts
from spmopt.territory.diagnose import explain_infeasibility, precheck
from spmopt.territory.engine import solve_territory
from spmopt.territory.inputs import territory_inputs
from spmopt.territory.plan import TerritoryPlan, extract_territory_plan, moved_share_pct

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class StageRecord:
    """What one stage did and how long it took."""

    name: str
    seconds: float
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlignmentCandidate:
    """A candidate alignment given by the scenario (not designed), with its quotas and simulated year."""

    name: str
    quota: QuotaPlan
    simulation: SimulationResult
    coaching: CoachingPlan | None


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """Everything a run produced, ready for `write_outputs`."""

    config: ScenarioConfig
    data: PlanningData
    territory: TerritoryPlan
    stages: tuple[StageRecord, ...]
    quota: QuotaPlan | None = None
    comp: tuple[CompResult, ...] = ()
    simulation: SimulationResult | None = None
    coaching: CoachingPlan | None = None
    candidates: tuple[AlignmentCandidate, ...] = ()
    decision: pd.DataFrame | None = None
    """Every candidate (alignment x plan x coaching) with CIs, the best marked by simulation.criterion."""

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every stage's warnings, in stage order, each once (candidates' stages repeat what they share)."""
        return tuple(dict.fromkeys(w for s in self.stages for w in s.details.get("warnings", ())))


def _quiet(_: str) -> None:
    return None


def _reuse(cache: StageCache | None, stage: str, key: str, progress: Progress) -> object | None:
    """A stage's stored result when its inputs are unchanged (None: compute it)."""
    if cache is None:
        return None
    found = cache.get(stage, key)
    if found is not None:
        progress(f"{stage}: inputs unchanged, reusing the stored result")
    return found


def _mark_cached(record: StageRecord, key: str, clock: float) -> StageRecord:
    return StageRecord(record.name, time.perf_counter() - clock, {**record.details, "cached": True, "cache_key": key})


def territory_key(cfg: ScenarioConfig) -> str:
    """What the territory design reads: the data section (every file it names, by content) and the territory
    section (locks file included)."""
    return stage_key("territory", {"data": cfg.data, "territory": cfg.territory})


def quota_key(cfg: ScenarioConfig, alignment: pd.Series, reps_of: dict[str, str | None]) -> str:
    """What quota setting reads: its section (history and bounds files by content), the seed, the units and reps
    files (measures, start months) and the alignment with its reps; not geometry, adjacency or other stages."""
    assert cfg.quota is not None
    reads = {
        "quota": cfg.quota,
        "seed": cfg.seed,
        "units": cfg.data.units,
        "reps": cfg.data.reps,
        "alignment": alignment,
        "reps_of": reps_of,
        "pipeline_lag": scenario_lag(cfg.simulation),  # a new rep's ramp allows for the simulated sales cycle
    }
    return stage_key("quota", reads)


def simulation_key(cfg: ScenarioConfig, alignment: pd.Series, table: pd.DataFrame) -> str:
    """What the simulated year with coaching reads: the simulation section (behaviour file by content; where
    replications run is left out), the plans, the comp quotas and hierarchy files, the coaching section, the
    quota ramp, the seed, the units file (deal sizes, workload), the reps file (start months, for coaching) and
    the alignment and quota table."""
    sim, comp, quota = cfg.simulation, cfg.comp, cfg.quota
    assert sim is not None
    assert comp is not None
    assert quota is not None
    reads = {
        "simulation": sim.model_dump(exclude={"workers", "scheduler"}),
        "plans": comp.plans,
        "comp_quotas": comp.quotas,
        "hierarchy": comp.crediting.hierarchy,
        "coaching": cfg.coaching,
        "ramp": quota.ramp,
        "seed": cfg.seed,
        "units": cfg.data.units,
        "reps": cfg.data.reps,  # coaching charges no hours before a rep's start month
        "alignment": alignment,
        "quota_table": table,
    }
    return stage_key("simulation", reads)


def run_scenario(cfg: ScenarioConfig, progress: Progress = _quiet, cache: StageCache | None = None) -> ScenarioResult:
    """Load data, design territories, set quotas, pay plans, simulate; stages whose inputs are unchanged since a
    run that used the same `cache` are reused. Raises `SpmoptError` subclasses with planner-readable text."""
    stages: list[StageRecord] = []
    clock = time.perf_counter()
    # Plans are read first so a typo in one fails before minutes of territory solving.
    plans = [load_plan(p) for p in cfg.comp.plans] if cfg.comp is not None else []
    if cfg.simulation is not None:
        check_simulation(cfg, plans)
    if cfg.coaching is not None:
        check_coaching(cfg)
    progress("Loading and checking input data")
    data = load_planning_data(cfg)
    # Candidate alignments are read now so a bad file fails before minutes of solving.
    given = {n: read_candidate_alignment(p, data, f"candidate alignment '{n}'") for n, p in cfg.alignments.items()}
    facts = {"units": len(data.units), "warnings": list(data.warnings)}
    stages.append(StageRecord("data", time.perf_counter() - clock, facts))
    clock = time.perf_counter()
    key = territory_key(cfg)
    stored = _reuse(cache, "territory", key, progress)
    if stored is not None:
        plan, record = stored
        record = _mark_cached(record, key, clock)
    else:
        plan, record = design_territories(cfg, data, progress)
        if cache is not None:
            cache.put("territory", key, (plan, record))
    stages.append(record)
    quotas = None
    if cfg.quota is not None:
        progress("Setting quotas")
        alignment = plan.alignment.set_index("unit_id")["territory_id"]
        reps_of = {t: (None if pd.isna(r) else str(r)) for t, r in plan.centres["rep_id"].items()}
        quotas, record = _quota_stage(cfg, data, alignment, reps_of, cache, progress)
        stages.append(record)
    comp: tuple[CompResult, ...] = ()
    if cfg.comp is not None and quotas is not None:
        progress(f"Evaluating {len(cfg.comp.plans)} comp plan(s)")
        clock = time.perf_counter()
        comp = tuple(evaluate_scenario_plans(cfg.comp, plans, alignment, reps_of, quotas.table))
        from spmopt.comp.write import comp_facts, comp_warnings

        facts = {"plans": comp_facts(list(comp)), "warnings": comp_warnings(list(comp))}
        stages.append(StageRecord("comp", time.perf_counter() - clock, facts))
    simulation = coaching = None
    if cfg.simulation is not None and quotas is not None:
        simulation, coaching, records = _simulation_stage(
            cfg, data, plans, alignment, quotas.table, "designed", cache, progress
        )
        stages += records
    candidates = []
    for name, (alignment, reps_of) in given.items():
        candidate, records = _alignment_candidate(cfg, data, plans, name, alignment, reps_of, cache, progress)
        candidates.append(candidate)
        stages += records
    decision = None
    if simulation is not None:
        tables = [simulation.decision, *(c.simulation.decision for c in candidates)]
        reps = None if data.reps is None else [str(r) for r in data.reps.index]
        decision = mark_best(pd.concat(tables, ignore_index=True), cfg.simulation.criterion, reps=reps)
    return ScenarioResult(
        config=cfg,
        data=data,
        territory=plan,
        stages=tuple(stages),
        quota=quotas,
        comp=comp,
        simulation=simulation,
        coaching=coaching,
        candidates=tuple(candidates),
        decision=decision,
    )


def _alignment_candidate(
    cfg: ScenarioConfig,
    data: PlanningData,
    plans: list,
    name: str,
    alignment: pd.Series,
    reps_of: dict[str, str],
    cache: StageCache | None,
    progress: Progress,
) -> tuple[AlignmentCandidate, list[StageRecord]]:
    """Quotas and the simulated year (with coaching) of one given alignment; cached like the designed one."""
    quotas, record = _quota_stage(cfg, data, alignment, reps_of, cache, progress)
    simulation, coaching, sim_records = _simulation_stage(
        cfg, data, plans, alignment, quotas.table, name, cache, progress
    )
    records = [StageRecord(f"{r.name}[{name}]", r.seconds, r.details) for r in (record, *sim_records)]
    return AlignmentCandidate(name, quotas, simulation, coaching), records


def _quota_stage(
    cfg: ScenarioConfig,
    data: PlanningData,
    alignment: pd.Series,
    reps_of: dict,
    cache: StageCache | None,
    progress: Progress,
) -> tuple[QuotaPlan, StageRecord]:
    """Quotas on an alignment (unit -> territory), reused when nothing they depend on changed."""
    assert cfg.quota is not None
    clock = time.perf_counter()
    key = quota_key(cfg, alignment, reps_of)
    stored = _reuse(cache, "quota", key, progress)
    if stored is not None:
        quotas, record = stored
        return quotas, _mark_cached(record, key, clock)
    quotas = set_quotas(cfg.quota, data, alignment, reps_of, cfg.seed, progress, lag=scenario_lag(cfg.simulation))
    record = StageRecord("quota", time.perf_counter() - clock, {**quotas.facts, "warnings": list(quotas.warnings)})
    if cache is not None:
        cache.put("quota", key, (quotas, record))
    return quotas, record


def _simulation_stage(
    cfg: ScenarioConfig,
    data: PlanningData,
    plans: list,
    alignment: pd.Series,
    quota_table: pd.DataFrame,
    name: str,
    cache: StageCache | None,
    progress: Progress,
) -> tuple[SimulationResult, CoachingPlan | None, list[StageRecord]]:
    """Coaching plan and simulated year on one alignment's quotas, reused when nothing they depend on changed."""
    clock = time.perf_counter()
    key = simulation_key(cfg, alignment, quota_table)
    stored = _reuse(cache, "simulation", key, progress)
    if stored is not None:
        simulation, coaching, records = stored
        return simulation, coaching, [_mark_cached(r, key, clock) for r in records]
    label = "" if name == "designed" else f" '{name}'"
    simulation, coaching = simulate_scenario(
        cfg,
        data,
        alignment,
        quota_table,
        plans,
        progress=lambda done, total: progress(f"Simulating{label}: {done}/{total} replications"),
        message=progress,
        alignment_name=name,
    )
    details = {**sim_facts(simulation), "warnings": list(simulation.warnings)}
    records = [StageRecord("coaching", 0.0, coaching.facts())] if coaching is not None else []
    records.append(StageRecord("simulation", time.perf_counter() - clock, details))
    if cache is not None:
        cache.put("simulation", key, (simulation, coaching, records))
    return simulation, coaching, records


def design_territories(
    cfg: ScenarioConfig, data: PlanningData, progress: Progress = _quiet
) -> tuple[TerritoryPlan, StageRecord]:
    """Inputs -> prechecks -> MILP -> HiGHS -> plan, with the infeasibility explained when it occurs."""
    clock = time.perf_counter()
    inp = territory_inputs(data, cfg)
    precheck(inp)
    settings = cfg.territory.solver
    solved = solve_territory(inp, settings, progress)
    report = solved.report
    if report.status == SolveStatus.INFEASIBLE:
        # The diagnosis gets what is left of the stage's time limit, so the whole run ends near it; a few
        # seconds at least, which settles small designs even after a solve that used the whole limit.
        left = max(settings.time_limit - (time.perf_counter() - clock), 5.0)
        progress(f"Model is infeasible: finding which requirement conflicts (up to {left:.0f} s)")
        raise explain_infeasibility(inp, settings, budget_seconds=left)
    if report.status == SolveStatus.NO_SOLUTION:
        raise SolverError(
            f"no alignment found within the time limit of {settings.time_limit:g} s; raise "
            "territory.solver.time_limit, relax tolerances, or set territory.candidate_sites to prune"
        )
    plan = extract_territory_plan(solved, inp, data)
    if inp.contiguity and "contiguous" in plan.territories and not plan.territories["contiguous"].all():
        bad = plan.territories.loc[~plan.territories["contiguous"], "territory_id"].tolist()
        raise InfeasibleModelError(f"internal check failed: territories {bad} are not contiguous")
    details = {
        **report.as_dict(),
        "method": solved.method,
        **solved.details,
        "units": len(inp.units),
        "territories": inp.territories,
        "moved_share_pct": moved_share_pct(plan.alignment, inp),
        **plan.objective_breakdown,
    }
    return plan, StageRecord("territory", time.perf_counter() - clock, details)
