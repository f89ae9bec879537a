"""The decision table: every candidate (alignment x plan x coaching or not) with the simulated means and 95%
intervals of its headline metrics, its sanity flags, and the best unflagged one by the scenario's criterion."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from spmopt.sim.montecarlo import SimulationResult, plan_returns

CRITERIA = {
    "max_margin_after_pay": ("margin_after_pay", max),
    "max_revenue": ("revenue", max),
    "min_cost_of_sales": ("cost_of_sales_pct", min),
    "max_share_at_quota": ("share_at_quota", max),
}


def decision_table(result: SimulationResult, coaching_cost: int, criterion: str) -> pd.DataFrame:
    """One row per candidate with mean [CI] of the headline metrics, the territories and reps it covers, and its
    sanity flags; the best unflagged one by `criterion` is marked. A coached candidate's margin after pay also
    carries the coaching cost, and its margin and revenue intervals the coaching gain's spread over the parameter
    draws (`_with_draw_spread`)."""
    rows = []
    for c in result.candidates:
        row: dict[str, object] = {
            "candidate": c.label,
            "alignment": c.alignment,
            "plan": c.plan,
            "coaching": c.coaching,
        }
        for metric in ("payout", "revenue", "cost_of_sales_pct", "share_at_quota", "margin_after_pay"):
            m = result.metric(c.variant, metric)
            shift = coaching_cost / 100 if metric == "margin_after_pay" and c.coaching else 0.0
            row[metric] = m["mean"] - shift
            row[f"{metric}_ci_low"] = m["ci_low"] - shift
            row[f"{metric}_ci_high"] = m["ci_high"] - shift
        if c.coaching:
            row.update(_coaching_columns(result.coaching_roi, c.plan))
            row.update(_with_draw_spread(row, result.coaching_roi, c.plan))
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
