"""Write a run's outputs atomically: everything lands in the output folder, or nothing does."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

from spmopt.folder import atomic_write_folder, output_hashes
from spmopt.hashing import code_fingerprint, package_versions, sha256_file
from spmopt.pipeline import ScenarioResult
from spmopt.report.map import draw_alignment_map


def write_outputs(result: ScenarioResult, out_dir: Path, scenario_path: Path | None = None) -> list[Path]:
    """Write alignment.csv, territories.csv, map.png, quotas.csv, config.resolved.yaml and manifest.json, and
    bridged_edges.csv when `territory.islands: bridge` added edges."""
    writers: dict[str, Callable[[Path], None]] = {
        "alignment.csv": lambda p: result.territory.alignment.to_csv(p, index=False),
        "territories.csv": lambda p: result.territory.territories.to_csv(p, index=False),
        "map.png": lambda p: draw_alignment_map(result.territory, result.data, _map_title(result), p),
        "config.resolved.yaml": lambda p: p.write_text(
            yaml.safe_dump(result.config.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
        ),
    }
    if result.data.bridged_edges:
        writers["bridged_edges.csv"] = lambda p: bridged_frame(result.data.bridged_edges).to_csv(p, index=False)
    if result.quota is not None:
        writers["quotas.csv"] = lambda p: result.quota.table.to_csv(p, index=False)
    if result.comp:
        from spmopt.comp.write import register_comp_files

        register_comp_files(list(result.comp), writers)
    if result.simulation is not None:
        from spmopt.sim.write import register_sim_files

        register_sim_files(result.simulation, result.coaching, writers)
        if result.decision is not None:
            writers["decision.csv"] = lambda p: result.decision.to_csv(p, index=False)
    for candidate in result.candidates:
        folder = f"alignments/{candidate.name}"
        writers[f"{folder}/quotas.csv"] = lambda p, c=candidate: c.quota.table.to_csv(p, index=False)
        sub: dict[str, Callable[[Path], None]] = {}
        from spmopt.sim.write import register_sim_files

        register_sim_files(candidate.simulation, candidate.coaching, sub)
        writers.update({f"{folder}/{name}": write for name, write in sub.items()})
    from spmopt.report.html import write_report_files

    inputs = [*result.config.input_paths(), *([scenario_path] if scenario_path else [])]
    return atomic_write_folder(
        out_dir,
        writers,
        lambda folder: _manifest(result, folder, scenario_path),
        finish=write_report_files,
        inputs=inputs,
    )


def _map_title(result: ScenarioResult) -> str:
    details = next(s.details for s in result.stages if s.name == "territory")
    gap = details.get("gap")
    gap_text = f", gap {100 * gap:.2f}%" if isinstance(gap, float) else ""
    return f"{result.config.name}: {details['territories']} territories ({details['status']}{gap_text})"


def _manifest(result: ScenarioResult, folder: Path, scenario_path: Path | None) -> dict[str, object]:
    cfg = result.config
    return {
        "scenario": cfg.name,
        "scenario_file": str(scenario_path) if scenario_path else None,
        "scenario_sha256": sha256_file(scenario_path) if scenario_path and scenario_path.is_file() else None,
        "config_sha256": _config_hash(result),
        "seed": cfg.seed,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "code_fingerprint": code_fingerprint(),
        "inputs": result.data.input_hashes,
        "bridged_edges": bridged_frame(result.data.bridged_edges).to_dict(orient="records"),
        "stages": [{"stage": s.name, "seconds": round(s.seconds, 4), **s.details} for s in result.stages],
        "warnings": list(result.warnings),
        "outputs": output_hashes(folder),
    }


def bridged_frame(edges: tuple[tuple[str, str, float], ...]) -> pd.DataFrame:
    """The adjacency edges spmopt added to connect islands, as the table a planner reviews."""
    return pd.DataFrame(list(edges), columns=["unit_a", "unit_b", "km"])


def _config_hash(result: ScenarioResult) -> str:
    import hashlib

    text = json.dumps(result.config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def write_simulation_outputs(
    sim, coaching, cfg, data, out_dir: Path, scenario_path: Path | None, extra_inputs: list[Path]
) -> list[Path]:
    """The simulation's files alone (a simulation on an earlier run's alignment and quotas)."""
    from spmopt.sim.write import register_sim_files, sim_facts

    writers: dict[str, Callable[[Path], None]] = {
        "config.resolved.yaml": lambda p: p.write_text(
            yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
        ),
    }
    register_sim_files(sim, coaching, writers)

    def manifest(folder: Path) -> dict[str, object]:
        inputs = dict(data.input_hashes)
        inputs.update({str(p): sha256_file(p) for p in extra_inputs})
        return {
            "scenario": cfg.name,
            "scenario_file": str(scenario_path) if scenario_path else None,
            "seed": cfg.seed,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": package_versions(),
            "inputs": inputs,
            "stages": ([{"stage": "coaching", **coaching.facts()}] if coaching is not None else [])
            + [{"stage": "simulation", **sim_facts(sim)}],
            "warnings": list(sim.warnings),
            "outputs": output_hashes(folder),
        }

    inputs = [*cfg.input_paths(), *extra_inputs, *([scenario_path] if scenario_path else [])]
    return atomic_write_folder(out_dir, writers, manifest, inputs=inputs)
