"""Monte-Carlo summaries: per-replication totals, means with 95% confidence intervals, paired differences
between plans (common random numbers), the attainment histogram and the tidy seat x month x replication table.

Intervals are Student-t: mean +- t(0.975, n - 1) s / sqrt(n) over replications. A paired difference is taken
replication by replication (both plans saw the same draws), so its interval is usually far narrower than the
two plans' intervals suggest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from spmopt.sim.replication import ATTAINMENT_BINS, PlanYear

METRICS = (
    "revenue",
    "margin",
    "payout",
    "margin_after_pay",
    "cost_of_sales_pct",
    "share_at_quota",
    "attainment_mean",
    "effort_mean",
    "deals_pulled_in",
    "deals_pushed_out",
    "pushed_past_year_end",
    "leavers",
)


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """All replications of all plans, summarised."""

    plans: tuple[str, ...]
    seats: tuple[str, ...]
    reps: tuple[str, ...]
    replications: pd.DataFrame
    """One row per plan x replication: the totals of `PlanYear.totals`."""
    summary: pd.DataFrame
    """plan, metric, mean, sd, ci_low, ci_high, n."""
    differences: pd.DataFrame
    """plan, baseline, metric, mean, ci_low, ci_high, n: plan minus baseline, paired by replication."""
    histogram: pd.DataFrame
    """plan, attainment_from, attainment_to, share (mean over replications), ci_low, ci_high."""
    seat_months: pd.DataFrame
    """plan, replication, territory_id, rep_id, month and the month's revenue, payment, effort, ..."""
    facts: dict[str, object] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    coaching_roi: pd.DataFrame = field(default_factory=pd.DataFrame)
    """plan, metric, mean, sd, ci_low, ci_high, n: each plan with coaching minus without, paired."""
    decision: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per candidate (plan, with or without coaching) with CIs and the best one marked."""

    def metric(self, plan: str, name: str) -> dict[str, float]:
        row = self.summary[(self.summary["plan"] == plan) & (self.summary["metric"] == name)].iloc[0]
        return {k: float(row[k]) for k in ("mean", "ci_low", "ci_high", "sd")}


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, sd, low, high) of the mean with a Student-t interval; NaNs are dropped."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (float("nan"),) * 4
    mean = float(v.mean())
    if len(v) < 2:
        return mean, float("nan"), float("nan"), float("nan")
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1)) * sd / np.sqrt(len(v))
    return mean, sd, mean - half, mean + half


def summarise(
    plans: list[str], seats: tuple[str, ...], reps: tuple[str, ...], years: list[list[PlanYear]], keep_months: bool
) -> SimulationResult:
    """`years[r][p]` is replication r under plan p."""
    rows = []
    for r, outcome in enumerate(years):
        for name, year in zip(plans, outcome, strict=True):
            rows.append({"plan": name, "replication": r, **year.totals()})
    table = pd.DataFrame(rows)
    summary = []
    for name in plans:
        part = table[table["plan"] == name]
        for metric in METRICS:
            mean, sd, low, high = interval(part[metric].to_numpy())
            summary.append(
                {"plan": name, "metric": metric, "mean": mean, "sd": sd, "ci_low": low, "ci_high": high, "n": len(part)}
            )
    diffs = []
    base = table[table["plan"] == plans[0]].set_index("replication")
    for name in plans[1:]:
        other = table[table["plan"] == name].set_index("replication")
        for metric in METRICS:
            mean, sd, low, high = interval((other[metric] - base[metric]).to_numpy())
            diffs.append(
                {
                    "plan": name,
                    "baseline": plans[0],
                    "metric": metric,
                    "mean": mean,
                    "sd": sd,
                    "ci_low": low,
                    "ci_high": high,
                    "n": len(other),
                }
            )
    hist = []
    edges = [*ATTAINMENT_BINS, float("inf")]
    for p, name in enumerate(plans):
        counts = np.array([outcome[p].histogram() for outcome in years], dtype=float)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        for b in range(len(ATTAINMENT_BINS)):
            mean, _, low, high = interval(shares[:, b])
            hist.append(
                {
                    "plan": name,
                    "attainment_from": edges[b],
                    "attainment_to": edges[b + 1],
                    "share": mean,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    months = _seat_months(plans, seats, reps, years) if keep_months else pd.DataFrame()
    return SimulationResult(
        plans=tuple(plans),
        seats=seats,
        reps=reps,
        replications=table,
        summary=pd.DataFrame(summary),
        differences=pd.DataFrame(diffs),
        histogram=pd.DataFrame(hist),
        seat_months=months,
    )


def _seat_months(
    plans: list[str], seats: tuple[str, ...], reps: tuple[str, ...], years: list[list[PlanYear]]
) -> pd.DataFrame:
    """The tidy plan x replication x seat x month table; money in currency units with two decimals."""
    n = len(seats)
    frames = []
    for r, outcome in enumerate(years):
        for name, y in zip(plans, outcome, strict=True):
            frames.append(
                pd.DataFrame(
                    {
                        "plan": name,
                        "replication": r,
                        "territory_id": np.repeat(seats, 12),
                        "rep_id": np.repeat(reps, 12),
                        "month": np.tile(np.arange(1, 13), n),
                        "revenue": y.revenue.ravel() / 100,
                        "margin": y.margin.ravel() / 100,
                        "deals": y.deals.ravel(),
                        "payment": y.payment.ravel() / 100,
                        "effort": np.round(y.effort.ravel(), 4),
                        "opportunities_worked": y.worked.ravel(),
                        "deals_pulled_in": y.pulled.ravel(),
                        "deals_pushed_out": y.pushed.ravel(),
                        "leavers": y.leavers.ravel(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


ROI_METRICS = ("revenue_uplift", "margin_uplift", "extra_pay", "coaching_cost", "net_gain", "return_on_cost")


def coaching_returns(plans: list[str], years: list[list[PlanYear]], cost: int) -> pd.DataFrame:
    """Per plan, coached minus uncoached in the same replication (`years[r][p]` and `years[r][P + p]`):
    revenue, margin and pay differences (currency), the coaching cost, net gain = margin uplift - extra pay -
    cost, and return on cost = (margin uplift - extra pay) / cost (0 when coaching changes nothing)."""
    n = len(plans)
    rows = []
    for k, name in enumerate(plans):
        d_rev = np.array([(o[n + k].revenue.sum() - o[k].revenue.sum()) / 100 for o in years])
        d_margin = np.array([(o[n + k].margin.sum() - o[k].margin.sum()) / 100 for o in years])
        d_pay = np.array([(o[n + k].payment.sum() - o[k].payment.sum()) / 100 for o in years])
        values = {
            "revenue_uplift": d_rev,
            "margin_uplift": d_margin,
            "extra_pay": d_pay,
            "coaching_cost": np.full(len(years), cost / 100),
            "net_gain": d_margin - d_pay - cost / 100,
            "return_on_cost": (d_margin - d_pay) / (cost / 100) if cost > 0 else np.full(len(years), np.nan),
        }
        for metric in ROI_METRICS:
            mean, sd, low, high = interval(values[metric])
            rows.append(
                {
                    "plan": name,
                    "metric": metric,
                    "mean": mean,
                    "sd": sd,
                    "ci_low": low,
                    "ci_high": high,
                    "n": len(years),
                }
            )
    return pd.DataFrame(rows)


CRITERIA = {
    "max_margin_after_pay": ("margin_after_pay", max),
    "max_revenue": ("revenue", max),
    "min_cost_of_sales": ("cost_of_sales_pct", min),
    "max_share_at_quota": ("share_at_quota", max),
}


def decision_table(
    result: SimulationResult, coached: list[str], cost: int, criterion: str, alignment: str = "designed"
) -> pd.DataFrame:
    """One row per candidate with mean [CI] of the headline metrics; the best by `criterion` is marked. A coached
    candidate's margin after pay also carries the coaching cost."""
    rows = []
    for plan in result.plans:
        row: dict[str, object] = {
            "candidate": plan if alignment == "designed" else f"{alignment}/{plan}",
            "alignment": alignment,
            "plan": plan.removesuffix("+coaching"),
            "coaching": plan in coached,
        }
        for metric in ("payout", "revenue", "cost_of_sales_pct", "share_at_quota", "margin_after_pay"):
            m = result.metric(plan, metric)
            shift = cost / 100 if metric == "margin_after_pay" and plan in coached else 0.0
            row[metric] = m["mean"] - shift
            row[f"{metric}_ci_low"] = m["ci_low"] - shift
            row[f"{metric}_ci_high"] = m["ci_high"] - shift
        roi = result.coaching_roi
        base = plan.removesuffix("+coaching")
        if plan in coached and not roi.empty:
            r = roi[(roi["plan"] == base) & (roi["metric"] == "return_on_cost")].iloc[0]
            row["coaching_return_on_cost"], row["coaching_roi_ci_low"], row["coaching_roi_ci_high"] = (
                r["mean"],
                r["ci_low"],
                r["ci_high"],
            )
        rows.append(row)
    return mark_best(pd.DataFrame(rows), criterion)


def mark_best(table: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """Mark the one best row of a decision table by `criterion` (on simulated means)."""
    metric, pick = CRITERIA[criterion]
    best = pick(range(len(table)), key=lambda k: table[metric].iloc[k])
    return table.assign(best=[k == best for k in range(len(table))], criterion=criterion)
