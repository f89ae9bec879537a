"""Year-end spike and quarter-end bunching of sales (the demo on its current alignment, target-incentive plan,
60 replications)."""

from __future__ import annotations

import pytest
from validity_support import (
    DECEMBER_RANGE,
    QUARTER_END_RANGE,
    demo_transaction_ratios,
    measure_december,
    measure_quarter_ends,
)

pytestmark = pytest.mark.slow


def test_december_sales_spike_above_mid_quarter_months() -> None:
    """Year-end spike. Source: Oyer (1998), Quarterly Journal of Economics (sales are higher at fiscal year ends,
    consistent with non-linear pay shifting the timing of sales); the demo's own FY2027 transactions show
    December at 1.47x the mean mid-quarter month. Expected: December / mean(Feb, May, Aug, Nov) in [1.15, 1.8].

    Measure: the demo's simulated revenue summed over seats, December over the mean mid-quarter month (ratio of
    means over replications, delta-method interval)."""
    data = demo_transaction_ratios()["december"]
    assert DECEMBER_RANGE[0] <= data <= DECEMBER_RANGE[1], f"the demo's own data ({data:.2f}) is outside the range"
    fig = measure_december()
    assert DECEMBER_RANGE[0] <= fig.value <= DECEMBER_RANGE[1], f"December / mid-quarter {fig}; data {data:.2f}"


def test_quarter_end_months_above_mid_quarter_months() -> None:
    """Quarter-end bunching. Source: Oyer (1998), Quarterly Journal of Economics, and Larkin (2014), Journal of
    Labor Economics (deals timed to period ends); the demo's FY2027 transactions show quarter-end months at
    1.28-1.47x (mean 1.36x) the mean mid-quarter month. Expected: mean(Mar, Jun, Sep, Dec) / mean(Feb, May, Aug,
    Nov) in [1.10, 1.65].

    Measure: the demo's simulated revenue summed over seats, mean quarter-end month over mean mid-quarter month."""
    data = demo_transaction_ratios()["quarter_ends"]
    assert QUARTER_END_RANGE[0] <= data <= QUARTER_END_RANGE[1], f"the demo's own data ({data:.2f}) is outside"
    fig = measure_quarter_ends()
    assert QUARTER_END_RANGE[0] <= fig.value <= QUARTER_END_RANGE[1], (
        f"quarter-end / mid-quarter {fig}; data {data:.2f}"
    )
