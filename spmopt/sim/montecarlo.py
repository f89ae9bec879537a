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
from collections.abc import Collection
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


CRITERIA = {
    "max_margin_after_pay": ("margin_after_pay", max),
    "max_revenue": ("revenue", max),
    "min_cost_of_sales": ("cost_of_sales_pct", min),
    "max_share_at_quota": ("share_at_quota", max),
}


def decision_table(
    result: SimulationResult, coached: list[str], cost: int, criterion: str, alignment: str = "designed"
) -> pd.DataFrame:
    """One row per candidate with mean [CI] of the headline metrics, the territories and reps it covers, and its
    sanity flags; the best unflagged one by `criterion` is marked. A coached candidate's margin after pay also
    carries the coaching cost, and its margin and revenue intervals the coaching gain's spread over the parameter
    draws (`_with_draw_spread`)."""
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
        if plan in coached:
            base = plan.removesuffix("+coaching")
            row.update(_coaching_columns(result.coaching_roi, base))
            row.update(_with_draw_spread(row, result.coaching_roi, base))
        row["territories"] = len(result.seats)
        row["rep_ids"] = ";".join(sorted({r for r in result.reps if r}))
        rows.append(row)
    return mark_best(pd.DataFrame(rows), criterion)


SPREAD_OF = {"margin_after_pay": "net_gain", "revenue": "revenue_uplift"}
"""Decision metrics of a coached candidate whose interval also carries the coaching gain's spread over draws."""


def _with_draw_spread(row: dict[str, object], roi: pd.DataFrame, plan: str) -> dict[str, float]:
    """A coached candidate's intervals widened by the parameter uncertainty of its coaching gain: the Student-t
    half-widths of the mean (simulation noise) and the gain's 2.5-97.5 percentile distances from its mean (draws)
    added in quadrature, on each side. Without this the interval averages the draws away."""
    main = plan_returns(roi)
    part = main[main["plan"] == plan].set_index("metric") if not main.empty else main
    number = {k: float(v) for k, v in row.items() if isinstance(v, (int, float, np.number))}
    out = {}
    for metric, gain in SPREAD_OF.items():
        if gain not in part.index or not str(part.loc[gain, "interval"]).startswith("2.5-97.5"):
            continue
        g_mean, g_low, g_high = (float(part.loc[gain, c]) for c in ("mean", "ci_low", "ci_high"))
        mean = number[metric]
        below = float(np.hypot(mean - number[f"{metric}_ci_low"], g_mean - g_low))
        above = float(np.hypot(number[f"{metric}_ci_high"] - mean, g_high - g_mean))
        out[f"{metric}_ci_low"], out[f"{metric}_ci_high"] = mean - below, mean + above
    return out


def _coaching_columns(roi: pd.DataFrame, plan: str) -> dict[str, float]:
    """The plan's coaching return (mean and interval over the parameter draws) and its plausibility bound."""
    if roi.empty:
        return {}
    main = plan_returns(roi)
    part = main[main["plan"] == plan].set_index("metric")
    if "return_on_cost" not in part.index:
        return {}
    r = part.loc["return_on_cost"]
    out = {
        "coaching_return_on_cost": float(r["mean"]),
        "coaching_roi_ci_low": float(r["ci_low"]),
        "coaching_roi_ci_high": float(r["ci_high"]),
    }
    if "return_bound" in part.index:
        out["coaching_return_bound"] = float(part.loc["return_bound", "mean"])
    return out


def candidate_flags(table: pd.DataFrame, reps: Collection[str] | None = None) -> list[str]:
    """Readable reasons not to adopt each candidate ('' when none): a rep without a territory, fewer territories
    than reps, a coaching return above its plausibility bound. Without `reps`, the reps are every rep any
    candidate covers (so an alignment that drops the new hire is caught when another candidate has them)."""
    covered = [set(str(v).split(";")) - {""} if isinstance(v, str) else set() for v in _column(table, "rep_ids")]
    everyone = set(reps) if reps is not None else set().union(*covered) if covered else set()
    flags = []
    for k in range(len(table)):
        notes = []
        missing = sorted(everyone - covered[k]) if "rep_ids" in table.columns else []
        if missing:
            notes.append(f"no territory for {len(missing)} rep(s): {', '.join(missing)}")
        territories = _column(table, "territories")[k]
        if everyone and _finite(territories) and territories < len(everyone):
            notes.append(f"{int(territories)} territories with a rep for {len(everyone)} reps")
        ret, bound = _column(table, "coaching_return_on_cost")[k], _column(table, "coaching_return_bound")[k]
        if _finite(ret) and _finite(bound) and ret > bound:
            notes.append(f"coaching return {ret:.1f}x is above the plausibility bound {bound:.1f}x ({BOUND_TEXT})")
        flags.append("; ".join(notes))
    return flags


BOUND_TEXT = "the best published effect, +21.6% sales for 3 h of coaching a month, pro rata per hour"


def _column(table: pd.DataFrame, name: str) -> list:
    return table[name].tolist() if name in table.columns else [None] * len(table)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float, np.number)) and bool(np.isfinite(value))


def mark_best(table: pd.DataFrame, criterion: str, reps: Collection[str] | None = None) -> pd.DataFrame:
    """Flag every candidate (`candidate_flags`) and mark the one best by `criterion` (on simulated means) among
    the unflagged ones; if every candidate is flagged, the best of all is kept and `best_note` says so."""
    metric, pick = CRITERIA[criterion]
    flags = candidate_flags(table, reps)
    clean = [k for k in range(len(table)) if not flags[k]]
    best = pick(clean or range(len(table)), key=lambda k: table[metric].iloc[k])
    top = pick(range(len(table)), key=lambda k: table[metric].iloc[k])
    if not clean:
        note = f"every candidate is flagged; kept the best by {metric} ({flags[best]})"
    elif best != top:
        note = f"best by {metric} among unflagged candidates; passed over {table['candidate'].iloc[top]} ({flags[top]})"
    else:
        note = f"best by {metric}"
    return table.assign(
        flags=flags,
        best=[k == best for k in range(len(table))],
        criterion=criterion,
        best_note=[note if k == best else "" for k in range(len(table))],
    )
