"""Run a scenario's stages in order (orchestration only: each stage is a function of its config section and the
typed results before it; this module orders them, consults the cache and records what each did)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from spmopt.cache import StageCache, stage_key
from spmopt.candidate import DESIGNED
from spmopt.coaching.run import CoachingPlan, plan_coaching
from spmopt.comp.plan import CompPlan
from spmopt.comp.run import CompResult, comp_facts, comp_warnings, evaluate_scenario_plans
from spmopt.config import ScenarioConfig
from spmopt.data.loader import PlanningData
from spmopt.data.tables import read_table, require_columns
from spmopt.decision import decision_table, mark_best
from spmopt.errors import ConfigError
from spmopt.folder import mismatched_pair
from spmopt.hashing import package_versions
from spmopt.manifest import DataFacts, StageRecord
from spmopt.preparation import Prepared, prepare
from spmopt.quota.plan import QuotaPlan, set_quotas
from spmopt.sim.cycle import scenario_lag
from spmopt.sim.montecarlo import SimulationResult
from spmopt.sim.run import play_simulation, set_up_simulation
from spmopt.territory.accounts import account_assignments
from spmopt.territory.assess import assess_alignment
from spmopt.territory.design import TerritoryFacts, design_territories
from spmopt.territory.hierarchy import Hierarchy, build_hierarchy
from spmopt.territory.plan import TerritoryPlan

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class AlignmentCandidate:
    """A candidate alignment given by the scenario (not designed), with its quotas and simulated year when the
    scenario has those sections."""

    name: str
    quota: QuotaPlan | None
    simulation: SimulationResult | None
    coaching: CoachingPlan | None
    territories: pd.DataFrame
    """Its balance table, from the same checks as `spmopt assess` (territories.csv's columns and verdicts)."""
    accounts: pd.DataFrame | None = None
    """Its account assignments (`account_assignments.csv`), with `data.accounts`."""


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
    accounts: pd.DataFrame | None = None
    """The designed alignment account by account (`account_assignments.csv`), with `data.accounts`."""
    hierarchy: Hierarchy | None = None
    """The designed alignment's territories grouped into districts and regions, with a `hierarchy:` section."""

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every stage's warnings, in stage order, each once (candidates' stages repeat what they share)."""
        return tuple(dict.fromkeys(w for s in self.stages for w in s.warnings))

    @property
    def territory_facts(self) -> TerritoryFacts:
        """The territory stage's facts (every run designs, or reuses, an alignment)."""
        record = self.stage("territory")
        if record is None or not isinstance(record.facts, TerritoryFacts):
            raise AssertionError("a scenario result always has a territory stage")
        return record.facts

    def stage(self, name: str, alignment: str | None = None) -> StageRecord | None:
        """The record of stage `name` on `alignment` (None: the designed alignment)."""
        return next((r for r in self.stages if r.stage == name and r.alignment == alignment), None)


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


def _mark_cached(record: StageRecord, key: str, clock: float, alignment: str | None = None) -> StageRecord:
    """A stored stage's record as reused now: this run's seconds, and the alignment it is reused for (a stored
    result may have been computed for another alignment with the same inputs)."""
    update = {"seconds": time.perf_counter() - clock, "cached": True, "cache_key": key, "alignment": alignment}
    return record.model_copy(update=update)


def territory_key(cfg: ScenarioConfig) -> str:
    """What the territory design reads: the data section (every file it names, by content), the territory
    section (locks file included) and, when units take their locations from the offline ZIP data, that data's
    version (an upgrade may move a ZIP)."""
    zip_data = package_versions().get("zipcodes") if cfg.data.locations_from == "zip" else None
    return stage_key("territory", {"data": cfg.data, "territory": cfg.territory, "zip_data": zip_data})


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
        "plan_year": comp.plan_year,  # replaces the plans' own year_start
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
    """Check every input (`prepare`), then run the stages (`run_prepared`). Raises `SpmoptError` subclasses with
    planner-readable text."""
    clock = time.perf_counter()
    return run_prepared(prepare(cfg, progress), progress, cache, time.perf_counter() - clock)


