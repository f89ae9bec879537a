"""The simulator against what can be known without it: the closed-form expectation at fixed effort, exact
reproducibility, a paired comparison that must be exactly zero, and metamorphic relations (a steeper accelerator,
a cap, more potential, a quota out of reach) whose direction follows from the model's rules."""

from __future__ import annotations

import numpy as np
from sim_helpers import (
    arrays,
    context,
    defaults,
    demo_plan,
    double_potential,
    effort_table,
    no_skill_spread,
    steeper,
    synthetic,
    with_param,
    with_revenue,
)

from spmopt.sim import analytic
from spmopt.sim.incentives import GRID_STEP, LEVELS, grid
from spmopt.sim.montecarlo import METRICS, interval, summarise
from spmopt.sim.replication import simulate_replication

SEED = 20270101


def gi(x: float) -> int:
    """Grid index of forecast multiple x."""
    return round(x / GRID_STEP)


# ------------------------------------------------------------------------------------------ analytic expectation


def test_fixed_effort_revenue_matches_the_closed_form() -> None:
    params = no_skill_spread()
    inputs = synthetic(params)
    ctx = context(demo_plan("target_incentive"), inputs, params)
    n = 250
    years = [simulate_replication(inputs, [ctx], params, SEED, r, fixed_effort=True)[0] for r in range(n)]
    revenue = np.array([y.revenue.sum(axis=1) for y in years])  # (replications, seats) cents
    expected = analytic.expected_revenue(inputs, params)
    # With a 180-day warm-up the year opens with a full pipeline: the closed form is the rate x the year, less the
    # tiny tail of cycles longer than the warm-up.
    naive = inputs.expected_amount(params.pipeline.win_probability)
    assert np.all(expected < naive)
    assert np.all(expected > 0.999 * naive)
    # Four 95% statements (three seats and the total): Bonferroni keeps the chance of a false alarm at 5%.
    level = 1 - 0.05 / (len(inputs.seats) + 1)
    for s in range(len(inputs.seats)):
        mean, _, low, high = interval(revenue[:, s], level)
        assert low <= expected[s] <= high, f"seat {s}: {expected[s]:.0f} outside [{low:.0f}, {high:.0f}]"
        assert (high - low) / 2 < 0.05 * mean, "interval too wide for the test to mean anything"
    mean, _, low, high = interval(revenue.sum(axis=1), level)
    assert low <= expected.sum() <= high
    assert (high - low) / 2 < 0.03 * mean


# ------------------------------------------------------------------------------------------ reproducibility


def test_same_seed_same_year_different_seed_different_year() -> None:
    params = defaults()
    inputs = synthetic(params)
    ctx = context(demo_plan("target_incentive"), inputs, params)
    first = simulate_replication(inputs, [ctx], params, SEED, 3)[0]
    again = simulate_replication(inputs, [ctx], params, SEED, 3)[0]
    for name, value in arrays(first).items():
        np.testing.assert_array_equal(value, arrays(again)[name], err_msg=name)
    other_seed = simulate_replication(inputs, [ctx], params, SEED + 1, 3)[0]
    other_replication = simulate_replication(inputs, [ctx], params, SEED, 4)[0]
    assert not np.array_equal(first.revenue, other_seed.revenue)
    assert not np.array_equal(first.revenue, other_replication.revenue)
    assert first.revenue.sum() != other_seed.revenue.sum()


def test_a_plan_against_itself_differs_by_exactly_zero() -> None:
    params = defaults()
    inputs = synthetic(params)
    plan = demo_plan("target_incentive")
    base = context(plan, inputs, params)
    twin = context(plan, inputs, params, reference_rate=base.reference_rate)
    years = [simulate_replication(inputs, [base, twin], params, SEED, r) for r in range(12)]
    result = summarise(["base", "twin"], inputs.seats, inputs.reps, years, keep_months=False)
    diffs = result.differences.set_index("metric")
    assert set(diffs.index) == set(METRICS)
    for metric in METRICS:
        row = diffs.loc[metric]
        assert (row["mean"], row["ci_low"], row["ci_high"]) == (0.0, 0.0, 0.0), metric
        assert row["n"] == 12
    # ... and it is not zero because nothing happened: the year is busy and behaviour is on.
    assert result.metric("base", "revenue")["mean"] > 0
    assert result.metric("base", "payout")["mean"] > 0
    assert result.metric("base", "effort_mean")["sd"] > 0


# ------------------------------------------------------------------------------------------ metamorphic relations


