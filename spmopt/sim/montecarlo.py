"""Monte-Carlo summaries: per-replication totals, means with 95% confidence intervals, paired differences
between plans (common random numbers), the attainment histogram and the tidy seat x month x replication table.

Intervals are Student-t: mean +- t(0.975, n - 1) s / sqrt(n) over replications. A paired difference is taken
replication by replication (both plans saw the same draws), so its interval is usually far narrower than the
two plans' intervals suggest.

Coaching's return is the exception: each replication plays its own draw of the response parameters, so the
interval of the return is the 2.5%-97.5% percentile range over replications, which carries the uncertainty of
the estimate (and the year's own noise); a Student-t interval of the mean would shrink with more replications
however little the history says. The sensitivity rows (fixed parameters) keep the Student-t interval of the mean.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from spmopt.candidate import Candidate
from spmopt.sim.facts import SimulationFacts
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
    """Each candidate's key in the frames below (`Candidate.variant`), in `candidates` order."""
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
    facts: SimulationFacts | None = None
    candidates: tuple[Candidate, ...] = ()
    """What each of `plans` is: alignment, comp plan, coaching or not (set by the simulation stage)."""
    """Set by the simulation stage (`spmopt.sim.run`)."""
    warnings: tuple[str, ...] = ()
    coaching_roi: pd.DataFrame = field(default_factory=pd.DataFrame)
    """plan, metric, mean, sd, ci_low, ci_high, n: each plan with coaching minus without, paired."""

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
    """`years[r][p]` is replication r under plan p; entries past the plans (the coaching sensitivity variants)
    are summarised by `coaching_returns` only."""
    years = [outcome[: len(plans)] for outcome in years]
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
DRAWS = "draws"
"""`parameters` of the rows over the parameter draws (the plan's return); other values name a fixed set."""


def coaching_returns(plans: list[str], years: list[list[PlanYear]], cost: int) -> pd.DataFrame:
    """Per plan, coached minus uncoached in the same replication (`years[r][p]` and `years[r][P + p]`):
    revenue, margin and pay differences (currency), the coaching cost, net gain = margin uplift - extra pay -
    cost, return on cost = (margin uplift - extra pay) / cost (0 when coaching changes nothing), and its
    plausibility bound (`return_bound`). Rows over the parameter draws have `parameters` = `draws` and percentile
    intervals; the sensitivity variants (`years[r][2P + p]`, fixed parameter sets) come as plan `<plan>@<set>`
    with their set's u_max, K and d and Student-t intervals."""
    n = len(plans)
    rows = []
    for k, name in enumerate(plans):
        main = [(o[k], o[n + k]) for o in years]
        rows += _roi_rows(name, DRAWS, main, cost, spread=_drawn(main))
        bound = next((c.coaching.return_bound for _, c in main if c.coaching is not None), None)
        if bound is not None:
            rows.append(_row(name, DRAWS, "return_bound", (bound, float("nan"), float("nan"), float("nan")), len(main)))
        checks: dict[str, list[tuple[PlanYear, PlanYear]]] = defaultdict(list)
        for o in years:
            if len(o) > 2 * n and o[2 * n + k].coaching is not None:
                checks[o[2 * n + k].coaching.parameters].append((o[k], o[2 * n + k]))
        for label, pairs in checks.items():
            rows += _roi_rows(f"{name}@{label}", label, pairs, cost, spread=False)
    return pd.DataFrame(rows)


def _drawn(pairs: list[tuple[PlanYear, PlanYear]]) -> bool:
    """Whether the coached years played more than one parameter draw (then the return's interval is a spread)."""
    tags = [c.coaching for _, c in pairs if c.coaching is not None]
    return bool(tags) and tags[0].draws > 1


