"""`spmopt assess`'s folder: the per-territory assessment, the assessed alignment and a manifest, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from spmopt.config import ScenarioConfig
from spmopt.data.loader import PlanningData, territory_reps
from spmopt.folder import atomic_write_folder
from spmopt.hashing import sha256_file
from spmopt.manifest import StageRecord
from spmopt.report.outputs import scenario_manifest
from spmopt.territory.accounts import account_assignments
from spmopt.territory.assess import Assessment


def write_assessment_outputs(
    assessment: Assessment,
    cfg: ScenarioConfig,
    data: PlanningData,
    out_dir: Path,
    scenario_path: Path,
    files: list[Path],
    warnings: list[str],
    seconds: float,
    extra: dict[str, Callable[[Path], None]] | None = None,
) -> list[Path]:
    """assessment.csv (one row per territory), alignment.csv (the alignment assessed, moves applied),
    account_assignments.csv (with `data.accounts`) and manifest.json; `files` are the alignment and moves files
    read besides the scenario's inputs; `extra` adds files (name -> writer) to the same folder."""
    writers: dict[str, Callable[[Path], None]] = {
        "assessment.csv": lambda p: assessment.territories.to_csv(p, index=False),
        "alignment.csv": lambda p: assessment.alignment.to_csv(p, index=False),
    }
    if data.accounts is not None:
        rep_of = territory_reps(data, scenario_path, "the alignment")
        aligned = assessment.alignment.set_index("unit_id")["territory_id"]
        moves = account_assignments(data, aligned, rep_of)
        writers["account_assignments.csv"] = lambda p: moves.to_csv(p, index=False)
    writers.update(extra or {})

    def manifest(folder: Path) -> dict[str, object]:
        inputs = dict(data.input_hashes)
        inputs.update({str(p): sha256_file(p) for p in files})
        stage = StageRecord(facts=assessment.facts, seconds=round(seconds, 4), warnings=warnings)
        manifest = scenario_manifest("assess", cfg, scenario_path, folder, inputs, [stage], warnings)
        return manifest.model_dump(mode="json")

    return atomic_write_folder(out_dir, writers, manifest, inputs=[*cfg.input_paths(), *files, scenario_path])
