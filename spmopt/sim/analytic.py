"""Closed-form expectations of the simulator at fixed effort, for validating it and for calibrating the stages
on one model.

At effort 1 with no capacity limit, no turnover and no deal timing, seat s books in expectation

    E[revenue_s] = sum_{u in s} lambda_u p_win m_u (T - E[(D - W)^+])

where D is a won opportunity's total cycle (the sum of its Gamma stage durations), W the warm-up and T the
year's length: an opportunity arriving at t0 in [-W, T) closes inside the year exactly when
t0 in [max(-D, -W), T - D), an interval of length T - (D - W)^+. E[(D - W)^+] is computed by numerical
convolution of the stage densities.

Dispersion. At effort 1 a seat's won deals are a Poisson process and their sizes lognormal (sigma_d) around
each unit's mean, so the year's sales are compound Poisson: Var / E^2 = sum_u mu_u m_u^2 exp(sigma_d^2) /
(sum_u mu_u m_u)^2 with mu_u the unit's expected wins. Rep skill multiplies the win rate and the deal size by
independent mean-1 lognormals of log-sd s, so the log-variance of a seat's sales is ln(1 + Var / E^2) + 2 s^2.
`matched_behaviour` sets s so that this equals the quota stage's sigma^2 on average over seats: the spread the
quota stage calibrates quotas on is the spread the simulator produces at normal effort.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from spmopt.sim.cycle import cycle_tail
from spmopt.sim.params import BehaviourParams, Param

if TYPE_CHECKING:
    from spmopt.sim.inputs import SimInputs


def expected_revenue(inputs: SimInputs, params: BehaviourParams) -> np.ndarray:
    """(seats,) expected revenue in cents at fixed effort 1 (seats on board all year, no capacity limit)."""
    days = float(inputs.days)
    in_year = days - cycle_tail(params, params.pipeline.warmup_days.value)
    per_unit = inputs.unit_rate * params.pipeline.win_probability * inputs.unit_size * in_year
    return np.bincount(inputs.unit_seat, weights=per_unit, minlength=len(inputs.seats))


def deal_log_variance(inputs: SimInputs, params: BehaviourParams) -> np.ndarray:
    """(seats,) variance of log year sales from the deals alone (effort 1, skill 1): ln(1 + Var / E^2) of the
    seat's compound-Poisson year, a new hire's counted over the part of the year they close deals in."""
    wins = inputs.unit_rate * params.pipeline.win_probability * inputs.days * inputs.first_spell()[inputs.unit_seat]
    size = inputs.unit_size
    second = np.exp(params.pipeline.deal_size_sigma.value**2)
    n = len(inputs.seats)
    mean = np.bincount(inputs.unit_seat, weights=wins * size, minlength=n)
    square = np.bincount(inputs.unit_seat, weights=wins * size**2 * second, minlength=n)
    return np.log1p(np.divide(square, mean**2, out=np.zeros(n), where=mean > 0))


def seat_log_sd(inputs: SimInputs, params: BehaviourParams) -> np.ndarray:
    """(seats,) log-sd of a seat's year sales at effort 1: deals and skill (see the module docstring)."""
    return np.sqrt(deal_log_variance(inputs, params) + 2 * params.reps.skill_sigma.value**2)


def matched_behaviour(params: BehaviourParams, inputs: SimInputs) -> tuple[BehaviourParams, tuple[str, ...]]:
    """`params` with the skill spread set so seats' log-sd at effort 1 is the quota stage's `inputs.dispersion`
    (root mean square over seats), and a warning when the deals alone spread sales wider than that; unchanged
    when the quota stage's dispersion is not known."""
    sigma = inputs.dispersion
    if sigma is None:
        return params, ()
    deal = float(deal_log_variance(inputs, params).mean())
    skill = float(np.sqrt(max(sigma**2 - deal, 0.0) / 2))
    old = params.reps.skill_sigma
    source = (
        f"calibrated to the quota stage's dispersion sigma {sigma:.4g}: the deals alone give seat sales a log-sd "
        f"of {np.sqrt(deal):.4g}, so skill (win rate and deal size, each lognormal) has sigma "
        f"sqrt(({sigma:.4g}^2 - {np.sqrt(deal):.4g}^2) / 2); the behaviour file's {old.value:g} is not used"
    )
    param = Param(value=skill, range=old.range, source=source)
    reps = params.reps.model_copy(update={"skill_sigma": param})
    notes: tuple[str, ...] = ()
    if deal > sigma**2:
        notes = (
            f"simulation: the deals alone spread seat sales wider (log-sd {np.sqrt(deal):.3f}) than the quota "
            f"stage's dispersion sigma {sigma:.3f}, so rep skill is set to 0 and the simulated spread is still "
            "the wider one; fewer, larger deals than the history shows? check deal_size_share and deal_size_sigma",
        )
    return params.model_copy(update={"reps": reps}), notes
