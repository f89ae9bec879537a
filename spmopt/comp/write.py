"""Write comp-plan evaluations atomically: per-plan folders, a KPI summary across plans, and a manifest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from spmopt.comp.run import CompResult, write_comp_folder
from spmopt.data.loader import sha256_file
from spmopt.report.outputs import atomic_write_folder, output_hashes, package_versions


def comp_summary(results: list[CompResult]) -> pd.DataFrame:
    """One row of KPIs per plan."""
    return pd.DataFrame([{"plan": r.plan.name, **r.kpis.as_dict(), **r.reconciliation} for r in results])


def register_comp_files(results: list[CompResult], writers: dict[str, Callable[[Path], None]]) -> None:
    """Add every plan's files under comp/<plan>/ and comp_summary.csv to a folder writer."""
    for r in results:
        write_comp_folder(r, writers, prefix=f"comp/{r.plan.name}/")
    writers["comp_summary.csv"] = lambda p: comp_summary(results).to_csv(p, index=False)


def comp_facts(results: list[CompResult]) -> dict[str, object]:
    """Manifest facts of a comp evaluation: per plan, its KPIs, reconciliation and credit exceptions."""
    return {
        r.plan.name: {
            "kpis": r.kpis.as_dict(),
            "reconciliation": r.reconciliation,
            "uncredited_transactions": len(r.ledger.uncredited),
            "credit_lines": len(r.ledger.lines),
        }
        for r in results
    }


def write_comp_outputs(results: list[CompResult], out_dir: Path, inputs: list[Path]) -> list[Path]:
    """`spmopt comp evaluate`'s folder: the plans' files, comp_summary.csv and manifest.json."""
    writers: dict[str, Callable[[Path], None]] = {}
    register_comp_files(results, writers)

    def manifest(folder: Path) -> dict[str, object]:
        return {
            "command": "comp evaluate",
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": package_versions(),
            "inputs": {str(p): sha256_file(p) for p in inputs},
            "plans": comp_facts(results),
            "outputs": output_hashes(folder),
        }

    return atomic_write_folder(out_dir, writers, manifest)
