"""Quarterly bonuses as pacers for weak performers (synthetic scenario, 12 seats, 30 replications)."""

from __future__ import annotations

import pytest
from validity_support import QUARTERLY_BONUS_MIN_GAIN, measure_quarterly_backloading, measure_quarterly_bonus

pytestmark = pytest.mark.slow


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known gap: effort tables price annual attainment only, so quarterly milestones barely move weak "
        "performers (+0.3%, CI -0.1% to +0.8%); pricing per-period pay in the tables is open"
    ),
)
def test_quarterly_bonuses_raise_weak_performers_sales() -> None:
    """Quarterly bonuses pace weak performers. Source: Chung, Steenburgh & Sudhir (2014), Marketing Science
    ("quarterly bonuses help improve performance of the weak performers by serving as pacers to keep the sales
    force on track to achieve their annual sales quotas"). Expected sign: positive (weak performers sell more, and
    less of it in the last quarter, with quarterly bonuses than with annual-only; the test asserts the sales level,
    the Q4 share is reported).

    Measure: 0.4% commission plus four 5,000 bonuses at 97/98/99/100% attainment, either all judged at the year
    end (annual-only) or each frozen at the end of its quarter (`by_period` 1-4: quarterly pacers), same draws.
    Weak performers are the six seats whose quota is 1.25 x expected sales (80% expected attainment). Their
    year's revenue, quarterly / annual-only - 1, paired by replication: interval above 0."""
    fig = measure_quarterly_bonus()
    backloading = measure_quarterly_backloading()  # reported with the failure; the sales level is the test
    assert fig.low > QUARTERLY_BONUS_MIN_GAIN, (
        f"quarterly bonuses do not raise weak performers' sales: {fig}; Q4 share change {backloading}"
    )
