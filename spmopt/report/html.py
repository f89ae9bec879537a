"""Build report.html from a run folder: executive summary first, then the evidence, then the run facts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from spmopt.candidate import DESIGNED, Candidate, alignment_folder
from spmopt.config import DISTRICT_TOLERANCE
from spmopt.errors import SpmoptError
from spmopt.facts import SolveFacts
from spmopt.report import charts
from spmopt.report.leaderboard import recommended_leaderboard
from spmopt.report.map import map_warnings
from spmopt.report.numbers import Column, Table, table
from spmopt.report.page import png_data_uri, render
from spmopt.report.run_files import RunFiles, read_run
from spmopt.report.summary import METRIC_UNIT, Recommendation, recommendation
from spmopt.territory.design import TerritoryFacts

_METRIC_TITLE = {
    "margin_after_pay": "margin after incentive pay",
    "revenue": "revenue",
    "cost_of_sales_pct": "cost of sales (%)",
    "share_at_quota": "share of reps at quota",
}


_ROI_MONEY = ("revenue_uplift", "margin_uplift", "extra_pay", "coaching_cost", "net_gain")


@dataclass(frozen=True, slots=True)
class Section:
    """One titled part of the report: prose, charts and tables, in that order."""

    anchor: str
    title: str
    intro: str
    charts: tuple[tuple[str, str], ...] = ()
    """(SVG or <img> markup, caption)."""
    tables: tuple[tuple[str, Table], ...] = ()
    """(caption, table)."""


def build_report(run: RunFiles, rec: Recommendation | None) -> str:
    """The whole report.html for a run read back from its folder, as a string."""
    return _build(run, rec)[0]


def _build(run: RunFiles, rec: Recommendation | None) -> tuple[str, list[str]]:
    """The report and what it could not show as given (map layers, charts), for the run's warnings."""
    folder = run.folder
    sections = [
        s
        for s in (
            _decision_section(run, rec),
            _territory_section(run),
            _quota_section(run, rec),
            _hierarchy_section(run),
            _comp_section(run),
            _simulation_section(run, rec),
            _coaching_section(run, rec),
            _leaderboard_section(run, rec),
        )
        if s is not None
    ]
    problems = map_warnings(folder / "map.png") + map_warnings(folder / "districts.png") + _chart_problems(sections)
    html = render(
        "report.html.j2",
        title=f"{run.manifest.scenario or folder.name}: planning recommendation",
        version=run.manifest.versions.get("spmopt", ""),
        created=run.manifest.created_utc,
        description=run.config.get("description") or "",
        rec=rec,
        territory=_territory_facts(run),
        sections=sections,
        appendix=_appendix(run),
        # A report rebuilt from a finished folder finds these already in the manifest: show each once.
        warnings=list(dict.fromkeys([*run.manifest.warnings, *problems])),
        currency=_currency(run),
    )
    return html, problems


def _chart_problems(sections: list[Section]) -> list[str]:
    return [
        f"report: chart '{caption}' of section '{s.title}' not drawn ({svg.reason})"
        for s in sections
        for svg, caption in s.charts
        if isinstance(svg, charts.MissingChart)
    ]


def _currency(run: RunFiles) -> str:
    for path in (run.config.get("comp") or {}).get("plans", []):
        try:
            plan = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(plan, dict) and plan.get("currency"):
            return str(plan["currency"])
    return ""


def _tolerances(run: RunFiles) -> dict[str, float]:
    balance = (run.config.get("territory") or {}).get("balance") or []
    return {b["measure"]: float(b["tolerance"]) for b in balance}


def _territory_facts(run: RunFiles) -> dict[str, object]:
    stage = run.stage("territory")
    assert isinstance(stage, TerritoryFacts), "a run folder always records its territory stage"
    terr = run.territories
    deviation = {m: float(terr[f"{m}_dev_pct"].abs().max()) for m in _tolerances(run) if f"{m}_dev_pct" in terr}
    return {
        "territories": len(terr),
        "units": int(terr["units"].sum()),
        "status": stage.status,
        "gap": stage.gap,
        "deviation": deviation,
        "tolerance": {m: 100 * t for m, t in _tolerances(run).items()},
        "contiguous": bool(terr["contiguous"].all()) if "contiguous" in terr else None,
        "moved_share_pct": stage.moved_share_pct,
    }


