"""What published work allows a coaching plan to claim: the cost of a manager's hour beyond their wage, and a
plausibility bound on the return. Sources are cited in models/coaching_uplift/README.md ("Published ranges").

Opportunity cost. An hour a manager coaches is an hour not spent selling, supporting deals or managing; first-line
sales managers spend about a quarter of their time with customers (Rapp, Petersen, Hughes & Ogilvie 2020). Unless
the scenario states it, the hour is valued at what an average working hour of the scenario's reps earns in margin:
mean expected annual sales per rep x margin ratio / `WORK_HOURS`.

Plausibility bound. The largest published association of coaching time with sales results is the Sales Executive
Council's study of about 2,000 reps: those coached 3 or more hours a month reached 107% of goal against 88% for
little or no coaching, +21.6% relative (the often quoted "19%" is the difference in points). It is cross-sectional
(better-run teams coach more), so it is a ceiling, not an estimate. The bound credits every rep with at most that
effect per hour, pro rata below 3 h a month and never more than the full 21.6%:

    bound_gain_r = 0.216 x min(1, h_r / 3) x V_r x margin x months_r / 12
    bound        = sum_r bound_gain_r / cost             (return on cost, as the simulator reports it)

With the default opportunity cost and a small wage, this is about 0.216 / 36 h x 1,800 h = 10.8x whatever the
reps sell; a plan whose simulated return is above it claims more per hour than the best published case.
"""

from __future__ import annotations

import numpy as np

BEST_UPLIFT = 107 / 88 - 1
"""Relative sales effect of 3+ hours of coaching a month in the best published case (SEC 2008): +21.6%."""
BEST_HOURS = 3.0
"""Hours a month behind `BEST_UPLIFT`."""
WORK_HOURS = 1800.0
"""Working hours a year: about the US average of hours actually worked per worker (OECD, 2022-2023)."""
BOUND_SOURCE = (
    "best published effect: +21.6% sales (107% vs 88% of goal) for reps coached 3+ h a month, Sales Executive "
    "Council 2008, pro rata per hour"
)


def default_opportunity_cost(value: np.ndarray, margin: float) -> float:
    """Cents an hour: the margin an average working hour of the reps brings (`value`: annual sales, cents)."""
    return float(np.mean(value)) * margin / WORK_HOURS if len(value) else 0.0


def return_bound(hours: np.ndarray, value: np.ndarray, months: np.ndarray, margin: float, cost: float) -> float:
    """Highest plausible return on `cost` (cents) of `hours` a month per rep (module docstring)."""
    if cost <= 0:
        return float("inf")
    share = np.minimum(1.0, np.asarray(hours, dtype=float) / BEST_HOURS)
    gain = BEST_UPLIFT * share * np.asarray(value, dtype=float) * margin * np.asarray(months, dtype=float) / 12
    return float(gain.sum() / cost)
