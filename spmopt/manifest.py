"""The manifest: the versioned record of a run that `manifest.json` holds — what went in (input hashes, resolved
configuration, seed, versions), what each stage did (typed facts) and what came out (output hashes). The run
writes it through this model; the report and the batch read it back through the same model, so a field one side
renames fails loudly on the other. Its JSON schema is `models/manifest.schema.json` (`spmopt.schema_doc`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from spmopt.coaching.run import CoachingFacts
from spmopt.comp.run import CompFacts
from spmopt.errors import SpmoptError
from spmopt.facts import Facts
from spmopt.quota.plan import QuotaFacts
from spmopt.sim.facts import SimulationFacts
from spmopt.territory.assess import AssessmentFacts
from spmopt.territory.design import TerritoryFacts
from spmopt.territory.hierarchy import HierarchyFacts

SCHEMA_VERSION = 1
"""Raised whenever a field is renamed or removed, so a reader can tell an older manifest from a broken one."""


class DataFacts(Facts):
    """What the data stage read."""

    stage: Literal["data"] = "data"
    units: int
    measures: list[str]
    adjacency_edges: int
    """Edges of the adjacency graph, those added to link islands included."""


StageFacts = Annotated[
    DataFacts
    | TerritoryFacts
    | HierarchyFacts
    | QuotaFacts
    | CompFacts
    | CoachingFacts
    | SimulationFacts
    | AssessmentFacts,
    Field(discriminator="stage"),
]


class StageRecord(Facts):
    """One stage of a run: its facts, the alignment it ran on, how long it took, whether it was reused."""

    facts: StageFacts
    alignment: str | None = None
    """The candidate alignment the stage ran on (None: the designed alignment, or a stage before it)."""
    seconds: float
    cached: bool = False
    """True when the stage's stored result was reused (its inputs had not changed)."""
    cache_key: str | None = None
    warnings: list[str] = []

    @property
    def stage(self) -> str:
        return self.facts.stage


class BridgedEdge(Facts):
    """An adjacency edge spmopt added to link an island to its nearest unit."""

    unit_a: str
    unit_b: str
    km: float


class Manifest(Facts):
    """manifest.json of an output folder."""

    schema_version: Literal[1] = SCHEMA_VERSION
    command: Literal["run", "simulate", "comp evaluate", "assess"]
    scenario: str | None = None
    scenario_file: str | None = None
    scenario_sha256: str | None = None
    config_sha256: str | None = None
    """sha256 of the resolved configuration as sorted JSON (the batch's run key)."""
    seed: int | None = None
    created_utc: str
    versions: dict[str, str]
    code_fingerprint: str | None = None
    """sha256 over spmopt's own source files: a run by other code is not the same run."""
    inputs: dict[str, str]
    """sha256 of every input file, by path."""
    bridged_edges: list[BridgedEdge] = []
    stages: list[StageRecord]
    warnings: list[str] = []
    outputs: dict[str, str] = {}
    """sha256 of every output file, by its path in the folder."""

    def stage(self, name: str, alignment: str | None = None) -> Facts | None:
        """The facts of stage `name` on `alignment` (None: the designed one); None when the run had no such stage."""
        return next((r.facts for r in self.stages if r.stage == name and r.alignment == alignment), None)


def read_manifest(folder: Path) -> Manifest:
    """The manifest of an output folder, or an error saying why it cannot be read."""
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise SpmoptError(f"{folder}: not an spmopt output folder (no manifest.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpmoptError(f"{path}: cannot read the manifest: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SpmoptError(f"{path}: not a valid manifest: not JSON ({exc})") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        written = "an older spmopt (no schema version)" if version is None else f"manifest schema {version}"
        raise SpmoptError(
            f"{path}: written by another version of spmopt ({written}; this one reads schema {SCHEMA_VERSION}); "
            "rerun the scenario to rebuild the folder"
        )
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SpmoptError(f"{path}: not a valid manifest: {where}: {first['msg']}") from None
