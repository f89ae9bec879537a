"""Every check that needs no solver, in one place, for every command (`validate`, `run`, `simulate`, `batch`):
the comp plans, the behaviour file, the coaching inputs, the data files, the candidate alignments, the territory
prechecks and the quota bounds. A scenario that passes here fails later only for reasons a solve reveals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from spmopt.coaching.run import check_coaching
from spmopt.comp.plan import CompPlan, load_plan
from spmopt.comp.run import scenario_plans
from spmopt.config import ScenarioConfig
from spmopt.data.loader import PlanningData, load_planning_data, read_candidate_alignment
from spmopt.quota.inputs import read_bounds
from spmopt.sim.run import check_simulation
from spmopt.territory.diagnose import precheck
from spmopt.territory.hierarchy import check_hierarchy
from spmopt.territory.inputs import TerritoryInputs, territory_inputs


@dataclass(frozen=True, slots=True)
class GivenAlignment:
    """A candidate alignment named by the scenario (`alignments:`), read and checked against the units."""

    name: str
    alignment: pd.Series
    """unit_id -> territory_id, every unit."""
    reps_of: dict[str, str]
    """territory_id -> its rep."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A scenario whose inputs have all been read and checked: what every stage starts from."""

    config: ScenarioConfig
    data: PlanningData
    territory: TerritoryInputs
    plans: tuple[CompPlan, ...]
    given: tuple[GivenAlignment, ...]


def prepare(cfg: ScenarioConfig, progress: Callable[[str], None] = lambda _: None) -> Prepared:
    """Read and check everything `cfg` names; raises `SpmoptError` subclasses naming the file, row or key."""
    # Plans and behaviour come first: they are small, and a typo there should not wait for the data files.
    # The scenario's comp.plan_year is set here, so the comp stage and the simulation see the same plan year.
    plans = tuple(scenario_plans(cfg.comp, [load_plan(p) for p in cfg.comp.plans])) if cfg.comp is not None else ()
    if cfg.simulation is not None:
        check_simulation(cfg, list(plans))
    if cfg.coaching is not None:
        check_coaching(cfg)
    progress("Loading and checking input data")
    data = load_planning_data(cfg)
    given = tuple(
        GivenAlignment(n, *read_candidate_alignment(p, data, f"candidate alignment '{n}'"))
        for n, p in cfg.alignments.items()
    )
    inp = territory_inputs(data, cfg)
    precheck(inp)
    check_hierarchy(cfg, data, inp)
    if cfg.quota is not None and cfg.quota.bounds is not None and inp.fixed_sites:
        read_bounds(cfg.quota.bounds, tuple(inp.site_territory.values()))
    return Prepared(cfg, data, inp, plans, given)
