"""Effort against the pay curve, read from the simulated seat-month effort (synthetic scenarios, 12 seats,
30 replications, `validity_support.synthetic_run`): reps far behind give up late in the year, reps headed past a
cap ease off, reps past quota under an accelerator do not."""

from __future__ import annotations

import pytest
from validity_support import (
    ACCELERATOR_MIN_RATIO,
    CAP_MAX_CHANGE,
    GIVE_UP_MAX_RATIO,
    measure_accelerator,
    measure_cap_effort,
    measure_decelerator,
    measure_give_up,
    measure_give_up_on_track,
)

pytestmark = pytest.mark.slow


def test_reps_far_behind_quota_give_up_late_in_the_year() -> None:
    """Give-up. Source: Chung, Steenburgh & Sudhir (2014), Marketing Science ("salespeople tend to give up when far
    away from reaching a quota"); Misra & Nair (2011), Quantitative Marketing and Economics (effort falls once
    quota is out of reach). Expected sign: negative.

    Measure: demo target-incentive plan, quotas at 1.0 / 1.6 / 2.2 x expected sales. Seat-years with one rep all
    year whose January-September sales put them on pace for less than 50% of quota: November-December effort over
    their own January-March effort. Expected at most 0.95 (a fall of 5% or more), interval below 1."""
    fig = measure_give_up()
    assert fig.n >= 20, f"too few far-behind seat-years to judge: {fig}"
    assert fig.high < 1.0, f"effort of reps far behind does not fall: {fig}"
    assert fig.value <= GIVE_UP_MAX_RATIO, f"effort of reps far behind falls by less than 5%: {fig}"
    # Not a year-end fall for everyone: reps on track keep their effort.
    on_track = measure_give_up_on_track()
    assert on_track.value > fig.value, f"on track {on_track} vs far behind {fig}"


def test_effort_eases_once_a_cap_on_pay_is_reached() -> None:
    """Easing above a cap. Source: Misra & Nair (2011), Quantitative Marketing and Economics (effort falls past the
    plan's ceiling, where more sales pay nothing). Expected sign: negative.

    Measure: quotas at 0.5 x expected sales (reps expect 200% attainment and pass the 175% revenue cap in about
    October); the demo target-incentive plan against the same plan without caps, on the same draws. Capped over
    uncapped November-December effort - 1, paired by seat-year: at most -5%, interval below 0."""
    fig = measure_cap_effort()
    assert fig.high < 0.0, f"a cap does not lower effort past it: {fig}"
    assert fig.value <= CAP_MAX_CHANGE, f"effort past the cap falls by less than 5%: {fig}"


def test_no_slowdown_past_quota_with_an_accelerator() -> None:
    """No slowdown past quota with an accelerator. Source: Chung, Steenburgh & Sudhir (2014), Marketing Science
    (overachievement commissions sustain the best performers' productivity after they reach quota; salespeople
    "don't slow down once a quota is reached"). Expected sign: no fall (ratio >= 1, within 2%).

    Measure: the demo target-incentive plan without caps (payout slope 2 above quota against 1.6 below), quotas
    at 0.9 x expected sales. Seat-years with one rep all year whose January-October sales reached the annual
    quota: November-December effort over their own January-March effort, at least 0.98. A control plan whose pay
    flattens past quota (slope 0.5) must fall below that bound, or the measure could not see a slowdown."""
    fig = measure_accelerator()
    assert fig.n >= 20, f"too few reps past quota by October to judge: {fig}"
    assert fig.value >= ACCELERATOR_MIN_RATIO, f"reps past quota slow down despite the accelerator: {fig}"
    control = measure_decelerator()
    assert control.value < ACCELERATOR_MIN_RATIO, f"the measure misses the slowdown of the control plan: {control}"
