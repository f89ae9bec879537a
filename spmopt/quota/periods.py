"""Split an annual quota into plan-year months or quarters, exactly to the currency unit.

Each territory's monthly weight is the season weight of the month times the rep's productivity that
month (0 before a new rep starts, the ramp factors for their first months, 1 afterwards). The annual
ramp factor is the sum of those weights: the share of a full year's selling a rep can deliver.

With a `PipelineLag` the productivity is that of closing, not of working: a new rep starts with an empty
pipeline, so the deals they work close only a sales cycle later. The simulator applies the same daily rule
(`closing_rate`) to the same lag, so both stages expect the same part-year sales of a new hire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spmopt.config import SeasonalityConfig
from spmopt.data.history import SalesHistory
from spmopt.errors import ConfigError

MONTHS = tuple(f"m{k:02d}" for k in range(1, 13))
QUARTERS = ("q1", "q2", "q3", "q4")
RAMP_MONTH_DAYS = 30.4
"""A ramp month in days: a new rep's k-th month starts 30.4 k days after their first day (the simulator's too)."""
NOMINAL_YEAR_DAYS = 365
"""The quota stage knows months, not dates: it spreads a ramp with a lag over a 365-day year of equal months."""


@dataclass(frozen=True, slots=True)
class PipelineLag:
    """How long a won opportunity takes from its arrival to its close: the delay between a new rep's first day
    and their first closed deals."""

    daily: tuple[float, ...]
    """P(the close falls d to d + 1 days after the arrival), d = 0, 1, ...; sums to 1."""
    source: str
    """Where the distribution comes from (planner-readable)."""

    @property
    def mean_days(self) -> float:
        return float(np.dot(np.arange(len(self.daily)) + 0.5, self.daily))


def season_profile(
    cfg: SeasonalityConfig, history: SalesHistory | None, fiscal_start_month: int
) -> tuple[np.ndarray, str | None]:
    """Twelve monthly weights summing to 1, and a warning when a given profile had to be normalised."""
    if cfg.profile == "flat":
        return np.full(12, 1 / 12), None
    if cfg.profile == "history":
        if history is None:
            raise ConfigError("quota.seasonality.profile 'history' needs quota.history")
        return history.month_profile(fiscal_start_month), None
    weights = np.asarray(cfg.profile, dtype=float)
    if len(weights) == 4:
        weights = np.repeat(weights / 3, 3)  # a quarter's weight is spread evenly over its months
    total = float(weights.sum())
    warning = None
    if abs(total - 1) > 1e-6:
        warning = (
            f"quota.seasonality.profile sums to {total:.6g}, not 1; spmopt normalised it "
            f"(each weight divided by {total:.6g})"
        )
    return weights / total, warning


def ramp_factors(start_month: int, ramp: tuple[float, ...], lag: PipelineLag | None = None) -> np.ndarray:
    """Productivity per plan-year month of a new rep starting in `start_month` (0: on board all year); with a
    `lag`, the share of a full month's closings they make in each month (see `closing_rate`)."""
    factors = np.ones(12)
    if start_month <= 0:
        return factors
    if lag is not None:
        return _lagged_factors(start_month, ramp, lag)
    factors[: start_month - 1] = 0.0
    for k, f in enumerate(ramp):
        if start_month - 1 + k < 12:
            factors[start_month - 1 + k] = f
    return factors


def closing_rate(days: int, start: float, ramp: Sequence[float], lag: np.ndarray | None) -> np.ndarray:
    """(days,) normal-effort sales closed on each day of the year by a rep whose first day is `start`, as a share
    of a full-rate day: work is 0 before `start`, `ramp[k]` in their k-th ramp month, 1 after; each day's work
    closes over the following days as `lag` (a daily distribution) says, and nothing was in the pipeline before
    `start`. Without a lag, closing is work."""
    work = np.zeros(days)
    first = max(int(np.ceil(start)), 0)
    work[first:] = 1.0
    for k, f in enumerate(ramp):
        lo, hi = first + int(RAMP_MONTH_DAYS * k), min(first + int(RAMP_MONTH_DAYS * (k + 1)), days)
        work[lo:hi] = f
    if lag is None:
        return work
    return np.convolve(work, lag)[:days]


def _lagged_factors(start_month: int, ramp: tuple[float, ...], lag: PipelineLag) -> np.ndarray:
    """Mean daily `closing_rate` over each month of a nominal year of twelve equal months."""
    bounds = np.rint(np.arange(13) * NOMINAL_YEAR_DAYS / 12).astype(np.int64)
    rate = closing_rate(NOMINAL_YEAR_DAYS, float(bounds[start_month - 1]), ramp, np.asarray(lag.daily))
    return np.array([rate[bounds[m] : bounds[m + 1]].mean() for m in range(12)])


def split_exact(total: int, weights: np.ndarray) -> list[int]:
    """Largest-remainder split of integer `total` in proportion to `weights`: parts sum to `total` exactly."""
    w = np.asarray(weights, dtype=float)
    if total == 0 or w.sum() <= 0:
        return [0] * len(w)
    raw = total * w / w.sum()
    parts = np.floor(raw).astype(np.int64)
    short = total - int(parts.sum())
    # Ties go to the earlier period so the split is deterministic.
    order = sorted(range(len(w)), key=lambda k: (-(raw[k] - parts[k]), k))
    for k in order[:short]:
        parts[k] += 1
    return [int(p) for p in parts]


def period_quotas(annual: int, month_weights: np.ndarray, periods: str) -> dict[str, int]:
    """Per-period quotas (months `m01..m12` or quarters `q1..q4`) that add up to `annual`."""
    if periods == "quarter":
        return dict(zip(QUARTERS, split_exact(annual, month_weights.reshape(4, 3).sum(axis=1)), strict=True))
    return dict(zip(MONTHS, split_exact(annual, month_weights), strict=True))