def _decision_section(run: RunFiles, rec: Recommendation | None) -> Section | None:
    if rec is None or run.decision is None:
        return None
    metric = rec.metric
    columns = [
        Column("candidate", "candidate"),
        Column(metric, _METRIC_TITLE[metric], METRIC_UNIT[metric]),
        Column(f"{metric}_ci_low", "95% CI low", METRIC_UNIT[metric]),
        Column(f"{metric}_ci_high", "95% CI high", METRIC_UNIT[metric]),
        Column("payout", "incentive pay", "money"),
        Column("revenue", "revenue", "money"),
        Column("cost_of_sales_pct", "cost of sales", "percent"),
        Column("share_at_quota", "reps at quota", "fraction"),
        Column("coaching_return_on_cost", "coaching return on cost", "ratio"),
        Column("coaching_roi_ci_low", "return 2.5%", "ratio"),
        Column("coaching_roi_ci_high", "return 97.5%", "ratio"),
        Column("coaching_return_bound", "plausibility bound", "ratio"),
        Column("flags", "flags"),
    ]
    columns = list({c.name: c for c in columns}.values())
    ordered = run.decision.sort_values(metric, ascending=rec.criterion.startswith("min"))
    return Section(
        "decision",
        "Candidates compared",
        f"Every candidate was played through the same {rec.replications} simulated years (common random numbers), so "
        f"the differences between rows are not luck of the draw. The recommendation is the candidate with "
        f"{rec.criterion_text}.",
        charts=((charts.decision_chart(run.decision, metric, _METRIC_TITLE[metric]), _METRIC_TITLE[metric]),),
        tables=(("decision.csv", table(ordered, "decision.csv", ["candidate"], columns, highlight="best")),),
    )


def _territory_section(run: RunFiles) -> Section:
    terr = run.territories
    measures = [m for m in _tolerances(run) if f"{m}_dev_pct" in terr]
    columns = [Column("territory_id", "territory"), Column("rep_id", "rep"), Column("units", "units", "count")]
    for m in measures:
        columns += [Column(m, m, "count"), Column(f"{m}_dev_pct", f"{m} dev.", "percent")]
    columns += [Column("mean_distance_km", "mean km", "count"), Column("contiguous", "contiguous")]
    map_png = run.folder / "map.png"
    figures = []
    if map_png.is_file():
        image = f'<img alt="territory map" src="{png_data_uri(map_png.read_bytes())}">'
        figures.append((image, "Territories (colours) with their rep home bases (stars)."))
    figures.append((charts.balance_chart(terr, _tolerances(run)), "Balance: deviation of each territory from target."))
    facts = _territory_facts(run)
    gap = facts["gap"]
    gap_text = "n/a" if gap is None else f"{100 * gap:.2f}%"
    tables = [("territories.csv", table(terr, "territories.csv", ["territory_id"], columns))]
    bridges = run.bridged_edges
    bridge_text = ""
    if bridges is not None and len(bridges):
        bridge_text = (
            f" {len(bridges)} unit(s) or group(s) of units had no path to the rest of the adjacency graph, so "
            "spmopt linked each to its nearest unit (territory.islands: bridge); the added edges are listed below "
            "and drawn dashed on the map."
        )
        edge_columns = [Column("unit_a", "unit"), Column("unit_b", "linked to"), Column("km", "km", "decimal")]
        tables.append(("bridged_edges.csv", table(bridges, "bridged_edges.csv", ["unit_a", "unit_b"], edge_columns)))
    return Section(
        "territories",
        "Territories",
        f"{facts['territories']} territories over {facts['units']} units; solver status {facts['status']}, proven "
        f"gap {gap_text} (the alignment is at most that far from the best possible on compactness).{bridge_text}",
        charts=tuple(figures),
        tables=tuple(tables),
    )


def _quota_section(run: RunFiles, rec: Recommendation | None) -> Section | None:
    name = rec.alignment if rec is not None and rec.alignment in run.quotas else DESIGNED
    quotas = run.quotas.get(name)
    if quotas is None:
        return None
    source = f"{alignment_folder(name)}quotas.csv"
    columns = [
        Column("territory_id", "territory"),
        Column("rep_id", "rep"),
        Column("annual_quota", "annual quota", "money"),
        Column("last_year_sales", "last-year sales", "money"),
        Column("growth_pct", "growth", "percent"),
        Column("potential", "potential", "money"),
        Column("quota_potential_pct", "quota / potential", "percent"),
        Column("expected_sales", "expected sales", "money"),
        Column("attainment_probability", "chance of quota", "fraction"),
        Column("set_by", "set by"),
    ]
    columns = [c for c in columns if c.name in quotas.columns]
    total = int(quotas["annual_quota"].sum())
    return Section(
        "quotas",
        f"Quotas ({name} alignment)",
        f"Quotas add up to {total:,}. Each territory's quota follows its fair share of potential and history within "
        "the growth bounds; 'set by' says which rule decided it.",
        charts=((charts.quota_chart(quotas), "Annual quota beside last-year and expected sales."),),
        tables=((source, table(quotas, source, ["territory_id"], columns)),),
    )


