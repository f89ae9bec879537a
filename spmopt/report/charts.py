"""The report's charts, drawn with matplotlib and embedded as inline SVG."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import ParamSpec

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spmopt.report.page import figure_svg

_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e8ee",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
}
BEST = "#1a7f37"
OTHER = "#8c959f"
PALETTE = ["#1f6feb", "#d4762c", "#1a7f37", "#8250df", "#cf222e", "#0a7f8f", "#9a6700", "#57606a"]
_LOG = logging.getLogger(__name__)
# What odd tables (an empty plan, a missing column, nothing to plot) make pandas and matplotlib raise.
_DRAWING_ERRORS = (ValueError, KeyError, TypeError, IndexError, ZeroDivisionError)
P = ParamSpec("P")


class MissingChart(str):
    """The markup shown instead of a chart that could not be drawn; `reason` says why, for the run's warnings."""

    reason: str

    def __new__(cls, reason: str) -> MissingChart:
        text = super().__new__(cls, f'<p class="note chart-missing">Chart not drawn: {html.escape(reason)}</p>')
        text.reason = reason
        return text


def guarded(draw: Callable[P, str]) -> Callable[P, str]:
    """A chart that cannot be drawn becomes a note on the page (a `MissingChart`) instead of failing the run:
    the tables beside it still carry every figure."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        try:
            return draw(*args, **kwargs)
        except _DRAWING_ERRORS as exc:
            _LOG.debug("chart %s failed", draw.__name__, exc_info=True)
            detail = str(exc).splitlines()[0][:160] if str(exc) else ""
            return MissingChart(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)

    return wrapper


def _subplots(width: float, height: float, ncols: int = 1, **kwargs: object) -> tuple[Figure, object]:
    # Figures are built without pyplot, so drawing a report never changes a notebook's backend or figures.
    fig = Figure(figsize=(width, height), dpi=100)
    return fig, fig.subplots(1, ncols, **kwargs)


def _millions(ax: Axes, axis: str = "y") -> None:
    formatter = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1e6:,.1f}M")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


@guarded
def decision_chart(decision: pd.DataFrame, metric: str, title: str) -> str:
    """Each candidate's mean with its 95% CI on the decision metric, best in green (a forest plot)."""
    with matplotlib.rc_context(_STYLE):
        frame = decision.sort_values(metric)
        fig, ax = _subplots(8.5, 0.42 * len(frame) + 1.1)
        y = np.arange(len(frame))
        colours = [BEST if b else OTHER for b in frame["best"]]
        low = frame[metric] - frame[f"{metric}_ci_low"]
        high = frame[f"{metric}_ci_high"] - frame[metric]
        ax.errorbar(frame[metric], y, xerr=[low, high], fmt="none", ecolor="#57606a", capsize=3, lw=1)
        ax.scatter(frame[metric], y, c=colours, s=46, zorder=3)
        ax.set_yticks(y, [c.replace("/", " / ") for c in frame["candidate"]])
        if metric in ("margin_after_pay", "revenue"):
            _millions(ax, "x")
        ax.set_xlabel(f"{title} (mean and 95% CI)")
        fig.tight_layout()
        return figure_svg(fig)


@guarded
def balance_chart(territories: pd.DataFrame, tolerances: dict[str, float]) -> str:
    """Every territory's % deviation from its target on each balance measure, inside the tolerance band."""
    measures = [m for m in tolerances if f"{m}_dev_pct" in territories.columns]
    with matplotlib.rc_context(_STYLE):
        fig, ax = _subplots(8.5, 0.32 * len(territories) * max(1, len(measures)) ** 0.5 + 1.4)
        y = np.arange(len(territories))
        height = 0.8 / max(1, len(measures))
        for k, measure in enumerate(measures):
            offset = (k - (len(measures) - 1) / 2) * height
            colour = PALETTE[k % len(PALETTE)]
            tol = 100 * tolerances[measure]
            ax.barh(y + offset, territories[f"{measure}_dev_pct"], height=height, color=colour, label=measure)
            for edge in (-tol, tol):
                ax.axvline(edge, color=colour, ls="--", lw=0.9)
        ax.axvline(0, color="#1d2733", lw=0.8)
        ax.set_yticks(y, territories["territory_id"])
        ax.invert_yaxis()
        ax.set_xlabel("deviation from target (%); dashed lines: tolerance")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        fig.tight_layout()
        return figure_svg(fig)


@guarded
def quota_chart(quotas: pd.DataFrame) -> str:
    """Each territory's annual quota beside last year's sales and the sales expected this year."""
    with matplotlib.rc_context(_STYLE):
        fig, ax = _subplots(8.5, 3.2)
        x = np.arange(len(quotas))
        series = [("last_year_sales", "last-year sales", OTHER), ("annual_quota", "annual quota", PALETTE[0])]
        series.append(("expected_sales", "expected sales", PALETTE[1]))
        series = [s for s in series if s[0] in quotas.columns]
        width = 0.8 / len(series)
        for k, (column, label, colour) in enumerate(series):
            ax.bar(x + (k - (len(series) - 1) / 2) * width, quotas[column], width=width, color=colour, label=label)
        ax.set_xticks(x, quotas["territory_id"], rotation=30, ha="right")
        _millions(ax)
        ax.legend(fontsize=8, frameon=False, ncol=3, loc="upper right")
        fig.tight_layout()
        return figure_svg(fig)


