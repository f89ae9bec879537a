"""Write a run's outputs atomically: everything lands in the output folder, or nothing does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml

from spmopt.candidate import alignment_folder
from spmopt.comp.run import CompResult, comp_facts, comp_warnings
from spmopt.comp.write import register_comp_files
from spmopt.config import ScenarioConfig
from spmopt.folder import atomic_write_folder, output_hashes
from spmopt.hashing import code_fingerprint, config_sha256, package_versions, sha256_file
from spmopt.manifest import BridgedEdge, Manifest, StageRecord
from spmopt.pipeline import ScenarioResult
from spmopt.report.map import draw_alignment_map, draw_groups_map
from spmopt.report.rollup import RollUp, reconcile, roll_up
from spmopt.territory.hierarchy import hierarchy_bands


def write_outputs(result: ScenarioResult, out_dir: Path, scenario_path: Path | None = None) -> list[Path]:
    """Write alignment.csv, territories.csv, map.png, quotas.csv, config.resolved.yaml and manifest.json,
    bridged_edges.csv when `territory.islands: bridge` added edges, account_assignments.csv with accounts, and
    hierarchy.csv, districts.csv, regions.csv and districts.png with a hierarchy (raising, before anything is
    written, when its quota roll-up does not reconcile)."""
    writers: dict[str, Callable[[Path], None]] = {
        "alignment.csv": lambda p: result.territory.alignment.to_csv(p, index=False),
        "territories.csv": lambda p: result.territory.territories.to_csv(p, index=False),
        "map.png": lambda p: draw_alignment_map(result.territory, result.data, _map_title(result), p),
        "config.resolved.yaml": lambda p: p.write_text(
            yaml.safe_dump(result.config.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
        ),
    }
    if result.accounts is not None:
        writers["account_assignments.csv"] = lambda p: result.accounts.to_csv(p, index=False)
    if result.data.bridged_edges:
        writers["bridged_edges.csv"] = lambda p: bridged_frame(result.data.bridged_edges).to_csv(p, index=False)
    if result.quota is not None:
        writers["quotas.csv"] = lambda p: result.quota.table.to_csv(p, index=False)
    if result.hierarchy is not None:
        _register_hierarchy_files(result, writers)
    if result.comp:
        register_comp_files(list(result.comp), writers)
    if result.simulation is not None:
        from spmopt.sim.write import register_sim_files

        register_sim_files(result.simulation, result.coaching, writers)
        if result.decision is not None:
            writers["decision.csv"] = lambda p: result.decision.to_csv(p, index=False)
    for candidate in result.candidates:
        folder = alignment_folder(candidate.name).rstrip("/")
        if candidate.quota is not None:
            writers[f"{folder}/quotas.csv"] = lambda p, c=candidate: c.quota.table.to_csv(p, index=False)
        writers[f"{folder}/territories.csv"] = lambda p, c=candidate: c.territories.to_csv(p, index=False)
        if candidate.accounts is not None:
            writers[f"{folder}/account_assignments.csv"] = lambda p, c=candidate: c.accounts.to_csv(p, index=False)
        if candidate.simulation is not None:
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


def hierarchy_rollup(result: ScenarioResult) -> RollUp:
    """The designed alignment's districts and regions rolled up, quotas reconciled to the company total."""
    hierarchy = result.hierarchy
    assert hierarchy is not None
    alignment = result.territory.alignment.set_index("unit_id")["territory_id"]
    quotas = result.quota.table if result.quota is not None else None
    data = result.data
    rollup = roll_up(hierarchy.table, alignment, data.units, data.adjacency, hierarchy_bands(result.config), quotas)
    if result.quota is not None:
        reconcile(hierarchy.table, result.quota.table, rollup, result.quota.facts.quota_total)
    return rollup


def _register_hierarchy_files(result: ScenarioResult, writers: dict[str, Callable[[Path], None]]) -> None:
    hierarchy = result.hierarchy
    assert hierarchy is not None
    rollup = hierarchy_rollup(result)  # before any writer runs: a roll-up that does not reconcile writes nothing
    writers["hierarchy.csv"] = lambda p: hierarchy.table.to_csv(p, index=False)
    writers["districts.csv"] = lambda p: rollup.districts.to_csv(p, index=False)
    if rollup.regions is not None:
        writers["regions.csv"] = lambda p, regions=rollup.regions: regions.to_csv(p, index=False)
    writers["districts.png"] = lambda p: _district_map(result, p)


def _district_map(result: ScenarioResult, path: Path) -> None:
    """The territory map coloured by district, each district's centre (mean of its units' locations) labelled."""
    assert result.hierarchy is not None
    table = result.hierarchy.table
    district_of = dict(zip(table["territory_id"], table["district_id"], strict=True))
    alignment = result.territory.alignment
    by_district = alignment.assign(territory_id=alignment["territory_id"].map(district_of))
    units = result.data.units
    centres = units[["x_km", "y_km"]].groupby(by_district.set_index("unit_id")["territory_id"]).mean()
    centres.insert(0, "rep_id", None)
    facts = result.hierarchy.facts
    title = f"{result.config.name}: {facts.territories} territories in {facts.districts} districts ({facts.source})"
    draw_groups_map(by_district, centres, result.data, title, path, centre_label="district (centre of its units)")


