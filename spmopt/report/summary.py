"""The executive summary: which candidate to adopt and why, what it costs, the attainment to expect with its
risk band, and what coaching returns, all read from decision.csv and the simulation files."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmopt.candidate import Candidate
from spmopt.decision import CRITERIA
from spmopt.report.numbers import Figure, cell, shown
from spmopt.report.run_files import RunFiles, SimulationFiles
from spmopt.sim.montecarlo import interval

CRITERION_TEXT = {
    "max_margin_after_pay": "the highest expected margin after incentive pay (and coaching cost)",
    "max_revenue": "the highest expected revenue",
    "min_cost_of_sales": "the lowest expected cost of sales",
    "max_share_at_quota": "the largest expected share of reps at quota",
}
METRIC_UNIT = {
    "margin_after_pay": "money",
    "revenue": "money",
    "cost_of_sales_pct": "percent",
    "share_at_quota": "fraction",
}


@dataclass(frozen=True, slots=True)
class Estimate:
    """A simulated mean with its 95% confidence interval."""

    mean: Figure
    low: Figure
    high: Figure


@dataclass(frozen=True, slots=True)
class Comparison:
    """The recommended candidate against one alternative on the decision metric."""

    label: str
    value: Estimate
    lead: Estimate
    """Recommended minus this one (sign-adjusted so ahead is positive), paired over the same simulated years."""
    separated: bool
    """True when the paired 95% interval of the lead excludes zero."""


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The decision table's best candidate and the evidence for it."""

    label: str
    alignment: str
    plan: str
    coaching: bool
    criterion: str
    criterion_text: str
    metric: str
    score: Estimate
    comparisons: tuple[Comparison, ...]
    payout: Estimate
    cost_of_sales: Estimate
    revenue: Estimate
    share_at_quota: Estimate
    attainment: Estimate | None
    attainment_band: tuple[Figure, Figure] | None
    """5th and 95th percentile over simulated years of the reps' mean attainment."""
    coaching_roi: Estimate | None
    coaching_net_gain: Estimate | None
    candidates: int
    replications: int


def candidate_label(alignment: str, plan: str, coaching: bool) -> str:
    """How a candidate is named to readers: 'designed alignment, target_incentive plan, with coaching'."""
    return f"{alignment} alignment, {plan} plan, {'with' if coaching else 'without'} coaching"


def _estimate(frame: pd.DataFrame, source: str, key: dict, column: str, unit: str, low: str, high: str) -> Estimate:
    return Estimate(
        cell(frame, source, key, column, unit),
        cell(frame, source, key, low, unit),
        cell(frame, source, key, high, unit),
    )


def _decision_estimate(decision: pd.DataFrame, candidate: str, column: str, unit: str) -> Estimate:
    key = {"candidate": candidate}
    return _estimate(decision, "decision.csv", key, column, unit, f"{column}_ci_low", f"{column}_ci_high")


def _summary_estimate(sim: SimulationFiles, plan: str, metric: str, unit: str) -> Estimate | None:
    rows = sim.summary[(sim.summary["plan"] == plan) & (sim.summary["metric"] == metric)]
    if rows.empty:
        return None
    source = f"{sim.folder}/summary.csv"
    return _estimate(sim.summary, source, {"plan": plan, "metric": metric}, "mean", unit, "ci_low", "ci_high")


def _paired_lead(run: RunFiles, best: pd.Series, other: pd.Series, metric: str, sign: int) -> Estimate:
    """The lead's mean and paired 95% CI: replication-by-replication differences of the two candidates, shifted
    by the constant the decision table adds per candidate (coaching cost), so the mean equals decision.csv's."""
    unit = METRIC_UNIT[metric]

    def years(row: pd.Series) -> pd.Series | None:
        sim = run.simulation.get(row["alignment"])
        if sim is None:
            return None
        rows = sim.replications[sim.replications["plan"] == Candidate(row["plan"], bool(row["coaching"])).variant]
        return rows.set_index("replication")[metric]

    gap = sign * (float(best[metric]) - float(other[metric]))
    a, b = years(best), years(other)
    if a is None or b is None:
        return Estimate(shown(gap, unit), shown(float("nan"), unit), shown(float("nan"), unit))
    diff = sign * (a - b.reindex(a.index)).dropna().to_numpy()
    _, _, low, high = interval(diff + (gap - diff.mean()))
    if metric == "margin_after_pay" and bool(best["coaching"]) != bool(other["coaching"]):
        coached = best if best["coaching"] else other
        low, high = _with_coaching_draws(run, coached, bool(best["coaching"]), gap, low, high)
    return Estimate(shown(gap, unit), shown(low, unit), shown(high, unit))


