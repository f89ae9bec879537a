"""Closed-form expectations of the simulator at fixed effort, for validating it.

At effort 1 with no capacity limit, no turnover and no deal timing, seat s books in expectation

    E[revenue_s] = sum_{u in s} lambda_u p_win m_u (T - E[(D - W)^+])

where D is a won opportunity's total cycle (the sum of its Gamma stage durations), W the warm-up and T the
year's length: an opportunity arriving at t0 in [-W, T) closes inside the year exactly when
t0 in [max(-D, -W), T - D), an interval of length T - (D - W)^+. E[(D - W)^+] is computed by numerical
convolution of the stage densities.
"""

from __future__ import annotations

import numpy as np
from scipy import signal, stats

from spmopt.sim.inputs import SimInputs
from spmopt.sim.params import BehaviourParams


def cycle_tail(params: BehaviourParams, beyond: float, step: float = 0.01) -> float:
    """E[(D - beyond)^+] in days for the total won cycle D."""
    stages = params.pipeline.stages
    horizon = beyond + 40 * sum(s.mean_days for s in stages)
    x = np.arange(0.0, horizon, step)
    density = None
    for s in stages:
        f = stats.gamma.pdf(x, s.shape, scale=s.mean_days / s.shape)
        density = f if density is None else signal.fftconvolve(density, f)[: len(x)] * step
    assert density is not None
    return float(np.sum(np.maximum(x - beyond, 0.0) * density) * step)


def expected_revenue(inputs: SimInputs, params: BehaviourParams) -> np.ndarray:
    """(seats,) expected revenue in cents at fixed effort 1 (seats on board all year, no capacity limit)."""
    days = float(inputs.days)
    in_year = days - cycle_tail(params, params.pipeline.warmup_days.value)
    per_unit = inputs.unit_rate * params.pipeline.win_probability * inputs.unit_size * in_year
    return np.bincount(inputs.unit_seat, weights=per_unit, minlength=len(inputs.seats))
