"""`spmopt assess`'s folder: the per-territory assessment, the assessed alignment and a manifest, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from spmopt.config import ScenarioConfig
from spmopt.data.loader import PlanningData
from spmopt.folder import atomic_write_folder, output_hashes
from spmopt.hashing import code_fingerprint, config_sha256, package_versions, sha256_file
from spmopt.manifest import Manifest, StageRecord
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
) -> list[Path]:
    """assessment.csv (one row per territory), alignment.csv (the alignment assessed, moves applied) and
    manifest.json; `files` are the alignment and moves files read besides the scenario's inputs."""
    writers: dict[str, Callable[[Path], None]] = {
        "assessment.csv": lambda p: assessment.territories.to_csv(p, index=False),
        "alignment.csv": lambda p: assessment.alignment.to_csv(p, index=False),
    }

    def manifest(folder: Path) -> dict[str, object]:
        inputs = dict(data.input_hashes)
        inputs.update({str(p): sha256_file(p) for p in files})
        stage = StageRecord(facts=assessment.facts, seconds=round(seconds, 4), warnings=warnings)
        return Manifest(
            command="assess",
            scenario=cfg.name,
            scenario_file=str(scenario_path),
            scenario_sha256=sha256_file(scenario_path) if scenario_path.is_file() else None,
            config_sha256=config_sha256(cfg),
            seed=cfg.seed,
            created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
            versions=package_versions(),
            code_fingerprint=code_fingerprint(),
            inputs=inputs,
            stages=[stage],
            warnings=warnings,
            outputs=output_hashes(folder),
        ).model_dump(mode="json")

    return atomic_write_folder(out_dir, writers, manifest, inputs=[*cfg.input_paths(), *files, scenario_path])