def run_prepared(
    prep: Prepared, progress: Progress = _quiet, cache: StageCache | None = None, prepare_seconds: float = 0.0
) -> ScenarioResult:
    """Design territories, set quotas, pay plans, simulate, on a checked scenario; stages whose inputs are
    unchanged since a run that used the same `cache` are reused."""
    cfg, data = prep.config, prep.data
    edges = data.adjacency.number_of_edges() if data.adjacency is not None else 0
    facts = DataFacts(units=len(data.units), measures=list(data.measures), adjacency_edges=edges)
    stages = [StageRecord(facts=facts, seconds=prepare_seconds, warnings=list(data.warnings))]
    plan, record = _territory_stage(prep, cache, progress)
    stages.append(record)
    quotas = None
    if cfg.quota is not None:
        progress("Setting quotas")
        alignment = plan.alignment.set_index("unit_id")["territory_id"]
        reps_of = {t: (None if pd.isna(r) else str(r)) for t, r in plan.centres["rep_id"].items()}
        quotas, record = _quota_stage(cfg, data, alignment, reps_of, None, cache, progress)
        stages.append(record)
    hierarchy = None
    if cfg.hierarchy is not None:
        hierarchy, record = _hierarchy_stage(cfg, data, plan, progress)
        stages.append(record)
    comp: tuple[CompResult, ...] = ()
    if cfg.comp is not None and quotas is not None:
        progress(f"Evaluating {len(cfg.comp.plans)} comp plan(s)")
        clock = time.perf_counter()
        by_account = (data.accounts.unit_of, data.accounts.kept_by_owner) if data.accounts is not None else (None, None)
        comp = tuple(evaluate_scenario_plans(cfg.comp, list(prep.plans), alignment, reps_of, quotas.table, *by_account))
        seconds = time.perf_counter() - clock
        stages.append(StageRecord(facts=comp_facts(list(comp)), seconds=seconds, warnings=comp_warnings(list(comp))))
    simulation = coaching = None
    if cfg.simulation is not None and quotas is not None:
        simulation, coaching, records = _simulation_stage(prep, alignment, quotas.table, None, cache, progress)
        stages += records
    candidates = []
    for given in prep.given:
        quota = sim = coached = None
        if cfg.quota is not None:
            quota, record = _quota_stage(cfg, data, given.alignment, given.reps_of, given.name, cache, progress)
            stages.append(record)
        if cfg.simulation is not None and quota is not None:
            sim, coached, records = _simulation_stage(prep, given.alignment, quota.table, given.name, cache, progress)
            stages += records
        balance = assess_alignment(prep.territory, data, given.alignment).territories
        moves = account_assignments(data, given.alignment, given.reps_of) if data.accounts is not None else None
        candidates.append(AlignmentCandidate(given.name, quota, sim, coached, balance, moves))
    decision = None
    if simulation is not None:
        runs = [(simulation, coaching), *((c.simulation, c.coaching) for c in candidates if c.simulation is not None)]
        tables = [decision_table(s, c.cost if c is not None else 0, cfg.simulation.criterion) for s, c in runs]
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
        accounts=designed_accounts(plan, data),
        hierarchy=hierarchy,
    )


def designed_accounts(plan: TerritoryPlan, data: PlanningData) -> pd.DataFrame | None:
    """The designed alignment's account assignments, with `data.accounts`."""
    if data.accounts is None:
        return None
    rep_of = {str(t): (None if pd.isna(r) else str(r)) for t, r in plan.centres["rep_id"].items()}
    return account_assignments(data, plan.alignment.set_index("unit_id")["territory_id"], rep_of)


