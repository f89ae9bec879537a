"""Attainment: each territory's plan-year sales forecast as a lognormal, and what share of reps reach quota.

Sales S_t ~ LogNormal with mean E_t and log-standard-deviation sigma, so ln S_t ~ N(ln E_t - sigma^2/2, sigma^2)
and P(S_t >= Q_t) = Phi((ln E_t - sigma^2/2 - ln Q_t) / sigma). The expected share of reps at or above
quota is the mean of those probabilities (it does not depend on how territories' sales correlate).

One dispersion for both stages: sigma is estimated here (backtest on history, or given) and the simulator sets
its rep-skill spread so that seat sales at normal effort have the same log-sd (`spmopt.sim.analytic.
matched_behaviour`, reading the quota table's `dispersion_sigma`). `share_mismatch_warning` is the check that
the simulated year and the quota stage still agree on the share of reps at quota.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from spmopt.data.history import SalesHistory
from spmopt.errors import DataError, InfeasibleModelError


@dataclass(frozen=True, slots=True)
class Dispersion:
    """Sigma of log territory sales and where it came from."""

    sigma: float
    source: str
    territories: int = 0
    """Territories the estimate rests on (0 when given)."""


def attainment_probability(quota: np.ndarray, expected: np.ndarray, sigma: float) -> np.ndarray:
    """P(S >= quota) for S lognormal with mean `expected` and log-sd `sigma`; 1 where quota is 0."""
    quota = np.asarray(quota, dtype=float)
    expected = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore"):
        z = (np.log(expected) - sigma**2 / 2 - np.log(quota)) / sigma
    return np.where(quota > 0, norm.cdf(z), 1.0)


def monte_carlo_share(
    quota: np.ndarray, expected: np.ndarray, sigma: float, draws: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Simulated share of reps at or above quota and the half-width of its 95% confidence interval."""
    expected = np.asarray(expected, dtype=float)
    log_sales = rng.normal(np.log(expected) - sigma**2 / 2, sigma, size=(draws, len(expected)))
    hits = (log_sales >= np.log(np.maximum(np.asarray(quota, dtype=float), 1e-300))).mean(axis=1)
    return float(hits.mean()), float(1.96 * hits.std(ddof=1) / np.sqrt(draws))


def calibrate_total(
    share_at: Callable[[int], float], target_share: float, low: int, high: int, step: int = 1
) -> tuple[int, float]:
    """Quota total (in steps of `step` currency units) in [low, high] with share >= `target_share` whose
    next step up misses it, found by bisection.

    The share falls as the total rises; rounding can make it wobble by a hair within one step (a territory's
    rounded quota may drop a step when the total grows by one), which can only move the result by steps.
    """
    share_low = share_at(low)
    if share_low < target_share:
        raise InfeasibleModelError(
            f"attainment.target_share {target_share:.0%} cannot be reached: even at the smallest quota total "
            f"the bounds allow ({step * low:,}) only {share_low:.1%} of reps are expected at quota; loosen the "
            "lower bounds (growth min, floor) or lower the target share"
        )
    if share_at(high) >= target_share:
        return high, share_at(high)
    while high - low > 1:
        mid = (low + high) // 2
        if share_at(mid) >= target_share:
            low = mid
        else:
            high = mid
    return low, share_at(low)


def analytic_total(fair_share: np.ndarray, expected: np.ndarray, sigma: float, target_share: float) -> float:
    """Quota total at which fair-share quotas give `target_share` (bounds ignored): a starting bracket."""
    lo, hi = 1e-6 * expected.sum(), 1e3 * expected.sum()
    for _ in range(200):
        mid = np.sqrt(lo * hi)
        share = attainment_probability(mid * fair_share, expected, sigma).mean()
        lo, hi = (mid, hi) if share >= target_share else (lo, mid)
    return float(lo)


def backtest_dispersion(
    history: SalesHistory, alignment_units: dict[str, str], potential: dict[str, float], basis: dict[str, float]
) -> Dispersion:
    """Sigma from forecasting last year's territory sales with the quota basis applied one year earlier.

    Prediction of territory t: last-year company sales x (w_pot x potential share + w_hist x share of the year
    before). Sigma is the sample standard deviation of ln(actual / predicted) over territories that sold.
    """
    last = history.year(0)
    weights = {k: w / sum(basis.values()) for k, w in basis.items() if w > 0}
    prior = history.year(1) if "history" in weights else None
    if "history" in weights and prior is None:
        raise DataError(
            f"{history.path}: estimating attainment.dispersion from a history-weighted basis needs 24 months "
            f"of history (has {len(history.months)}); give attainment.dispersion as a number"
        )
    territories = sorted(potential)
    tid = [alignment_units[u] for u in last.index]
    actual = last.groupby(tid).sum().reindex(territories, fill_value=0.0).to_numpy()
    pot = np.array([potential[t] for t in territories])
    shape = weights.get("potential", 0) * pot / pot.sum()
    if prior is not None:
        before = prior.groupby(tid).sum().reindex(territories, fill_value=0.0).to_numpy()
        shape = shape + weights["history"] * before / before.sum()
    sold = (actual > 0) & (shape > 0)
    if sold.sum() < 3:
        raise DataError(
            f"{history.path}: only {int(sold.sum())} territories sold last year; estimating attainment.dispersion "
            "needs at least 3, so give it as a number"
        )
    residual = np.log(actual[sold] / (actual.sum() * shape[sold]))
    sigma = float(residual.std(ddof=1))
    span = history.span(0)
    return Dispersion(sigma=max(sigma, 1e-3), source=f"backtest on {span} sales", territories=int(sold.sum()))


SHARE_AT_QUOTA_TOLERANCE = 0.05
"""How far (share points) the simulated share of reps at quota may sit from the quota stage's prediction before the
run warns that the two stages do not describe the same year."""


def predicted_share(quota_table: pd.DataFrame) -> float | None:
    """The quota stage's expected share of reps at or above quota: the mean of the table's
    `attainment_probability` over territories with a rep (None when the table does not carry it)."""
    if "attainment_probability" not in quota_table.columns:
        return None
    staffed = quota_table["rep_id"].notna() if "rep_id" in quota_table.columns else slice(None)
    values = pd.to_numeric(quota_table.loc[staffed, "attainment_probability"], errors="coerce").dropna()
    return float(values.mean()) if len(values) else None


def share_mismatch_warning(
    predicted: float,
    simulated: float,
    interval: tuple[float, float],
    plan: str,
    tolerance: float = SHARE_AT_QUOTA_TOLERANCE,
) -> str | None:
    """A warning when the simulated share of reps at quota (mean over replications, with its 95% `interval`) is
    more than `tolerance` from the quota stage's predicted share; None when they agree."""
    gap = simulated - predicted
    if not abs(gap) > tolerance:
        return None
    low, high = interval
    settled = low > predicted + tolerance or high < predicted - tolerance
    more = "" if settled else " (the interval still reaches within tolerance: more replications would settle it)"
    cause = (
        "quotas are easier than the quota stage assumed"
        if gap > 0
        else "quotas are harder than the quota stage assumed"
    )
    return (
        f"simulation: {simulated:.1%} of reps reach quota under plan {plan} (95% CI {low:.1%} to {high:.1%}) but "
        f"the quota stage calibrated quotas for {predicted:.1%}, a gap of {100 * gap:+.1f} points (more than "
        f"{100 * tolerance:.0f}){more}: {cause}; the stages disagree on the spread or the level of seat sales "
        "(quota.attainment.dispersion against the simulated spread, expected_sales against normal-effort sales, "
        "new hires' ramp) or the plan moves effort far from normal"
    )
