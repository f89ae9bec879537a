"""Scenario schema: the pydantic models a scenario YAML is validated against, and the only home of defaults.

Every model forbids unknown keys and is frozen, so a typo in a scenario is an error, not a silently
ignored setting, and nothing downstream can change the configuration it was given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class StrictModel(BaseModel):
    """Base for every config section: unknown keys rejected, instances immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(StrictModel):
    """Input files. Relative paths are resolved against the folder of the YAML file that names them."""

    units: Path
    """CSV or Parquet: `unit_id`, coordinates (`x`,`y` projected or `lat`,`lon`) and numeric measure columns."""
    geometry: Path | None = None
    """GeoPackage, GeoJSON or Shapefile of polygons with a `unit_id` column; adjacency is derived from it."""
    adjacency: Path | None = None
    """CSV of edges `unit_a,unit_b`; used instead of the geometry's adjacency when given."""
    adjacency_rule: Literal["queen", "rook"] = "queen"
    """Queen: polygons touching at a point are neighbours; rook: they must share a boundary segment."""
    current_alignment: Path | None = None
    """CSV `unit_id,territory_id` of today's alignment (for disruption limits and labels)."""
    reps: Path | None = None
    """CSV `rep_id`, home base (`x`,`y` or `lat`,`lon`), optional `territory_id` and `target_share`."""
    xy_unit: Literal["m", "km"] = "m"
    """Length unit of projected `x`,`y` columns; distances are reported in km."""


class BalanceConfig(StrictModel):
    """One balance requirement: the measure's territory total within +-tolerance of its target."""

    measure: str
    """Column of the units table, e.g. `potential` or `workload`."""
    tolerance: float = Field(gt=0, lt=1)
    """Allowed relative deviation from the territory's share-weighted target, e.g. 0.05 for +-5%."""


class SolverSettings(StrictModel):
    """Limits handed to HiGHS."""

    time_limit: float = Field(default=300.0, gt=0)
    """Seconds; on expiry the best alignment found is returned with its optimality gap."""
    mip_gap: float = Field(default=1e-4, ge=0, lt=1)
    """Relative optimality gap at which the search stops."""
    threads: int | None = Field(default=None, ge=1)
    """Solver threads; HiGHS chooses when omitted."""


class TerritoryConfig(StrictModel):
    """Territory design: how many territories, what must balance, and what makes a good alignment."""

    territories: int | None = Field(default=None, ge=1)
    """Number of territories; defaults to one per rep when `data.reps` is given."""
    balance: tuple[BalanceConfig, ...] = ()
    """Measures that must balance, each with its own tolerance."""
    compactness: Literal["distance", "cut_edges"] = "distance"
    """Objective: total distance from units to their territory centre, or number of cut adjacency edges."""
    distance_weight: str | None = None
    """Measure that weights each unit's distance (e.g. `workload`); every unit counts once when omitted."""
    contiguity: bool = False
    """Every territory must be connected on the adjacency graph."""
    max_disruption: float | None = Field(default=None, ge=0, le=1)
    """Cap on the share of `disruption_measure` moved away from the current alignment."""
    disruption_measure: str | None = None
    """Measure whose moved share is capped and penalised; the first balance measure when omitted."""
    disruption_weight: float = Field(default=0.0, ge=0)
    """Objective penalty per percentage point of `disruption_measure` moved."""
    locks: Path | None = None
    """CSV `unit_id,territory_id` of units that must stay in the named territory."""
    candidate_sites: int | None = Field(default=None, ge=1)
    """Each unit may join only its N nearest candidate centres (prunes the model; all when omitted)."""
    solver: SolverSettings = SolverSettings()

    @field_validator("balance")
    @classmethod
    def _measures_unique(cls, balance: tuple[BalanceConfig, ...]) -> tuple[BalanceConfig, ...]:
        seen = [b.measure for b in balance]
        dupes = sorted({m for m in seen if seen.count(m) > 1})
        if dupes:
            raise ValueError(f"measure listed more than once: {', '.join(dupes)}")
        return balance


class OutputConfig(StrictModel):
    """Where a run writes its results."""

    dir: Path | None = None
    """Output folder; `out/<scenario name>` under the working directory when omitted."""


class ScenarioConfig(StrictModel):
    """A whole planning scenario."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Short identifier used in output names (letters, digits, `_`, `-`, `.`)."""
    description: str | None = None
    seed: int = Field(default=0, ge=0)
    """Root of every random stream the scenario uses."""
    data: DataConfig
    territory: TerritoryConfig
    output: OutputConfig = OutputConfig()

    @model_validator(mode="after")
    def _cross_section_rules(self) -> ScenarioConfig:
        t = self.territory
        if t.territories is None and self.data.reps is None:
            raise ValueError(
                "territory.territories is required when data.reps is not given "
                "(the number of territories is otherwise one per rep)"
            )
        if (t.max_disruption is not None or t.disruption_weight > 0) and (self.data.current_alignment is None):
            raise ValueError(
                "territory.max_disruption / disruption_weight need data.current_alignment "
                "(disruption is measured against today's alignment)"
            )
        if t.compactness == "cut_edges" and self.data.geometry is None and self.data.adjacency is None:
            raise ValueError("territory.compactness 'cut_edges' needs data.geometry or data.adjacency")
        if t.contiguity and self.data.geometry is None and self.data.adjacency is None:
            raise ValueError("territory.contiguity needs data.geometry or data.adjacency")
        return self

    def output_dir(self) -> Path:
        """The folder a run writes to."""
        return self.output.dir if self.output.dir is not None else Path("out") / self.name

    @property
    def disruption_measure(self) -> str | None:
        """The measure disruption is counted in (None: units are counted)."""
        t = self.territory
        if t.disruption_measure is not None:
            return t.disruption_measure
        return t.balance[0].measure if t.balance else None
