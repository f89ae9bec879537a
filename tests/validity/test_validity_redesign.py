"""A plan redesign's revenue effect (synthetic scenario, 12 seats with quotas 0.6-1.6 x expected sales)."""

from __future__ import annotations

import pytest
from validity_support import REDESIGN_RANGE, measure_redesign

pytestmark = pytest.mark.slow


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known gap: the redesign lifts revenue +3.4% (CI +2.5% to +4.4%), below the +4.5% to +13.5% band "
        "around Misra & Nair (2011)"
    ),
)
def test_plan_redesign_effect_is_of_the_size_misra_and_nair_measured() -> None:
    """Plan redesign. Source: Misra & Nair (2011), Quantitative Marketing and Economics (a plan redesigned on their
    structural estimates, removing the features that made reps stop working, raised overall revenue by 9% in a
    field implementation). Expected: +4.5% to +13.5% (9% +- half).

    Measure: the demo target-incentive plan against `redesign` (one straight payout line from 45% attainment
    through quota at about the old on-track slope, no threshold jump, no caps, no margin gate), same draws, quotas
    at 0.6, 0.8, ..., 1.6 x expected sales so some reps are far from quota and some reach the caps. Total
    revenue, redesign / old - 1, paired by replication (30 replications)."""
    fig = measure_redesign()
    lo, hi = REDESIGN_RANGE
    assert lo <= fig.value <= hi, f"redesign revenue effect {fig}, expected {lo:+.1%} to {hi:+.1%}"