def _territory_stage(prep: Prepared, cache: StageCache | None, progress: Progress) -> tuple[TerritoryPlan, StageRecord]:
    """The designed alignment, reused when the data and territory sections are unchanged."""
    clock = time.perf_counter()
    key = territory_key(prep.config)
    stored = _reuse(cache, "territory", key, progress)
    if stored is not None:
        plan, record = stored
        return plan, _mark_cached(record, key, clock)
    plan, facts = design_territories(prep.territory, prep.config.territory.solver, prep.data, progress)
    record = StageRecord(facts=facts, seconds=time.perf_counter() - clock)
    if cache is not None:
        cache.put("territory", key, (plan, record))
    return plan, record


def _hierarchy_stage(
    cfg: ScenarioConfig, data: PlanningData, plan: TerritoryPlan, progress: Progress
) -> tuple[Hierarchy, StageRecord]:
    """The designed alignment's districts and regions. Not cached: a file is read in milliseconds, and a designed
    level groups only the territories (tens of units for the engine)."""
    clock = time.perf_counter()
    alignment = plan.alignment.set_index("unit_id")["territory_id"]
    rep_of = plan.centres["rep_id"]
    reps_of = {str(t): (None if pd.isna(rep_of.get(t)) else str(rep_of[t])) for t in plan.territories["territory_id"]}
    hierarchy = build_hierarchy(cfg, data, alignment, reps_of, progress)
    return hierarchy, StageRecord(facts=hierarchy.facts, seconds=time.perf_counter() - clock)


def _quota_stage(
    cfg: ScenarioConfig,
    data: PlanningData,
    alignment: pd.Series,
    reps_of: dict,
    name: str | None,
    cache: StageCache | None,
    progress: Progress,
) -> tuple[QuotaPlan, StageRecord]:
    """Quotas on an alignment (unit -> territory; `name` None for the designed one), reused when nothing they
    depend on changed."""
    assert cfg.quota is not None
    clock = time.perf_counter()
    key = quota_key(cfg, alignment, reps_of)
    stored = _reuse(cache, "quota", key, progress)
    if stored is not None:
        quotas, record = stored
        return quotas, _mark_cached(record, key, clock, name)
    quotas = set_quotas(cfg.quota, data, alignment, reps_of, cfg.seed, progress, lag=scenario_lag(cfg.simulation))
    record = StageRecord(
        facts=quotas.facts, alignment=name, seconds=time.perf_counter() - clock, warnings=list(quotas.warnings)
    )
    if cache is not None:
        cache.put("quota", key, (quotas, record))
    return quotas, record


def _simulation_stage(
    prep: Prepared,
    alignment: pd.Series,
    quota_table: pd.DataFrame,
    name: str | None,
    cache: StageCache | None,
    progress: Progress,
) -> tuple[SimulationResult, CoachingPlan | None, list[StageRecord]]:
    """Coaching plan and simulated year on one alignment's quotas (`name` None for the designed one), reused when
    nothing they depend on changed."""
    cfg = prep.config
    key = simulation_key(cfg, alignment, quota_table)
    stored = _reuse(cache, "simulation", key, progress)
    if stored is not None:
        clock = time.perf_counter()
        simulation, coaching, records = stored
        # A stored year may have been played for another alignment with the same units, reps and quotas.
        here = DESIGNED if name is None else name
        simulation = replace(simulation, candidates=tuple(replace(c, alignment=here) for c in simulation.candidates))
        return simulation, coaching, [_mark_cached(r, key, clock, name) for r in records]
    label = "" if name is None else f" '{name}'"
    year = simulate_year(
        cfg,
        prep.data,
        alignment,
        quota_table,
        list(prep.plans),
        progress=lambda done, total: progress(f"Simulating{label}: {done}/{total} replications"),
        message=progress,
        alignment_name=DESIGNED if name is None else name,
    )
    simulation, coaching = year.simulation, year.coaching
    assert simulation.facts is not None
    records = []
    if coaching is not None:
        facts, warnings = coaching.facts(), list(coaching.warnings)
        records.append(StageRecord(facts=facts, alignment=name, seconds=year.coaching_seconds, warnings=warnings))
    facts, warnings = simulation.facts, list(simulation.warnings)
    records.append(StageRecord(facts=facts, alignment=name, seconds=year.simulation_seconds, warnings=warnings))
    if cache is not None:
        cache.put("simulation", key, (simulation, coaching, records))
    return simulation, coaching, records