def _roi_rows(
    plan: str, parameters: str, pairs: list[tuple[PlanYear, PlanYear]], cost: int, spread: bool
) -> list[dict[str, object]]:
    d_rev = np.array([(c.revenue.sum() - b.revenue.sum()) / 100 for b, c in pairs])
    d_margin = np.array([(c.margin.sum() - b.margin.sum()) / 100 for b, c in pairs])
    d_pay = np.array([(c.payment.sum() - b.payment.sum()) / 100 for b, c in pairs])
    values = {
        "revenue_uplift": d_rev,
        "margin_uplift": d_margin,
        "extra_pay": d_pay,
        "coaching_cost": np.full(len(pairs), cost / 100),
        "net_gain": d_margin - d_pay - cost / 100,
        "return_on_cost": (d_margin - d_pay) / (cost / 100) if cost > 0 else np.full(len(pairs), np.nan),
    }
    tag = pairs[0][1].coaching if pairs else None
    fixed = tag is not None and parameters != DRAWS
    metrics = ROI_METRICS
    if tag is not None and tag.hours > 0:
        # What each manager hour is credited with: the figure a reader can hold against the published effects.
        values["revenue_per_hour"] = d_rev / tag.hours
        metrics = (*ROI_METRICS, "revenue_per_hour")
    out = []
    for metric in metrics:
        row = _row(
            plan, parameters, metric, _spread(values[metric]) if spread else interval(values[metric]), len(pairs)
        )
        row["interval"] = "2.5-97.5 percentiles over replications (parameter draws)" if spread else "mean, Student-t"
        if fixed:
            row.update(max_uplift=tag.max_uplift, half_stock=tag.half_stock, decay=tag.decay)
        out.append(row)
    return out


def _row(plan: str, parameters: str, metric: str, stats_: tuple[float, float, float, float], n: int) -> dict:
    mean, sd, low, high = stats_
    return {
        "plan": plan,
        "metric": metric,
        "mean": mean,
        "sd": sd,
        "ci_low": low,
        "ci_high": high,
        "n": n,
        "parameters": parameters,
        "max_uplift": np.nan,
        "half_stock": np.nan,
        "decay": np.nan,
        "interval": "",
    }


def _spread(values: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, sd, 2.5% and 97.5% percentiles) of per-replication values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (float("nan"),) * 4
    low, high = np.percentile(v, [2.5, 97.5])
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan"), float(low), float(high)


def plan_returns(roi: pd.DataFrame) -> pd.DataFrame:
    """The rows of `coaching_roi` over the parameter draws (coaching_roi.csv), without the sensitivity rows."""
    if roi.empty or "parameters" not in roi.columns:
        return roi
    main = roi[roi["parameters"] == DRAWS]
    return main.drop(columns=["parameters", "max_uplift", "half_stock", "decay"]).reset_index(drop=True)


def sensitivity_table(roi: pd.DataFrame) -> pd.DataFrame:
    """coaching_sensitivity.csv: per plan, the return of the same coaching plan over the parameter draws and at
    each fixed parameter set side by side, with the plausibility bound (one row per plan and parameter set)."""
    if roi.empty or "parameters" not in roi.columns:
        return pd.DataFrame()
    rows = []
    for (plan, parameters), part in roi.groupby(["plan", "parameters"], sort=False):
        m = part.set_index("metric")
        base = str(plan).split("@")[0]
        bound_rows = roi[(roi["plan"] == base) & (roi["metric"] == "return_bound")]
        bound = float(bound_rows["mean"].iloc[0]) if len(bound_rows) else float("nan")
        ret = m.loc["return_on_cost"]
        rows.append(
            {
                "plan": base,
                "parameters": parameters,
                "max_uplift": ret["max_uplift"],
                "half_stock": ret["half_stock"],
                "decay": ret["decay"],
                "replications": int(ret["n"]),
                "revenue_uplift": m.loc["revenue_uplift", "mean"],
                "revenue_per_hour": m.loc["revenue_per_hour", "mean"] if "revenue_per_hour" in m.index else np.nan,
                "net_gain": m.loc["net_gain", "mean"],
                "return_on_cost": ret["mean"],
                "return_ci_low": ret["ci_low"],
                "return_ci_high": ret["ci_high"],
                "interval": ret["interval"],
                "return_bound": bound,
                "above_bound": bool(ret["mean"] > bound) if np.isfinite(bound) else False,
            }
        )
    return pd.DataFrame(rows)