@guarded
def payout_curves_chart(curves: dict[str, pd.DataFrame]) -> str:
    """Pay at each attainment (every measure at the same attainment) and the marginal pay rate, per plan."""
    with matplotlib.rc_context(_STYLE):
        fig, (pay, rate) = _subplots(8.5, 3.2, 2)
        for k, (plan, curve) in enumerate(curves.items()):
            colour = PALETTE[k % len(PALETTE)]
            pay.plot(100 * curve["attainment"], curve["total"] / 100, color=colour, lw=2, label=plan)
            marginal = curve.filter(like="marginal_").sum(axis=1)
            rate.step(100 * curve["attainment"], 100 * marginal, where="post", color=colour, lw=1.6, label=plan)
        pay.set_xlabel("attainment (%)")
        pay.set_ylabel("annual incentive pay")
        pay.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        rate.set_xlabel("attainment (%)")
        rate.set_ylabel("pay per 100 of extra credit")
        pay.legend(fontsize=8, frameon=False)
        for ax in (pay, rate):
            ax.axvline(100, color="#1d2733", lw=0.7, ls=":")
        fig.tight_layout()
        return figure_svg(fig)


@guarded
def fan_chart(seat_months: pd.DataFrame, plans: list[str], quota_by_month: np.ndarray | None) -> str:
    """Cumulative revenue through the year across simulated years: median line, 50% and 90% bands per plan."""
    with matplotlib.rc_context(_STYLE):
        fig, ax = _subplots(8.5, 3.6)
        for k, plan in enumerate(plans):
            rows = seat_months[seat_months["plan"] == plan]
            paths = rows.pivot_table(index="replication", columns="month", values="revenue", aggfunc="sum")
            paths = paths.sort_index(axis=1).cumsum(axis=1)
            months = paths.columns.to_numpy()
            q = np.quantile(paths.to_numpy(), [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
            colour = PALETTE[k % len(PALETTE)]
            ax.fill_between(months, q[0], q[4], color=colour, alpha=0.12, lw=0)
            ax.fill_between(months, q[1], q[3], color=colour, alpha=0.25, lw=0)
            ax.plot(months, q[2], color=colour, lw=2, label=f"{plan} (median; bands 50% and 90%)")
        if quota_by_month is not None:
            ax.plot(np.arange(1, len(quota_by_month) + 1), np.cumsum(quota_by_month), "k--", lw=1.2, label="quota")
        ax.set_xlabel("month of the plan year")
        ax.set_ylabel("cumulative revenue")
        ax.set_xticks(range(1, 13))
        _millions(ax)
        ax.legend(fontsize=8, frameon=False, loc="upper left")
        fig.tight_layout()
        return figure_svg(fig)


@guarded
def histogram_chart(histogram: pd.DataFrame, plans: list[str]) -> str:
    """Share of reps in each 10-point attainment bin, with 95% CIs, per plan."""
    with matplotlib.rc_context(_STYLE):
        fig, ax = _subplots(8.5, 3.2)
        width = 0.8 / max(1, len(plans))
        for k, plan in enumerate(plans):
            rows = histogram[histogram["plan"] == plan]
            rows = rows[(rows["share"] > 0) | (rows["ci_high"] > 0)]
            x = 100 * rows["attainment_from"].to_numpy()
            centre = x + 5 + (k - (len(plans) - 1) / 2) * 10 * width
            err = [100 * (rows["share"] - rows["ci_low"]), 100 * (rows["ci_high"] - rows["share"])]
            colour = PALETTE[k % len(PALETTE)]
            ax.bar(centre, 100 * rows["share"], width=10 * width, color=colour, label=plan, yerr=err, capsize=2,
                   error_kw={"elinewidth": 0.8, "ecolor": "#57606a"})  # fmt: skip
        ax.axvline(100, color="#1d2733", lw=0.8, ls=":")
        ax.set_xlabel("annual attainment (%)")
        ax.set_ylabel("share of reps (%)")
        ax.legend(fontsize=8, frameon=False)
        fig.tight_layout()
        return figure_svg(fig)


@guarded
def coaching_chart(coaching: pd.DataFrame) -> str:
    """Hours a month per rep and the expected yearly value of the uplift with its interval."""
    with matplotlib.rc_context(_STYLE):
        fig, (hours, value) = _subplots(8.5, 0.3 * len(coaching) + 1.4, 2, sharey=True)
        y = np.arange(len(coaching))
        managers = {m: k for k, m in enumerate(sorted(coaching["manager_id"].unique()))}
        colours = [PALETTE[managers[m] % len(PALETTE)] for m in coaching["manager_id"]]
        hours.barh(y, coaching["hours_per_month"], color=colours)
        hours.set_yticks(y, coaching["rep_id"])
        hours.invert_yaxis()
        hours.set_xlabel("coaching hours a month")
        err = [
            coaching["expected_uplift"] - coaching["uplift_ci_low"],
            coaching["uplift_ci_high"] - coaching["expected_uplift"],
        ]
        value.barh(y, coaching["expected_uplift"], color=colours, xerr=err, capsize=2,
                   error_kw={"elinewidth": 0.8, "ecolor": "#57606a"})  # fmt: skip
        value.set_xlabel("expected sales uplift a year (95% CI)")
        _millions(value, "x")
        fig.tight_layout()
        return figure_svg(fig)
