"""Coaching fed back into the simulator: common random numbers make its effect exact to attribute."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import context, defaults, demo_plan, synthetic

from spmopt.sim.montecarlo import coaching_returns
from spmopt.sim.replication import simulate_replication


@pytest.fixture(scope="module")
def setup():
    params = defaults()
    inputs = synthetic(params, n_seats=4, units=4, seed=2)
    ctx = context(demo_plan("target_incentive"), inputs, params)
    return params, inputs, ctx


def run(setup, uplift: np.ndarray, replications: int = 12) -> list:
    params, inputs, ctx = setup
    return [simulate_replication(inputs, [ctx], params, 7, r, uplift=uplift) for r in range(replications)]


def test_zero_uplift_changes_nothing_and_its_return_interval_is_zero(setup) -> None:
    _, inputs, _ = setup
    years = run(setup, np.zeros((len(inputs.seats), 12)))
    for base, coached in years:
        assert np.array_equal(base.revenue, coached.revenue)
        assert np.array_equal(base.payment, coached.payment)
    roi = coaching_returns(["p"], years, cost=1_000_00).set_index("metric")
    for metric in ("revenue_uplift", "margin_uplift", "extra_pay", "return_on_cost"):
        assert roi.loc[metric, "ci_low"] <= 0 <= roi.loc[metric, "ci_high"]
        assert roi.loc[metric, "mean"] == 0
    assert roi.loc["net_gain", "mean"] == pytest.approx(-1_000)


def test_coaching_only_turns_losses_into_wins(setup) -> None:
    _, inputs, _ = setup
    uplift = np.tile(np.linspace(0.0, 0.2, 12), (len(inputs.seats), 1))
    years = run(setup, uplift)
    for base, coached in years:
        assert coached.deals.sum() >= base.deals.sum()
    gain = np.array([c.revenue.sum() - b.revenue.sum() for b, c in years])
    assert gain.mean() > 0
    # More uplift never sells less, replication by replication (the same draws, a higher win probability).
    more = run(setup, 2 * uplift)
    for (_, once), (_, twice) in zip(years, more, strict=True):
        assert twice.deals.sum() >= once.deals.sum()


def test_uplift_of_a_month_only_touches_deals_reaching_the_last_stage_then(setup) -> None:
    _, inputs, _ = setup
    uplift = np.zeros((len(inputs.seats), 12))
    uplift[:, 11] = 0.5  # December only: deals entering negotiation in December close in the next year
    years = run(setup, uplift, replications=6)
    for base, coached in years:
        assert np.array_equal(base.revenue[:, :11], coached.revenue[:, :11])
