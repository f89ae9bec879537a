"""Read a run's output folder back: the report, the workbook and batch comparisons are built from the files a
run wrote (never from objects in memory), so every figure they show is the figure in the CSVs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from spmopt.candidate import DESIGNED, alignment_folder
from spmopt.errors import SpmoptError
from spmopt.facts import Facts
from spmopt.manifest import Manifest, read_manifest

_MONEY_TEXT = {"payments_total", "credited_direct_total", "uncredited_total", "transactions_total"}


@dataclass(frozen=True, slots=True)
class SimulationFiles:
    """One alignment's simulated year: `simulation/*.csv` of the designed alignment or a candidate's."""

    folder: str
    """Path of the simulation folder relative to the run folder."""
    summary: pd.DataFrame
    differences: pd.DataFrame
    replications: pd.DataFrame
    histogram: pd.DataFrame
    seat_months: pd.DataFrame
    coaching_roi: pd.DataFrame | None
    coaching_sensitivity: pd.DataFrame | None = None


@dataclass(frozen=True, slots=True)
class RunFiles:
    """The tables and facts of one `spmopt run` output folder."""

    folder: Path
    manifest: Manifest
    config: dict
    territories: pd.DataFrame
    alignment: pd.DataFrame
    bridged_edges: pd.DataFrame | None = None
    """Edges added to connect islands (bridged_edges.csv), when the run added any."""
    account_assignments: pd.DataFrame | None = None
    """Each CRM account's old and new owner (account_assignments.csv), when the scenario reads accounts."""
    quotas: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Quota table per alignment: 'designed' (quotas.csv) and each candidate (alignments/<name>/quotas.csv)."""
    comp_summary: pd.DataFrame | None = None
    payout_curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    payees: dict[str, pd.DataFrame] = field(default_factory=dict)
    decision: pd.DataFrame | None = None
    coaching: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Coaching plan per alignment, keyed like `quotas`."""
    simulation: dict[str, SimulationFiles] = field(default_factory=dict)
    """Simulated year per alignment, keyed like `quotas`."""
    hierarchy: pd.DataFrame | None = None
    """Territory -> district -> region (hierarchy.csv), with a `hierarchy:` section."""
    districts: pd.DataFrame | None = None
    """Districts rolled up (districts.csv)."""
    regions: pd.DataFrame | None = None
    """Regions rolled up (regions.csv), when districts are grouped into regions."""

    def stage(self, name: str) -> Facts | None:
        """The facts of one stage on the designed alignment (None when the run had no such stage)."""
        return self.manifest.stage(name)


def _csv(path: Path, **kwargs: object) -> pd.DataFrame:
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""], **kwargs)
    except (OSError, ValueError) as exc:
        raise SpmoptError(f"{path}: cannot read run output: {exc}") from None


_ACCOUNT_TEXT = dict.fromkeys(
    ("account_id", "account_name", "old_owner", "new_owner", "territory_id", "unit_id", "reason", "note"), str
)
"""Account ids keep their leading zeros."""


_HIERARCHY_IDS = ("territory_id", "rep_id", "district_id", "region_id")
"""District and region ids are text, whatever they look like (`01` stays `01`)."""


def _optional(path: Path, **kwargs: object) -> pd.DataFrame | None:
    return _csv(path, **kwargs) if path.is_file() else None


def _simulation(folder: Path, relative: str) -> SimulationFiles | None:
    base = folder / relative
    if not (base / "summary.csv").is_file():
        return None
    return SimulationFiles(
        folder=relative,
        summary=_csv(base / "summary.csv"),
        differences=_csv(base / "differences.csv"),
        replications=_csv(base / "replications.csv"),
        histogram=_csv(base / "attainment_histogram.csv"),
        seat_months=_csv(base / "seat_months.csv"),
        coaching_roi=_optional(base / "coaching_roi.csv"),
        coaching_sensitivity=_optional(base / "coaching_sensitivity.csv"),
    )


def read_run(folder: Path) -> RunFiles:
    """Every table of a run folder that exists; a folder without manifest.json is not a run."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    config_path = folder / "config.resolved.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    ids = {"unit_id": str, "territory_id": str, "rep_id": str}
    quotas: dict[str, pd.DataFrame] = {}
    coaching: dict[str, pd.DataFrame] = {}
    simulation: dict[str, SimulationFiles] = {}
    for name in [DESIGNED, *(p.name for p in _candidates(folder))]:
        sub = alignment_folder(name)
        if (q := _optional(folder / f"{sub}quotas.csv", dtype={"territory_id": str, "rep_id": str})) is not None:
            quotas[name] = q
        if (c := _optional(folder / f"{sub}coaching.csv", dtype={"rep_id": str})) is not None:
            coaching[name] = c
        if (s := _simulation(folder, f"{sub}simulation")) is not None:
            simulation[name] = s
    plans = sorted(p.name for p in (folder / "comp").iterdir()) if (folder / "comp").is_dir() else []
    return RunFiles(
        folder=folder,
        manifest=manifest,
        config=config or {},
        territories=_csv(folder / "territories.csv", dtype={"territory_id": str, "rep_id": str}),
        alignment=_csv(folder / "alignment.csv", dtype=ids),
        bridged_edges=_optional(folder / "bridged_edges.csv", dtype={"unit_a": str, "unit_b": str}),
        account_assignments=_optional(folder / "account_assignments.csv", dtype=_ACCOUNT_TEXT),
        quotas=quotas,
        comp_summary=_optional(folder / "comp_summary.csv", dtype=dict.fromkeys(_MONEY_TEXT, str)),
        payout_curves={p: _csv(folder / "comp" / p / "payout_curve.csv") for p in plans},
        payees={p: _csv(folder / "comp" / p / "payees.csv", dtype={"payee_id": str}) for p in plans},
        decision=_optional(folder / "decision.csv"),
        coaching=coaching,
        simulation=simulation,
        hierarchy=_optional(folder / "hierarchy.csv", dtype=dict.fromkeys(_HIERARCHY_IDS, str)),
        districts=_optional(folder / "districts.csv", dtype=dict.fromkeys(_HIERARCHY_IDS[2:], str)),
        regions=_optional(folder / "regions.csv", dtype={"region_id": str}),
    )


def _candidates(folder: Path) -> list[Path]:
    root = folder / "alignments"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