def _hierarchy_section(run: RunFiles) -> Section | None:
    """Districts and regions rolled up from the territories (districts.csv, regions.csv)."""
    if run.districts is None:
        return None
    hierarchy = (run.config.get("hierarchy") or {}) if isinstance(run.config, dict) else {}
    bands = hierarchy.get("balance")
    if bands is None:  # the default: the territory measures at DISTRICT_TOLERANCE
        bands = [{**b, "tolerance": DISTRICT_TOLERANCE} for b in (run.config.get("territory") or {}).get("balance", [])]
    tolerance = {b["measure"]: float(b["tolerance"]) for b in bands}
    measures = [c.removesuffix("_dev_pct") for c in run.districts.columns if c.endswith("_dev_pct")]

    def columns(key: str, title: str, extra: list[Column]) -> list[Column]:
        cols = [
            Column(key, title),
            *extra,
            Column("territories", "territories", "count"),
            Column("units", "units", "count"),
        ]
        for m in measures:
            cols += [Column(m, m, "count"), Column(f"{m}_dev_pct", f"{m} dev.", "percent")]
        return [*cols, Column("contiguous", "contiguous"), Column("annual_quota", "quota", "money")]

    tables = [
        (
            "districts.csv",
            table(
                run.districts,
                "districts.csv",
                ["district_id"],
                columns("district_id", "district", [Column("region_id", "region")]),
            ),
        )
    ]
    if run.regions is not None:
        region_columns = columns("region_id", "region", [Column("districts", "districts", "count")])
        tables.append(("regions.csv", table(run.regions, "regions.csv", ["region_id"], region_columns)))
    figures = []
    district_png = run.folder / "districts.png"
    if district_png.is_file():
        image = f'<img alt="district map" src="{png_data_uri(district_png.read_bytes())}">'
        figures.append((image, "Territories coloured by district, each district's centre labelled."))
    stage = run.stage("hierarchy")
    source = getattr(stage, "source", "designed")
    how = (
        "read from the planner's hierarchy file"
        if source == "file"
        else "designed by the territory engine, each territory one unit, balanced and compact"
    )
    bands_text = ", ".join(f"{m} ±{100 * t:g}%" for m, t in tolerance.items())
    regions = f" in {len(run.regions)} regions" if run.regions is not None else ""
    quota_text = (
        " Quotas roll up exactly: each district's quota is the sum of its territories', each region's of its "
        "districts', and the top level's the company total."
        if "annual_quota" in run.districts.columns
        else ""
    )
    return Section(
        "hierarchy",
        "Districts and regions",
        f"{int(run.districts['territories'].sum())} territories in {len(run.districts)} districts{regions}, {how}"
        f"{f' ({bands_text} of an equal share)' if bands_text and source != 'file' else ''}; deviations are from an "
        f"equal share of each measure.{quota_text}",
        charts=tuple(figures),
        tables=tuple(tables),
    )


def _comp_section(run: RunFiles) -> Section | None:
    if run.comp_summary is None or not run.payout_curves:
        return None
    summary = run.comp_summary.copy()
    for column in ("total_cost", "target_cost", "revenue", "pay_p10", "pay_p50", "pay_p90"):
        summary[column] = summary[column] / 100  # the summary's money is in cents
    columns = [
        Column("plan", "plan"),
        Column("payees", "payees", "count"),
        Column("total_cost", "cost", "money"),
        Column("cost_of_sales_pct", "cost of sales", "percent"),
        Column("cost_vs_target_pct", "cost vs target", "percent"),
        Column("pay_p10", "pay p10", "money"),
        Column("pay_p50", "pay p50", "money"),
        Column("pay_p90", "pay p90", "money"),
        Column("pay_for_performance", "pay-for-performance", "decimal"),
        Column("leverage", "leverage", "decimal"),
        Column("reconciled", "reconciled"),
    ]
    return Section(
        "comp",
        "Compensation plans",
        "Each plan paid exactly (to the cent) on the plan-year transactions, and its payout curve for a rep at target. "
        "Pay-for-performance is the rank correlation of pay with attainment; leverage is 90th-percentile pay over "
        "target incentive.",
        charts=((charts.payout_curves_chart(run.payout_curves), "Payout curve and marginal pay rate per plan."),),
        tables=(("comp_summary.csv (money in currency units)", table(summary, None, [], columns)),),
    )