@dataclass(frozen=True, slots=True)
class SimulatedYear:
    """One alignment's simulated year, the coaching plan it played, and the seconds each stage took."""

    simulation: SimulationResult
    coaching: CoachingPlan | None
    coaching_seconds: float
    simulation_seconds: float


def simulate_year(
    cfg: ScenarioConfig,
    data: PlanningData,
    alignment: pd.Series,
    quota_table: pd.DataFrame,
    plans: list[CompPlan],
    progress: Callable[[int, int], None] | None = None,
    local: bool = False,
    message: Progress = _quiet,
    alignment_name: str = DESIGNED,
) -> SimulatedYear:
    """Simulate every plan on `alignment` (unit -> territory) and its quotas: set up the seats, plan coaching
    against their expected sales (with a coaching section), then play every plan, and again with the coaching plan
    on the same draws. `local` runs the replications in this process instead of on Dask (tests and notebooks)."""
    clock = time.perf_counter()
    setup = set_up_simulation(cfg, data, alignment, quota_table, plans, message)
    coaching, coaching_seconds = None, 0.0
    if cfg.coaching is not None:
        message("Planning coaching (uplift model, managers' hours)")
        start = time.perf_counter()
        margin = setup.params.pipeline.margin_ratio
        coaching = plan_coaching(cfg, setup.inputs.reps, setup.expected_sales(), margin)
        coaching_seconds = time.perf_counter() - start
    simulation = play_simulation(cfg, setup, coaching, progress, local, message, alignment_name)
    return SimulatedYear(simulation, coaching, coaching_seconds, time.perf_counter() - clock - coaching_seconds)


def simulate_from_files(
    prep: Prepared,
    alignment: Path,
    quotas: Path,
    progress: Callable[[int, int], None] | None = None,
    local: bool = False,
    message: Callable[[str], None] = lambda _: None,
) -> tuple[SimulationResult, CoachingPlan | None]:
    """Simulate on an alignment and quotas written by an earlier `spmopt run` (alignment.csv, quotas.csv)."""
    cfg, data = prep.config, prep.data
    if cfg.comp is None:
        raise ConfigError("simulation needs the scenario's comp section (the candidate plans)")
    frame = read_table(alignment, "alignment")
    require_columns(frame, ["unit_id", "territory_id"], alignment, "alignment")
    series = pd.Series(frame["territory_id"].astype(str).to_numpy(), index=frame["unit_id"].astype(str).to_numpy())
    missing = data.units.index.difference(series.index)
    if len(missing):
        raise ConfigError(f"{alignment}: no territory for {len(missing)} unit(s), e.g. {', '.join(missing[:5])}")
    table = read_table(quotas, "quotas")
    require_columns(table, ["territory_id", "rep_id"], quotas, "quotas")
    table = table.astype({"territory_id": str})
    unknown = sorted(set(series.to_numpy()) - set(table["territory_id"]))
    if unknown:
        raise ConfigError(f"{quotas}: no quota row for territory {unknown[0]} of {alignment}")
    plans = list(prep.plans)
    year = simulate_year(cfg, data, series.loc[data.units.index], table, plans, progress, local, message)
    result, coaching = year.simulation, year.coaching
    mismatch = mismatched_pair(alignment, quotas)
    if mismatch is not None:
        result = replace(result, warnings=(mismatch, *result.warnings))
    return result, coaching
