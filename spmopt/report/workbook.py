"""report.xlsx: the run's tables as one workbook for planners, a sheet per table, figures kept as numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spmopt.candidate import DESIGNED
from spmopt.report.leaderboard import recommended_leaderboard
from spmopt.report.run_files import RunFiles
from spmopt.report.summary import Recommendation

_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row


def workbook_sheets(run: RunFiles, rec: Recommendation | None) -> dict[str, pd.DataFrame]:
    """Sheet name -> table, in reading order (recommendation first, run facts last)."""
    sheets: dict[str, pd.DataFrame] = {}
    if rec is not None:
        sheets["Recommendation"] = _recommendation(rec)
    if run.decision is not None:
        sheets["Decision"] = run.decision
    sheets["Territories"] = run.territories
    sheets["Alignment"] = run.alignment
    if run.account_assignments is not None:
        sheets["Account assignments"] = run.account_assignments
    if run.bridged_edges is not None:
        sheets["Bridged edges"] = run.bridged_edges
    for name, quotas in run.quotas.items():
        sheets[_sheet("Quotas", name)] = quotas
    for label, frame in (("Hierarchy", run.hierarchy), ("Districts", run.districts), ("Regions", run.regions)):
        if frame is not None:
            sheets[label] = frame
    if run.comp_summary is not None:
        sheets["Comp summary"] = run.comp_summary
    for plan, payees in run.payees.items():
        sheets[_sheet("Payees", plan)] = payees
    for plan, curve in run.payout_curves.items():
        sheets[_sheet("Curve", plan)] = curve
    for name, sim in run.simulation.items():
        sheets[_sheet("Simulation", name)] = sim.summary
        sheets[_sheet("Differences", name)] = sim.differences
        if sim.coaching_roi is not None:
            sheets[_sheet("Coaching ROI", name)] = sim.coaching_roi
        if sim.coaching_sensitivity is not None:
            sheets[_sheet("Coaching sensitivity", name)] = sim.coaching_sensitivity
    for name, coaching in run.coaching.items():
        sheets[_sheet("Coaching", name)] = coaching
    if (board := recommended_leaderboard(run, rec)) is not None:
        sheets["Leaderboard"] = board
    sheets["Run facts"] = _facts(run)
    return sheets


def _sheet(kind: str, name: str) -> str:
    label = kind if name == DESIGNED else f"{kind} {name}"
    return label[:31]  # Excel's limit on sheet names


def _recommendation(rec: Recommendation) -> pd.DataFrame:
    rows = [("recommendation", rec.label, None, None), ("criterion", rec.criterion, None, None)]
    for name, est in (
        (rec.metric, rec.score),
        ("payout", rec.payout),
        ("revenue", rec.revenue),
        ("cost_of_sales_pct", rec.cost_of_sales),
        ("share_at_quota", rec.share_at_quota),
        ("attainment_mean", rec.attainment),
        ("coaching_return_on_cost", rec.coaching_roi),
        ("coaching_net_gain", rec.coaching_net_gain),
    ):
        if est is not None:
            rows.append((name, est.mean.value, est.low.value, est.high.value))
    for c in rec.comparisons:
        rows.append((f"lead over {c.label}", c.lead.mean.value, c.lead.low.value, c.lead.high.value))
    return pd.DataFrame(rows, columns=["item", "value", "ci_low", "ci_high"])


def _facts(run: RunFiles) -> pd.DataFrame:
    rows: list[tuple[str, str, object]] = []
    m = run.manifest
    for record in m.stages:
        name = record.stage if record.alignment is None else f"{record.stage} [{record.alignment}]"
        facts = record.facts.model_dump()
        for key in ("status", "objective", "bound", "gap"):
            if key in facts:
                rows.append((name, key, facts[key]))
        rows += [(name, "seconds", record.seconds), (name, "cached", record.cached)]
    for key in ("seed", "scenario_file", "scenario_sha256", "config_sha256", "code_fingerprint", "created_utc"):
        rows.append(("run", key, getattr(m, key)))
    rows += [("input sha256", name, digest) for name, digest in m.inputs.items()]
    rows += [("version", name, v) for name, v in m.versions.items()]
    return pd.DataFrame(rows, columns=["section", "item", "value"])


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """Write the sheets with frozen headers and readable column widths."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.head(_MAX_ROWS).to_excel(writer, sheet_name=name, index=False, freeze_panes=(1, 0))
            sheet = writer.sheets[name]
            for k, column in enumerate(frame.columns, start=1):
                width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
                sheet.column_dimensions[sheet.cell(row=1, column=k).column_letter].width = min(60, width + 2)
