"""The batch comparison: one row per scenario, read from each scenario's output folder, as CSV and HTML.

Figures come from the files a run wrote (manifest.json, territories.csv, quotas.csv, decision.csv,
comp_summary.csv), never from objects in memory, so a scenario skipped as unchanged compares exactly like one
run a minute ago, and every figure on the page can be checked against the CSV it came from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from spmopt.batch.runner import Outcome, counts, write_text_atomic
from spmopt.manifest import read_manifest
from spmopt.territory.design import TerritoryFacts

CSV_NAME = "comparison.csv"
HTML_NAME = "comparison.html"

# The best candidate's figures copied from decision.csv, under the same column names.
DECISION_COLUMNS = (
    "payout",
    "revenue",
    "margin_after_pay",
    "margin_after_pay_ci_low",
    "margin_after_pay_ci_high",
    "cost_of_sales_pct",
    "share_at_quota",
    "coaching_return_on_cost",
)
FRONT = ("scenario", "status", "territory_status", "territory_gap")
MIDDLE = (
    "moved_share_pct",
    "quota_total",
    "best_candidate",
    "best_alignment",
    "best_plan",
    "best_coaching",
    *DECISION_COLUMNS,
)
BACK = ("seconds", "batch_seconds", "report", "error", "file")


@dataclass(frozen=True, slots=True)
class Comparison:
    """The comparison table (one row per scenario, command-line order), the best scenario and the files."""

    table: pd.DataFrame
    best: str | None
    """Scenario with the highest margin after pay of its best candidate (None when none was simulated)."""
    csv: Path
    html: Path


# ---------------------------------------------------------------- reading one folder


def _manifest_figures(folder: Path) -> dict[str, object]:
    """Territory status and gap, moved share, and the stage seconds of the run that wrote the folder."""
    manifest = read_manifest(folder)
    territory = manifest.stage("territory")
    assert isinstance(territory, TerritoryFacts), f"{folder}: a run folder always records its territory stage"
    return {
        "territory_status": territory.status,
        "territory_gap": territory.gap,
        "moved_share_pct": territory.moved_share_pct,
        "seconds": round(sum(r.seconds for r in manifest.stages), 3),
    }


def _balance_figures(folder: Path) -> dict[str, object]:
    """Largest |deviation %| from target of each balance measure over the territories."""
    path = folder / "territories.csv"
    if not path.is_file():
        return {}
    territories = pd.read_csv(path, keep_default_na=False, na_values=[""])
    columns = [c for c in territories.columns if c.endswith("_dev_pct")]
    return {f"{c[: -len('_dev_pct')]}_max_abs_dev_pct": float(territories[c].abs().max()) for c in columns}


def _quota_figures(folder: Path) -> dict[str, object]:
    """The quota total: the sum of the territories' annual quotas (they add up exactly)."""
    path = folder / "quotas.csv"
    if not path.is_file():
        return {}
    return {"quota_total": int(pd.read_csv(path, keep_default_na=False, na_values=[""])["annual_quota"].sum())}


def _decision_figures(folder: Path) -> dict[str, object]:
    """The candidate decision.csv marks best (alignment x plan x coaching), with its figures."""
    path = folder / "decision.csv"
    if not path.is_file():
        return {}
    decision = pd.read_csv(path, keep_default_na=False, na_values=[""])
    best = decision[decision["best"].astype(str).str.lower() == "true"]
    if best.empty:
        return {}
    row = best.iloc[0]
    figures: dict[str, object] = {
        "best_candidate": row["candidate"],
        "best_alignment": row["alignment"],
        "best_plan": row["plan"],
        "best_coaching": str(row["coaching"]).lower() == "true",
    }
    figures.update({c: _number(row.get(c)) for c in DECISION_COLUMNS})
    return figures


def _comp_figures(folder: Path) -> dict[str, object]:
    """Without a simulation, each plan's actual cost on the transactions (comp_summary.csv keeps cents)."""
    path = folder / "comp_summary.csv"
    if not path.is_file():
        return {}
    summary = pd.read_csv(path, keep_default_na=False, na_values=[""])
    return {f"comp_cost_{plan}": cost / 100 for plan, cost in zip(summary["plan"], summary["total_cost"], strict=True)}


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def scenario_row(outcome: Outcome, out_dir: Path) -> dict[str, object]:
    """One scenario's row: its outcome in this batch and, when its folder is current, the folder's figures."""
    row: dict[str, object] = {
        "scenario": outcome.name,
        "status": outcome.status,
        "seconds": outcome.seconds,
        "batch_seconds": outcome.seconds,
        "report": None,
        "error": outcome.error,
        "file": outcome.file,
    }
    if outcome.status in ("done", "skipped"):
        folder = out_dir / outcome.name
        row["report"] = f"{outcome.name}/report.html"  # every run writes one; linked, not read
        row.update(_manifest_figures(folder))
        row.update(_balance_figures(folder))
        row.update(_quota_figures(folder))
        decision = _decision_figures(folder)
        row.update(decision if decision else _comp_figures(folder))
    return row


