"""Split an annual quota into plan-year months or quarters, exactly to the currency unit.

Each territory's monthly weight is the season weight of the month times the rep's productivity that
month (0 before a new rep starts, the ramp factors for their first months, 1 afterwards). The annual
ramp factor is the sum of those weights: the share of a full year's selling a rep can deliver.
"""

from __future__ import annotations

import numpy as np

from spmopt.config import SeasonalityConfig
from spmopt.data.history import SalesHistory
from spmopt.errors import ConfigError

MONTHS = tuple(f"m{k:02d}" for k in range(1, 13))
QUARTERS = ("q1", "q2", "q3", "q4")


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


def ramp_factors(start_month: int, ramp: tuple[float, ...]) -> np.ndarray:
    """Productivity per plan-year month of a new rep starting in `start_month` (0: on board all year)."""
    factors = np.ones(12)
    if start_month <= 0:
        return factors
    factors[: start_month - 1] = 0.0
    for k, f in enumerate(ramp):
        if start_month - 1 + k < 12:
            factors[start_month - 1 + k] = f
    return factors


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
