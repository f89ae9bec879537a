"""Saved workbench versions: each a folder `<scenario folder>/workbench/<version>/` that `spmopt run` accepts.

A version holds the alignment (`alignment.csv`), the locks (`locks.csv`), its assessment (`assessment.csv`), each
CRM account's new owner (`account_assignments.csv`, with `data.accounts`), with a hierarchy its districts as the
planner saw them (`hierarchy.csv`, `districts.csv`, `regions.csv`), a manifest, and `scenario.yaml`: an
overlay that `extends:` the original scenario, keeps the version's locks and adds its alignment as a candidate, so
`spmopt run workbench/<version>/scenario.yaml` re-designs around the locks and prices the version beside the
design. The folder is written whole or not at all, and only a folder spmopt wrote is ever replaced."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from spmopt.data.loader import read_candidate_alignment, read_moves
from spmopt.folder import check_output_folder
from spmopt.report.assessment import write_assessment_outputs
from spmopt.workbench.session import WORKBENCH_FOLDER, Session, version_folder


@dataclass(frozen=True, slots=True)
class Version:
    """A saved version, as listed for comparison."""

    name: str
    folder: Path
    alignment: pd.Series


def save_version(session: Session, name: str) -> Path:
    """Write version `name` of the session's alignment and locks; returns its folder."""
    folder = version_folder(session.scenario, name)
    check_output_folder(folder, [session.scenario, *session.config.input_paths()])
    assessment = session.assess()
    locks = {u: t for u, t in sorted(session.locks.items()) if not _named(session, u)}
    overlay = _overlay(session, name, folder)
    extra = {
        "locks.csv": lambda p: pd.DataFrame(
            {"unit_id": list(locks), "territory_id": list(locks.values())}, columns=["unit_id", "territory_id"]
        ).to_csv(p, index=False),
        "scenario.yaml": lambda p: p.write_text(overlay, encoding="utf-8"),
    }
    if session.hierarchy is not None and (rollup := session.roll_up()) is not None:
        table = session.hierarchy.table
        extra["hierarchy.csv"] = lambda p: table.to_csv(p, index=False)
        extra["districts.csv"] = lambda p: rollup.districts.to_csv(p, index=False)
        if rollup.regions is not None:
            regions = rollup.regions
            extra["regions.csv"] = lambda p: regions.to_csv(p, index=False)
    facts = assessment.facts.model_copy(update={"source": f"workbench version {name} of {session.scenario.name}"})
    write_assessment_outputs(
        dataclasses.replace(assessment, facts=facts),
        session.config,
        session.data,
        folder,
        session.scenario,
        [],
        list(session.data.warnings),
        0.0,
        extra=extra,
    )
    return folder


def list_versions(session: Session) -> list[Version]:
    """The versions saved beside the scenario whose alignment still fits its units, newest name last."""
    root = session.scenario.resolve().parent / WORKBENCH_FOLDER
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(
        p for p in root.iterdir() if (p / "alignment.csv").is_file() and (p / "scenario.yaml").is_file()
    ):
        try:
            alignment = read_candidate_alignment(folder / "alignment.csv", session.data, "version")[0]
        except Exception:  # noqa: BLE001 - a version of other data is simply not offered for comparison
            continue
        out.append(Version(folder.name, folder, alignment.astype(str)))
    return out


def version_locks(session: Session, version: Version) -> dict[str, str]:
    """The locks a version was saved with, read as locks files are (a file edited by hand into something else is
    refused naming its row)."""
    return read_moves(version.folder / "locks.csv", session.data, "version locks").to_dict()


def compare(session: Session, other: Version, base: Version | None = None) -> tuple[list[str], pd.DataFrame]:
    """Units whose territory differs between `base` (the alignment being edited when None) and `other`, and per
    territory the change of its units and of each balance measure (`base` minus `other`)."""
    here = session.alignment if base is None else base.alignment.reindex(session.alignment.index)
    there = other.alignment.reindex(here.index)
    moved = [u for u in session.units if here[u] != there[u]]
    rows = []
    units = session.data.units
    for t in session.territories:
        row: dict[str, object] = {"territory_id": t, "units": int((here == t).sum() - (there == t).sum())}
        for band in session.inputs.bands:
            row[band.measure] = float(
                units.loc[here == t, band.measure].sum() - units.loc[there == t, band.measure].sum()
            )
        rows.append(row)
    return moved, pd.DataFrame(rows)


def _named(session: Session, unit: str) -> bool:
    return session.data.named_units is not None and unit in session.data.named_units.index


def _overlay(session: Session, name: str, folder: Path) -> str:
    cfg = session.config
    base = os.path.relpath(session.scenario.resolve(), folder)
    overlay = {
        "extends": base,
        "name": f"{cfg.name}-{name}"[:64],
        "territory": {"locks": "locks.csv"},
        "alignments": {name: "alignment.csv"},
        "output": {"dir": f"../runs/{name}"},
    }
    header = (
        f"# Version {name} of {session.scenario.name}, saved by spmopt workbench: its locks, and its alignment as a\n"
        f"# candidate beside a design around those locks. Run: spmopt run {WORKBENCH_FOLDER}/{name}/scenario.yaml\n"
    )
    return header + yaml.safe_dump(overlay, sort_keys=False)
