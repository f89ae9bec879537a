"""What timing games cost (the demo on its current alignment, target-incentive plan)."""

from __future__ import annotations

import pytest
from validity_support import TIMING_COST_RANGE, measure_timing_cost

pytestmark = pytest.mark.slow


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known gap: with the demo's 70-day cycle only ~11% of revenue moves, concessions cost 0.45% and net "
        "revenue lost is -0.1% (CI -0.5% to +0.3%), against 6-8% in Larkin (2014)"
    ),
)
def test_timing_games_cost_a_few_percent_of_revenue() -> None:
    """Cost of timing games. Source: Larkin (2014), Journal of Labor Economics (salespeople game the timing of
    deal closure under an accelerating commission scheme, with price concessions that cost the vendor 6-8% of
    revenue). Expected: 2-10% of revenue (a few percent; Larkin's 6-8% for enterprise software inside it).

    Measure: the demo under its non-linear target-incentive plan, simulated with deal timing and again with
    `timing.movable_share` 0 (no deal can be moved), same draws; revenue without timing minus revenue with it,
    over revenue without it, paired by replication (30 replications)."""
    fig = measure_timing_cost()
    lo, hi = TIMING_COST_RANGE
    assert lo <= fig.value <= hi, f"revenue lost to timing games {fig}, expected {lo:.0%}-{hi:.0%}"