def _simulation_section(run: RunFiles, rec: Recommendation | None) -> Section | None:
    name = rec.alignment if rec is not None else DESIGNED
    sim = run.simulation.get(name)
    if sim is None:
        return None
    plans = list(dict.fromkeys(sim.summary["plan"]))
    focus = [Candidate(rec.plan, rec.coaching).variant] if rec is not None else plans[:1]
    focus += [p for p in plans if p not in focus][:1]
    quotas = run.quotas.get(name)
    monthly = None
    if quotas is not None:
        month_columns = sorted(c for c in quotas.columns if c.startswith("quota_m"))
        monthly = quotas[month_columns].sum().to_numpy(dtype=float) if month_columns else None
    metrics = ["revenue", "payout", "margin_after_pay", "cost_of_sales_pct", "share_at_quota", "attainment_mean"]
    summary = sim.summary[sim.summary["metric"].isin(metrics)]
    rows = []
    for plan in plans:
        row = {"plan": plan}
        for metric in metrics:
            hit = summary[(summary["plan"] == plan) & (summary["metric"] == metric)]
            if not hit.empty:
                row[metric] = hit["mean"].iloc[0]
        rows.append(row)
    means = pd.DataFrame(rows)
    columns = [
        Column("plan", "plan"),
        Column("revenue", "revenue", "money"),
        Column("payout", "incentive pay", "money"),
        Column("margin_after_pay", "margin after pay", "money"),
        Column("cost_of_sales_pct", "cost of sales", "percent"),
        Column("share_at_quota", "reps at quota", "fraction"),
        Column("attainment_mean", "mean attainment", "fraction"),
    ]
    return Section(
        "simulation",
        f"The simulated year ({name} alignment)",
        f"{sim.replications['replication'].nunique()} seeded simulated years per plan: reps' effort answers each "
        "plan's marginal pay, deals move through the pipeline, reps may leave. Bands show the spread over simulated "
        "years, not estimation error.",
        charts=(
            (charts.fan_chart(sim.seat_months, focus, monthly), "Cumulative revenue through the year."),
            (charts.histogram_chart(sim.histogram, focus), "Reps' annual attainment, with 95% CIs."),
        ),
        tables=((f"{sim.folder}/summary.csv (means)", table(means, None, [], columns)),),
    )


def _coaching_section(run: RunFiles, rec: Recommendation | None) -> Section | None:
    name = rec.alignment if rec is not None and rec.alignment in run.coaching else DESIGNED
    coaching = run.coaching.get(name)
    if coaching is None:
        return None
    source = f"{alignment_folder(name)}coaching.csv"
    columns = [
        Column("rep_id", "rep"),
        Column("manager_id", "manager"),
        Column("hours_per_month", "hours / month", "decimal"),
        Column("expected_uplift_pct", "uplift", "percent"),
        Column("expected_uplift", "uplift a year", "money"),
        Column("uplift_ci_low", "95% CI low", "money"),
        Column("uplift_ci_high", "95% CI high", "money"),
        Column("why", "why"),
    ]
    tables = [(source, table(coaching, source, ["rep_id"], columns))]
    sim = run.simulation.get(name)
    if sim is not None and sim.coaching_roi is not None:
        roi = sim.coaching_roi.pivot(index="plan", columns="metric", values="mean").reset_index()
        roi_columns = [Column("plan", "plan")]
        roi_columns += [Column(m, m.replace("_", " "), "money") for m in _ROI_MONEY if m in roi.columns]
        roi_columns.append(Column("return_on_cost", "return on cost", "ratio"))
        tables.append((f"{sim.folder}/coaching_roi.csv (means)", table(roi, None, [], roi_columns)))
    if sim is not None and sim.coaching_sensitivity is not None:
        source = f"{sim.folder}/coaching_sensitivity.csv"
        cols = [
            Column("plan", "plan"),
            Column("parameters", "parameters"),
            Column("max_uplift", "u_max", "decimal"),
            Column("half_stock", "K (h)", "decimal"),
            Column("decay", "decay", "decimal"),
            Column("return_on_cost", "return on cost", "ratio"),
            Column("return_ci_low", "low", "ratio"),
            Column("return_ci_high", "high", "ratio"),
            Column("revenue_per_hour", "revenue per coached hour", "money"),
            Column("return_bound", "plausibility bound", "ratio"),
        ]
        tables.append((source, table(sim.coaching_sensitivity, source, ["plan", "parameters"], cols)))
    return Section(
        "coaching",
        "Coaching plan",
        f"Managers' hours go where the fitted response says they add most. {coaching['hours_per_month'].sum():g} "
        "hours a month in all; the return is measured by replaying every simulated year with and without coaching, "
        "each year under its own draw of the response's parameters (so the range covers the estimate's "
        "uncertainty), and is shown again at the fit and at the prior's low, central and high values; an hour "
        "costs the manager's wage plus the opportunity cost of their time.",
        charts=((charts.coaching_chart(coaching), "Hours per rep and the expected yearly sales uplift."),),
        tables=tuple(tables),
    )