def comparison_table(outcomes: Sequence[Outcome], out_dir: Path) -> pd.DataFrame:
    """Every scenario's row, columns in a fixed order (measure and plan columns where they belong)."""
    rows = [scenario_row(o, out_dir) for o in outcomes]
    seen: list[str] = []
    for row in rows:
        seen += [k for k in row if k not in seen]
    balance = [c for c in seen if c.endswith("_max_abs_dev_pct")]
    comp = [c for c in seen if c.startswith("comp_cost_")]
    columns = [*FRONT, *balance, *MIDDLE, *comp, *BACK]
    table = pd.DataFrame(rows, columns=columns)
    table["quota_total"] = table["quota_total"].astype("Int64")  # whole currency units, blank when failed
    table.insert(2, "best", False)
    best = best_scenario(table)
    if best is not None:
        table.loc[table["scenario"] == best, "best"] = True
    return table


def best_scenario(table: pd.DataFrame) -> str | None:
    """The scenario whose best candidate has the highest simulated margin after pay."""
    ranked = table[table["status"].isin(["done", "skipped"])].dropna(subset=["margin_after_pay"])
    if ranked.empty:
        return None
    return str(ranked.loc[pd.to_numeric(ranked["margin_after_pay"]).idxmax(), "scenario"])


# ---------------------------------------------------------------- formatting for the page


def _blank(value: object) -> bool:
    """None, NaN or pandas' NA: a figure the scenario does not have."""
    return value is None or bool(pd.isna(value))


def fmt_money(value: object) -> str:
    return "" if _blank(value) else f"{float(value):,.0f}"


def fmt_millions(value: object) -> str:
    """Money in millions, for the narrow console table."""
    return "" if _blank(value) else f"{float(value) / 1e6:,.2f}M"


def fmt_pct(value: object, digits: int = 2) -> str:
    """A figure already in percent."""
    return "" if _blank(value) else f"{float(value):.{digits}f}%"


def fmt_share(value: object, digits: int = 1) -> str:
    """A fraction shown as a percentage."""
    return "" if _blank(value) else f"{100 * float(value):.{digits}f}%"


def fmt_ratio(value: object) -> str:
    return "" if _blank(value) else f"{float(value):,.1f}x"


def fmt_seconds(value: object) -> str:
    return "" if _blank(value) else f"{float(value):,.1f}"


def _territory_text(row: pd.Series) -> str:
    if _blank(row["territory_status"]):
        return ""
    gap = "" if _blank(row["territory_gap"]) else f", gap {fmt_share(row['territory_gap'], 2)}"
    return f"{row['territory_status']}{gap}"


def _margin_text(row: pd.Series) -> str:
    if _blank(row["margin_after_pay"]):
        return ""
    low, high = fmt_money(row["margin_after_pay_ci_low"]), fmt_money(row["margin_after_pay_ci_high"])
    return f"{fmt_money(row['margin_after_pay'])} [{low}, {high}]"


SUMMARY_HEADERS = ("scenario", "status", "territory", "quota", "best candidate", "margin after pay (95% CI)", "s")


def summary_cells(row: pd.Series) -> list[str]:
    """One scenario's cells in the console summary: the page's key figures, money in millions."""
    margin = ""
    if not _blank(row["margin_after_pay"]):
        low, high = (fmt_millions(row[f"margin_after_pay_ci_{e}"]).rstrip("M") for e in ("low", "high"))
        margin = f"{fmt_millions(row['margin_after_pay'])} ({low}-{high})"
    best = "" if _blank(row["best_candidate"]) else str(row["best_candidate"])
    name = ("* " if row["best"] else "") + str(row["scenario"])
    territory = _territory_text(row)
    return [
        name,
        str(row["status"]),
        territory,
        fmt_millions(row["quota_total"]),
        best,
        margin,
        fmt_seconds(row["seconds"]),
    ]


def page_columns(table: pd.DataFrame) -> list[tuple[str, str, object]]:
    """(header, css class, cell function of a row) for every column the page shows after the scenario name."""
    columns: list[tuple[str, str, object]] = [
        ("Status", "text", lambda r: r["status"]),
        ("Territory", "text", _territory_text),
    ]
    for c in (c for c in table.columns if c.endswith("_max_abs_dev_pct")):
        columns.append((f"max |dev| {c[: -len('_max_abs_dev_pct')]}", "num", lambda r, c=c: fmt_pct(r[c])))
    columns += [
        ("Moved", "num", lambda r: fmt_pct(r["moved_share_pct"])),
        ("Quota total", "num", lambda r: fmt_money(r["quota_total"])),
        ("Best candidate", "text", lambda r: "" if _blank(r["best_candidate"]) else str(r["best_candidate"])),
        ("Payout", "num", lambda r: fmt_money(r["payout"])),
        ("Revenue", "num", lambda r: fmt_money(r["revenue"])),
        ("Margin after pay [95% CI]", "num", _margin_text),
        ("Cost of sales", "num", lambda r: fmt_pct(r["cost_of_sales_pct"], 3)),
        ("At quota", "num", lambda r: fmt_share(r["share_at_quota"])),
        ("Coaching return", "num", lambda r: fmt_ratio(r["coaching_return_on_cost"])),
    ]
    for c in (c for c in table.columns if c.startswith("comp_cost_")):
        columns.append((f"cost {c[len('comp_cost_') :]}", "num", lambda r, c=c: fmt_money(r[c])))
    columns.append(("Seconds", "num", lambda r: fmt_seconds(r["seconds"])))
    return columns


