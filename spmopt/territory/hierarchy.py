"""The hierarchy stage: territories rolled up into districts (a first-line manager each) and districts into regions,
read from the planner's file (`hierarchy.file`) or designed by the territory engine (`hierarchy.districts`, the
model in `hierarchy_design`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from spmopt.config import BalanceConfig, ScenarioConfig
from spmopt.data.loader import PlanningData
from spmopt.errors import ConfigError
from spmopt.facts import Facts
from spmopt.territory.alignment import Progress, quiet
from spmopt.territory.hierarchy_design import LevelFacts, design_level, level_data
from spmopt.territory.hierarchy_file import read_hierarchy_file
from spmopt.territory.inputs import TerritoryInputs

Source = Literal["file", "designed"]
COLUMNS = ("territory_id", "rep_id", "district_id", "region_id")
"""hierarchy.csv's columns."""


class HierarchyFacts(Facts):
    """What the hierarchy stage did: where the districts came from, how many of each, each designed level's solve."""

    stage: Literal["hierarchy"] = "hierarchy"
    source: Source
    """`file` (hierarchy.file) or `designed` (hierarchy.districts)."""
    territories: int
    districts: int
    regions: int | None = None
    """None when the hierarchy stops at districts."""
    levels: list[LevelFacts] = []
    """One per designed level (districts, then regions): status, gap, method, seconds."""


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """Territory -> district -> region, and how it was obtained."""

    table: pd.DataFrame
    """Columns `territory_id`, `rep_id`, `district_id`, `region_id` (None without regions), one row per
    territory, in the territory table's order (written as hierarchy.csv)."""
    source: Source
    levels: tuple[LevelFacts, ...] = ()
    """The designed levels' solves (empty for a file)."""

    @property
    def has_regions(self) -> bool:
        """Whether districts are grouped into regions."""
        return bool(self.table["region_id"].notna().all())

    @property
    def facts(self) -> HierarchyFacts:
        """The stage's facts for the manifest."""
        table = self.table
        return HierarchyFacts(
            source=self.source,
            territories=len(table),
            districts=table["district_id"].nunique(),
            regions=table["region_id"].nunique() if self.has_regions else None,
            levels=list(self.levels),
        )


def hierarchy_bands(cfg: ScenarioConfig) -> tuple[BalanceConfig, ...]:
    """The measures and tolerances districts and regions are designed and reported against."""
    assert cfg.hierarchy is not None
    return cfg.hierarchy.balance_for(cfg.territory)


def check_hierarchy(cfg: ScenarioConfig, data: PlanningData, inp: TerritoryInputs) -> None:
    """Checks that need no solve: balance measures the data holds, fewer districts than territories, and the
    hierarchy file against the reps' territories when reps name them (without reps the designed territories'
    names are known only after the design)."""
    h = cfg.hierarchy
    if h is None:
        return
    for band in hierarchy_bands(cfg):
        if band.measure not in data.units.columns:
            raise ConfigError(
                f"hierarchy.balance: measure '{band.measure}' is not one the scenario reads; use a territory.balance "
                "measure (or quota.potential, territory.distance_weight, a simulation measure)"
            )
    if h.districts is not None and h.districts >= inp.territories:
        raise ConfigError(
            f"hierarchy.districts: {h.districts} districts from {inp.territories} territories; give fewer districts "
            "than territories (each district groups several)"
        )
    if h.file is not None and inp.fixed_sites:
        reps_of: dict[str, str | None] = {t: inp.site_rep.get(s) for s, t in inp.site_territory.items()}
        read_hierarchy_file(h.file, sorted(reps_of), reps_of)


def build_hierarchy(
    cfg: ScenarioConfig,
    data: PlanningData,
    alignment: pd.Series,
    reps_of: dict[str, str | None],
    progress: Progress = quiet,
) -> Hierarchy:
    """The hierarchy of the alignment `alignment` (unit_id -> territory_id; `reps_of`: territory -> rep, in the
    territory table's order): read from the file, or designed level by level."""
    h = cfg.hierarchy
    assert h is not None
    territories = list(reps_of)
    if h.file is not None:
        table = read_hierarchy_file(h.file, territories, reps_of)
        return Hierarchy(_with_reps(table, reps_of), "file")
    assert h.districts is not None  # the config validator guarantees file or districts
    bands = hierarchy_bands(cfg)
    measures = [b.measure for b in bands]
    contiguity = h.contiguous(cfg.data)
    settings = h.solver or cfg.territory.solver
    progress(f"Grouping {len(territories)} territories into {h.districts} districts")
    members = level_data(data.units, data.adjacency, alignment, measures)
    districts = design_level(members, "district", h.districts, bands, contiguity, settings, progress)
    district_of = districts.group_of
    levels = [districts.facts]
    region_of: dict[str, str] = {}
    if h.regions is not None:
        progress(f"Grouping {h.districts} districts into {h.regions} regions")
        members = level_data(data.units, data.adjacency, alignment.map(district_of), measures)
        regions = design_level(members, "region", h.regions, bands, contiguity, settings, progress)
        region_of = regions.group_of
        levels.append(regions.facts)
    table = pd.DataFrame(
        {
            "territory_id": territories,
            "district_id": [district_of[t] for t in territories],
            "region_id": [region_of.get(district_of[t]) for t in territories],
        }
    )
    return Hierarchy(_with_reps(table, reps_of), "designed", tuple(levels))


def _with_reps(table: pd.DataFrame, reps_of: dict[str, str | None]) -> pd.DataFrame:
    out = table.assign(rep_id=table["territory_id"].map(reps_of))
    return out[list(COLUMNS)]