def _with_coaching_draws(
    run: RunFiles, coached: pd.Series, best_coached: bool, gap: float, low: float, high: float
) -> tuple[float, float]:
    """A lead between candidates that differ in coaching also carries the coaching gain's spread over the response's
    parameter draws (coaching_roi.csv net_gain percentiles), in quadrature: a paired interval averages it away."""
    sim = run.simulation.get(coached["alignment"])
    roi = None if sim is None else sim.coaching_roi
    if roi is None or "interval" not in roi.columns:
        return low, high
    row = roi[(roi["plan"] == coached["plan"]) & (roi["metric"] == "net_gain")]
    if row.empty or not str(row["interval"].iloc[0]).startswith("2.5-97.5"):
        return low, high
    g = row.iloc[0]
    down, up = g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]
    if not best_coached:  # the lead is minus the gain: its low side meets the gain's high side
        down, up = up, down
    return gap - float(np.hypot(gap - low, down)), gap + float(np.hypot(high - gap, up))


def _comparisons(run: RunFiles, best: pd.Series, metric: str) -> tuple[Comparison, ...]:
    """The runner-up, the same plan without coaching, and the same choice on each other alignment."""
    decision = run.decision
    _, pick = CRITERIA[best["criterion"]]
    sign = 1 if pick is max else -1
    others = decision[decision["candidate"] != best["candidate"]]
    wanted: list[pd.Series] = []
    if not others.empty:
        order = others[metric].to_numpy() * sign
        wanted.append(others.iloc[int(np.argmax(order))])
    same = (others["plan"] == best["plan"]) & (others["alignment"] == best["alignment"])
    wanted += [row for _, row in others[same & (others["coaching"] != best["coaching"])].iterrows()]
    other_alignment = (others["plan"] == best["plan"]) & (others["coaching"] == best["coaching"])
    wanted += [row for _, row in others[other_alignment & (others["alignment"] != best["alignment"])].iterrows()]
    out: list[Comparison] = []
    seen: set[str] = set()
    for row in wanted:
        if row["candidate"] in seen:
            continue
        seen.add(row["candidate"])
        value = _decision_estimate(decision, row["candidate"], metric, METRIC_UNIT[metric])
        lead = _paired_lead(run, best, row, metric, sign)
        label = candidate_label(row["alignment"], row["plan"], bool(row["coaching"]))
        out.append(Comparison(label, value, lead, bool(lead.low.value > 0)))
    return tuple(out)


def recommendation(run: RunFiles) -> Recommendation | None:
    """The decision table's best row and the evidence around it (None for runs without a simulation)."""
    decision = run.decision
    if decision is None or decision.empty or not decision["best"].any():
        return None
    best = decision[decision["best"]].iloc[0]
    metric, _ = CRITERIA[best["criterion"]]
    candidate, coaching = best["candidate"], bool(best["coaching"])
    score = _decision_estimate(decision, candidate, metric, METRIC_UNIT[metric])
    sim = run.simulation.get(best["alignment"])
    plan = Candidate(best["plan"], coaching).variant
    attainment = band = roi = net = None
    replications = 0
    if sim is not None:
        attainment = _summary_estimate(sim, plan, "attainment_mean", "fraction")
        years = sim.replications.loc[sim.replications["plan"] == plan, "attainment_mean"].to_numpy()
        replications = len(years)
        if len(years):
            band = (shown(np.quantile(years, 0.05), "fraction"), shown(np.quantile(years, 0.95), "fraction"))
        if coaching and sim.coaching_roi is not None:
            source = f"{sim.folder}/coaching_roi.csv"
            roi_key = {"plan": best["plan"], "metric": "return_on_cost"}
            roi = _estimate(sim.coaching_roi, source, roi_key, "mean", "ratio", "ci_low", "ci_high")
            net_key = {"plan": best["plan"], "metric": "net_gain"}
            net = _estimate(sim.coaching_roi, source, net_key, "mean", "money", "ci_low", "ci_high")
    return Recommendation(
        label=candidate_label(best["alignment"], best["plan"], coaching),
        alignment=str(best["alignment"]),
        plan=str(best["plan"]),
        coaching=coaching,
        criterion=str(best["criterion"]),
        criterion_text=CRITERION_TEXT[best["criterion"]],
        metric=metric,
        score=score,
        comparisons=_comparisons(run, best, metric),
        payout=_decision_estimate(decision, candidate, "payout", "money"),
        cost_of_sales=_decision_estimate(decision, candidate, "cost_of_sales_pct", "percent"),
        revenue=_decision_estimate(decision, candidate, "revenue", "money"),
        share_at_quota=_decision_estimate(decision, candidate, "share_at_quota", "fraction"),
        attainment=attainment,
        attainment_band=band,
        coaching_roi=roi,
        coaching_net_gain=net,
        candidates=len(decision),
        replications=replications,
    )