def page_rows(table: pd.DataFrame) -> tuple[list[str], list[dict[str, object]]]:
    """Headers and formatted rows of the page's table."""
    columns = page_columns(table)
    rows = []
    for _, row in table.iterrows():
        rows.append(
            {
                "name": row["scenario"],
                "link": None if _blank(row["report"]) else row["report"],
                "best": bool(row["best"]),
                "cells": [{"cls": cls, "text": cell(row)} for _, cls, cell in columns],
            }
        )
    return ["Scenario", *(h for h, _, _ in columns)], rows


def margin_chart(table: pd.DataFrame) -> str | None:
    """Each scenario's best margin after pay as a point with its 95% CI; None when nothing was simulated.

    Points, not bars: scenarios of one plan differ by a few percent, which bars drawn from zero would hide, and
    an axis that does not start at zero would make bar lengths lie."""
    data = table.dropna(subset=["margin_after_pay"])
    if data.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    from spmopt.report.page import figure_svg

    means = pd.to_numeric(data["margin_after_pay"]).to_numpy() / 1e6
    low = means - pd.to_numeric(data["margin_after_pay_ci_low"]).to_numpy() / 1e6
    high = pd.to_numeric(data["margin_after_pay_ci_high"]).to_numpy() / 1e6 - means
    best = data["best"].to_numpy(dtype=bool)
    n = len(data)
    fig, ax = plt.subplots(figsize=(8, min(0.3 * n + 1.2, 8.0)))  # small whatever the batch size
    y = pd.Series(range(n)).to_numpy()
    for mask, colour in ((~best, "#1f6feb"), (best, "#1a7f37")):
        ax.errorbar(means[mask], y[mask], xerr=[low[mask], high[mask]], fmt="o", color=colour, capsize=3, markersize=5)
    ax.set_yticks(list(y), list(data["scenario"]), fontsize=9 if n <= 20 else 6)
    ax.set_ylim(n - 0.5, -0.5)  # command-line order, top to bottom
    ax.set_xlabel("margin after pay of the scenario's best candidate (millions a year, 95% CI)")
    ax.grid(axis="x", color="#d8dee6")
    ax.set_axisbelow(True)
    fig.tight_layout()
    return figure_svg(fig)


def _spmopt_version() -> str:
    try:
        return version("spmopt")
    except PackageNotFoundError:
        return "unknown"


def render_page(table: pd.DataFrame, outcomes: Sequence[Outcome], out_dir: Path) -> str:
    """comparison.html: summary, chart, table (best row highlighted) and failures, self-contained."""
    from spmopt.report.page import render

    headers, rows = page_rows(table)
    best_name = best_scenario(table)
    best = None
    if best_name is not None:
        row = table[table["scenario"] == best_name].iloc[0]
        best = {
            "name": best_name,
            "link": row["report"],
            "candidate": row["best_candidate"],
            "margin": fmt_money(row["margin_after_pay"]),
            "low": fmt_money(row["margin_after_pay_ci_low"]),
            "high": fmt_money(row["margin_after_pay_ci_high"]),
        }
    failures = [{"name": o.name, "file": o.file, "error": o.error or ""} for o in outcomes if o.status == "failed"]
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return render(
        "batch.html.j2",
        title=f"Batch comparison: {len(outcomes)} scenarios",
        version=_spmopt_version(),
        created=created,
        out_dir=str(out_dir),
        counts=counts(outcomes),
        best=best,
        chart=margin_chart(table),
        headers=headers,
        rows=rows,
        failures=failures,
    )


def write_comparison(outcomes: Sequence[Outcome], out_dir: Path) -> Comparison:
    """Write DIR/comparison.csv and DIR/comparison.html (each atomically) from the scenarios' folders."""
    table = comparison_table(outcomes, out_dir)
    csv_path, html_path = out_dir / CSV_NAME, out_dir / HTML_NAME
    write_text_atomic(csv_path, table.to_csv(index=False))
    write_text_atomic(html_path, render_page(table, outcomes, out_dir))
    return Comparison(table, best_scenario(table), csv_path, html_path)
