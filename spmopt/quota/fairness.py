"""Equal difficulty under bounds: the common quota/fair-share level that the bounds leave to everyone else.

Each territory's quota is c_t = clip(lambda * q*_t, lo_t, hi_t), with lambda chosen so sum_t c_t = K.
Unbounded territories all get the same ratio lambda to their fair share (equal quota/potential index);
a bounded territory sits at the bound nearest lambda * q*_t. This is the lexicographic min-max
(leximin) allocation: lowering any territory's deviation from the common level would raise the
deviation of one that already deviates at least as much. It is also the unique minimiser of
sum_t q*_t psi(c_t / q*_t) for any strictly convex psi, e.g. weighted least squares.
"""

from __future__ import annotations

import numpy as np

from spmopt.quota.inputs import QuotaInputs


def equal_difficulty(inp: QuotaInputs, total_steps: int) -> tuple[dict[str, float], float]:
    """Continuous quotas c_t (in steps) and the common level lambda, for a feasible total."""
    ts = inp.territories
    fair = np.array([inp.fair_share[t] * total_steps for t in ts])
    lo = np.array([inp.lower[t].steps or 0 for t in ts], dtype=float)
    hi = np.array([np.inf if inp.upper[t].steps is None else inp.upper[t].steps for t in ts], dtype=float)

    def filled(level: float) -> np.ndarray:
        return np.clip(level * fair, lo, hi)

    low, high = 0.0, 1.0
    while filled(high).sum() < total_steps and high < 1e12:
        high *= 2
    for _ in range(200):  # bisection to machine precision; the sum is nondecreasing in the level
        mid = (low + high) / 2
        if filled(mid).sum() < total_steps:
            low = mid
        else:
            high = mid
    return dict(zip(ts, filled(high).tolist(), strict=True)), high