def _leaderboard_section(run: RunFiles, rec: Recommendation | None) -> Section | None:
    board = recommended_leaderboard(run, rec)
    if board is None:
        return None
    columns = [
        Column("rank", "#", "count"),
        Column("rep_id", "rep"),
        Column("mean_attainment", "expected attainment", "fraction"),
        Column("attainment_p10", "p10", "fraction"),
        Column("attainment_p90", "p90", "fraction"),
        Column("chance_at_quota", "chance of quota", "fraction"),
        Column("expected_revenue", "expected revenue", "money"),
        Column("expected_pay", "expected pay", "money"),
    ]
    if "actual_attainment" in board:
        columns += [
            Column("actual_attainment", "actual attainment", "fraction"),
            Column("actual_pay", "actual pay", "money"),
        ]
    return Section(
        "leaderboard",
        "Rep leaderboard",
        f"Reps ranked by expected attainment under the recommendation ({rec.label}), with the 10th-90th percentile "
        "over simulated years; 'actual' columns are what the plan paid on the plan-year transactions.",
        tables=(("computed from seat_months.csv, quotas.csv and payees.csv", table(board, None, [], columns)),),
    )


def _appendix(run: RunFiles) -> dict[str, object]:
    m = run.manifest
    stages = []
    for r in m.stages:
        f = r.facts
        solve = f if isinstance(f, SolveFacts) else None
        gap = solve.gap if solve is not None else getattr(f, "gap", None)
        stages.append(
            {
                "stage": r.stage if r.alignment is None else f"{r.stage} [{r.alignment}]",
                "status": getattr(f, "status", ""),
                "objective": _round(solve.objective if solve is not None else None),
                "bound": _round(solve.bound if solve is not None else None),
                "gap": "" if gap is None else f"{100 * gap:.3f}%",
                "seconds": f"{r.seconds:.2f}",
                "cached": "yes" if r.cached else "",
            }
        )
    return {
        "stages": stages,
        "seed": m.seed,
        "created": m.created_utc,
        "scenario_file": m.scenario_file,
        "scenario_sha256": m.scenario_sha256,
        "config_sha256": m.config_sha256,
        "code_fingerprint": m.code_fingerprint,
        "versions": m.versions,
        "inputs": {Path(k).name: v for k, v in m.inputs.items()},
    }


def _round(value: object) -> str:
    return f"{value:,.2f}" if isinstance(value, int | float) and np.isfinite(value) else ""


def write_report_files(folder: Path) -> list[str]:
    """report.html, report.xlsx and report.pdf in a run folder; returns warnings (map layers or charts that could
    not be drawn, a PDF that could not be made)."""
    from spmopt.report.pdf import write_pdf
    from spmopt.report.workbook import workbook_sheets, write_workbook

    run = read_run(folder)
    rec = recommendation(run)
    html, problems = _build(run, rec)
    (folder / "report.html").write_text(html, encoding="utf-8")
    write_workbook(workbook_sheets(run, rec), folder / "report.xlsx")
    try:
        write_pdf(html, folder / "report.pdf")
    except SpmoptError as exc:
        problems.append(str(exc))
    return problems