def test_a_steeper_accelerator_never_lowers_effort_near_quota() -> None:
    params = defaults()
    inputs = synthetic(params)
    plan = demo_plan("target_incentive")
    base = context(plan, inputs, params)
    steep = context(steeper(plan), inputs, params, reference_rate=base.reference_rate)
    near = slice(gi(0.9), gi(1.1) + 1)
    e_base = effort_table(base, params, base.reference_rate)[:, :, near]
    e_steep = effort_table(steep, params, base.reference_rate)[:, :, near]
    assert e_base.shape == (len(inputs.seats), LEVELS, gi(1.1) - gi(0.9) + 1)
    assert np.all(e_steep >= e_base - 1e-12)
    # Not vacuous: with no uncertainty left, a rep above quota now works harder (and below it, the same).
    above = grid()[near] >= 1.0 - 1e-9
    assert np.all(e_steep[:, 0, above] > e_base[:, 0, above])
    np.testing.assert_allclose(e_steep[:, 0, ~above], e_base[:, 0, ~above])
    # With uncertainty, the steeper slope pulls a rep just below quota too.
    assert np.all(e_steep[:, 1:, :] > e_base[:, 1:, :])


def test_a_cap_lowers_effort_above_it() -> None:
    params = defaults()
    inputs = synthetic(params)
    plan = demo_plan("target_incentive")
    assert plan.measures[0].cap == 2.5  # reached at 175% of quota (1.0 + 2 x 0.75)
    capped = context(plan, inputs, params)
    uncapped = context(with_revenue(plan, cap=None), inputs, params, reference_rate=capped.reference_rate)
    e_cap = effort_table(capped, params, capped.reference_rate)
    e_free = effort_table(uncapped, params, capped.reference_rate)
    # A cap only removes pay, so it never raises effort anywhere.
    assert np.all(e_cap <= e_free + 1e-12)
    # Late in the year (<= 3 months left, sigma <= 0.125) and well past 175%, the capped rep earns nothing more on
    # revenue (the margin measure is capped from about 150%): effort falls to the floor; uncapped, it does not.
    late, far = slice(0, 4), slice(gi(2.2), gi(3.0) + 1)
    e_min = params.motivation.effort_min.value
    np.testing.assert_array_equal(e_cap[:, late, far], e_min)
    assert np.all(e_free[:, late, far] > e_min + 0.1)


def test_effort_falls_to_the_floor_when_quota_is_out_of_reach_late_in_the_year() -> None:
    params = defaults()
    inputs = synthetic(params)
    ctx = context(demo_plan("target_incentive"), inputs, params)
    effort = effort_table(ctx, params, ctx.reference_rate)
    e_min = params.motivation.effort_min.value
    # One month left at 20% of expectation: the 50% threshold is four standard deviations away.
    np.testing.assert_array_equal(effort[:, 1, gi(0.2)], e_min)
    # At the same forecast with the whole year ahead the threshold is still within reach: some pull remains.
    assert np.all(effort[:, LEVELS - 1, gi(0.2)] > e_min)
    # On track, a rep works at about normal effort (the reference is the on-track marginal pay).
    np.testing.assert_allclose(effort[:, LEVELS - 1, gi(1.0)], 1.0, atol=1e-9)


def test_more_potential_sells_more() -> None:
    params = defaults()
    inputs = synthetic(params)
    richer = double_potential(inputs)
    plan = demo_plan("target_incentive")
    base = context(plan, inputs, params)
    rich = context(plan, richer, params, reference_rate=base.reference_rate)  # same plan, same quotas
    n = 30
    revenue = np.array(
        [
            [simulate_replication(inp, [ctx], params, SEED, r)[0].revenue.sum() for r in range(n)]
            for inp, ctx in ((inputs, base), (richer, rich))
        ]
    )
    _, _, low_base, high_base = interval(revenue[0])
    mean_rich, _, low_rich, _ = interval(revenue[1])
    assert high_base < low_rich
    # Twice the opportunities at no less than the effort floor: clearly more, at most twice at the effort ceiling.
    e = params.motivation
    assert revenue[1].mean() > 1.3 * revenue[0].mean()
    assert mean_rich < 2 * e.effort_max.value / e.effort_min.value * revenue[0].mean()


def test_without_warm_up_the_year_loses_one_mean_cycle() -> None:
    # With no pipeline before the year, an opportunity closes inside it exactly when it arrives in [0, T - D), so
    # E[revenue] = rate x p_win x size x (T - E[D]) with E[D] = sum of the stage means (70 days), by hand.
    params = no_skill_spread(with_param(defaults(), "pipeline", "warmup_days", 0.0))
    inputs = synthetic(params)
    ctx = context(demo_plan("target_incentive"), inputs, params)
    cycle = sum(s.mean_days for s in params.pipeline.stages)
    assert cycle == 70
    expected = inputs.expected_amount(params.pipeline.win_probability).sum() * (inputs.days - cycle) / inputs.days
    total = [
        simulate_replication(inputs, [ctx], params, SEED, r, fixed_effort=True)[0].revenue.sum() for r in range(200)
    ]
    mean, _, low, high = interval(np.array(total))
    assert low <= expected <= high, f"{expected:.0f} outside [{low:.0f}, {high:.0f}]"
    assert (high - low) / 2 < 0.03 * mean
    # The interval excludes the full-year figure a missing warm-up would be mistaken for.
    assert high < inputs.expected_amount(params.pipeline.win_probability).sum()