def _map_title(result: ScenarioResult) -> str:
    facts = result.territory_facts
    gap_text = f", gap {100 * facts.gap:.2f}%" if facts.gap is not None else ""
    return f"{result.config.name}: {facts.territories} territories ({facts.status}{gap_text})"


def _manifest(result: ScenarioResult, folder: Path, scenario_path: Path | None) -> dict[str, object]:
    manifest = scenario_manifest(
        "run",
        result.config,
        scenario_path,
        folder,
        inputs=result.data.input_hashes,
        stages=[r.model_copy(update={"seconds": round(r.seconds, 4)}) for r in result.stages],
        warnings=list(result.warnings),
        bridged_edges=[BridgedEdge(unit_a=a, unit_b=b, km=km) for a, b, km in result.data.bridged_edges],
    )
    return manifest.model_dump(mode="json")


def scenario_manifest(
    command: Literal["run", "simulate", "assess"],
    cfg: ScenarioConfig,
    scenario_path: Path | None,
    folder: Path,
    inputs: dict[str, str],
    stages: list[StageRecord],
    warnings: list[str],
    bridged_edges: list[BridgedEdge] | None = None,
) -> Manifest:
    """The manifest of a folder written for a scenario: what went in (scenario, resolved configuration, seed,
    versions, code, input hashes), the stages, and the hashes of what the folder holds so far."""
    return Manifest(
        command=command,
        scenario=cfg.name,
        scenario_file=str(scenario_path) if scenario_path else None,
        scenario_sha256=sha256_file(scenario_path) if scenario_path and scenario_path.is_file() else None,
        config_sha256=config_sha256(cfg),
        seed=cfg.seed,
        created_utc=_now(),
        versions=package_versions(),
        code_fingerprint=code_fingerprint(),
        inputs=inputs,
        bridged_edges=bridged_edges or [],
        stages=stages,
        warnings=warnings,
        outputs=output_hashes(folder),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def bridged_frame(edges: tuple[tuple[str, str, float], ...]) -> pd.DataFrame:
    """The adjacency edges spmopt added to connect islands, as the table a planner reviews."""
    return pd.DataFrame(list(edges), columns=["unit_a", "unit_b", "km"])


def write_simulation_outputs(
    sim,
    coaching,
    decision: pd.DataFrame,
    cfg,
    data,
    out_dir: Path,
    scenario_path: Path | None,
    extra_inputs: list[Path],
) -> list[Path]:
    """The simulation's files and its decision table alone (a simulation on an earlier run's alignment and
    quotas)."""
    from spmopt.sim.write import register_sim_files

    writers: dict[str, Callable[[Path], None]] = {
        "config.resolved.yaml": lambda p: p.write_text(
            yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
        ),
    }
    register_sim_files(sim, coaching, writers)
    writers["decision.csv"] = lambda p: decision.to_csv(p, index=False)

    def manifest(folder: Path) -> dict[str, object]:
        inputs = dict(data.input_hashes)
        inputs.update({str(p): sha256_file(p) for p in extra_inputs})
        stages = []
        if coaching is not None:
            stages.append(StageRecord(facts=coaching.facts(), seconds=0.0, warnings=list(coaching.warnings)))
        seconds = sim.facts.prepare_seconds + sim.facts.simulate_seconds
        stages.append(StageRecord(facts=sim.facts, seconds=seconds, warnings=list(sim.warnings)))
        warnings = list(dict.fromkeys([*sim.warnings, *(coaching.warnings if coaching is not None else ())]))
        manifest = scenario_manifest("simulate", cfg, scenario_path, folder, inputs, stages, warnings)
        return manifest.model_dump(mode="json")

    inputs = [*cfg.input_paths(), *extra_inputs, *([scenario_path] if scenario_path else [])]
    return atomic_write_folder(out_dir, writers, manifest, inputs=inputs)


def write_comp_outputs(results: list[CompResult], out_dir: Path, inputs: list[Path]) -> list[Path]:
    """`spmopt comp evaluate`'s folder: the plans' files, comp_summary.csv and manifest.json."""
    writers: dict[str, Callable[[Path], None]] = {}
    register_comp_files(results, writers)

    def manifest(folder: Path) -> dict[str, object]:
        stage = StageRecord(facts=comp_facts(results), seconds=0.0, warnings=comp_warnings(results))
        return Manifest(
            command="comp evaluate",
            created_utc=_now(),
            versions=package_versions(),
            inputs={str(p): sha256_file(p) for p in inputs},
            stages=[stage],
            warnings=comp_warnings(results),
            outputs=output_hashes(folder),
        ).model_dump(mode="json")

    return atomic_write_folder(out_dir, writers, manifest)
