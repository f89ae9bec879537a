"""The simulated year against the quota stage's own expectations (the demo on its current alignment: the quota
stage calibrates quotas so 60% of reps are expected at quota; 60 replications of the target-incentive plan)."""

from __future__ import annotations

import pytest
from validity_support import (
    NEW_HIRE_TOLERANCE,
    SHARE_AT_QUOTA_TOLERANCE,
    measure_new_hire,
    measure_share_at_quota,
    new_hire,
    predicted_share_at_quota,
)

pytestmark = pytest.mark.slow


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known gap: on today's alignment workload capacity, which the quota stage does not see, holds the "
        "share at 55.0% (CI 51.1-58.9%) against 60% predicted; the designed alignment gives 62.8%"
    ),
)
def test_share_of_reps_at_quota_matches_the_quota_stage() -> None:
    """Share at quota. Source: the quota stage's calibration (`quota.attainment.target_share` 0.6; its predicted
    share in the manifest). Expected: the simulated share of reps at or above quota within 5 points of the
    predicted share.

    Measure: `share_at_quota` of the target-incentive plan (seat revenue over the seat's annual quota), mean over
    replications. With 9 reps x 60 replications its standard error is about 2 points."""
    predicted = predicted_share_at_quota()
    assert abs(predicted - 0.6) < 0.01, f"the quota stage did not calibrate to 60%: {predicted:.3f}"
    fig = measure_share_at_quota()
    assert abs(fig.value - predicted) <= SHARE_AT_QUOTA_TOLERANCE, f"simulated {fig} against predicted {predicted:.3f}"


def test_new_hire_sells_what_the_quota_stage_expects() -> None:
    """New hire. Source: the quota stage's expected sales for a rep starting in a later month (ramped). Expected:
    the simulated year's sales of that seat within 10% of the quota stage's expected sales.

    Measure: the demo's new hire (R08-COLUMBUS, start month 4): simulated seat revenue over the year, mean over
    replications, over the quota table's `expected_sales`."""
    territory, start, expected = new_hire()
    assert start > 1, f"{territory} is not a mid-year hire"
    fig = measure_new_hire()
    assert abs(fig.value - 1) <= NEW_HIRE_TOLERANCE, f"{territory} sells {fig} of its expected {expected:,.0f}"
