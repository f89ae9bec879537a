"""Quota setting on small in-memory instances whose right answers are known in closed form or by hand.

Each unit is its own territory (alignment = identity) unless a test says otherwise, so a territory's
potential and last-year sales are exactly the numbers the test writes down.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from spmopt.config import QuotaConfig
from spmopt.data.history import SalesHistory
from spmopt.data.loader import PlanningData
from spmopt.errors import ConfigError, InfeasibleModelError
from spmopt.quota.attainment import attainment_probability, backtest_dispersion
from spmopt.quota.periods import ramp_factors, split_exact
from spmopt.quota.plan import QuotaPlan, set_quotas

FLAT = np.full(12, 1 / 12)


def planning_data(
    potential: list[float],
    last_year: list[float] | None = None,
    *,
    season: np.ndarray = FLAT,
    start_month: dict[str, int] | None = None,
) -> PlanningData:
    """Units T00, T01, ... with the given potential; optional 12 months of history shaped by `season`."""
    ids = pd.Index([f"T{k:02d}" for k in range(len(potential))], name="unit_id")
    units = pd.DataFrame({"x_km": 0.0, "y_km": 0.0, "potential": potential}, index=ids)
    history = None
    if last_year is not None:
        months = pd.period_range("2025-01", "2025-12", freq="M")
        monthly = pd.DataFrame(np.outer(last_year, season), index=ids, columns=months)
        history = SalesHistory(monthly=monthly, path=Path("history.csv"))
    reps = None
    if start_month is not None:
        reps = pd.DataFrame(
            {"x_km": 0.0, "y_km": 0.0, "territory_id": ids, "target_share": 1.0, "start_month": 0},
            index=pd.Index(ids, name="rep_id"),
        )
        for rep, month in start_month.items():
            reps.loc[rep, "start_month"] = month
    return PlanningData(units=units, measures=("potential",), reps=reps, history=history)


def quotas(data: PlanningData, **config: object) -> QuotaPlan:
    """Run the quota stage on the identity alignment with a scenario-style config."""
    config.setdefault("attainment", {"dispersion": 0.2})
    if data.history is not None:
        config.setdefault("history", Path("history.csv"))
    cfg = QuotaConfig.model_validate(config)
    ids = data.units.index
    alignment = pd.Series(ids, index=ids)
    return set_quotas(cfg, data, alignment, {t: t for t in ids}, seed=7)


def annual(plan: QuotaPlan) -> dict[str, int]:
    return dict(zip(plan.table["territory_id"], plan.table["annual_quota"].astype(int), strict=True))


def period_columns(plan: QuotaPlan) -> list[str]:
    return [c for c in plan.table.columns if re.fullmatch(r"quota_(m\d\d|q\d)", c)]


# ------------------------------------------------------------------------------------------ exact sums and splits


@pytest.mark.parametrize("method", ["share", "optimise"])
@pytest.mark.parametrize(("target", "granularity"), [(1_000_003, 1), (7_777_000, 1000), (9_995_000, 5000)])
def test_quotas_sum_exactly_to_target(method: str, target: int, granularity: int) -> None:
    plan = quotas(
        planning_data([101.0, 257.0, 389.0, 997.0, 1301.0, 3.0, 53.0]),
        target=target,
        granularity=granularity,
        method=method,
    )
    table = plan.table
    assert int(table["annual_quota"].sum()) == target
    assert (table["annual_quota"] % granularity == 0).all()
    assert (table[period_columns(plan)].sum(axis=1) == table["annual_quota"]).all()
    assert plan.facts.quota_total == target


@given(
    total=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=24).filter(lambda w: sum(w) > 0),
)
def test_split_exact_adds_up_and_stays_within_one_of_proportional(total: int, weights: list[float]) -> None:
    parts = split_exact(total, np.array(weights))
    assert sum(parts) == total
    raw = total * np.array(weights) / sum(weights)
    assert all(abs(p - r) < 1 + 1e-6 for p, r in zip(parts, raw, strict=True))


# ------------------------------------------------------------------------------------------ fairness and bounds


def test_cap_surplus_is_spread_evenly_over_the_others() -> None:
    """Potential 100:100:200, total 400, cap 150: the capped 50 goes 25/25 to the others (hand-checked)."""
    plan = quotas(planning_data([100.0, 100.0, 200.0]), target=400, granularity=1, cap=150)
    assert annual(plan) == {"T00": 125, "T01": 125, "T02": 150}
    assert plan.table.set_index("territory_id").loc["T02", "set_by"].startswith("upper bound: cap 150")
    assert plan.facts.equal_difficulty_level == pytest.approx(1.25)


def test_floor_lifts_the_small_territory_and_the_rest_pays_for_it() -> None:
    plan = quotas(planning_data([100.0, 300.0]), target=400, granularity=1, floor=150)
    assert annual(plan) == {"T00": 150, "T01": 250}
    assert plan.table.set_index("territory_id").loc["T00", "set_by"].startswith("lower bound: floor 150")


def test_growth_bounds_are_respected_and_unbounded_territories_share_one_level() -> None:
    potential = [400.0, 300.0, 200.0, 100.0, 250.0, 150.0]
    last_year = [100_000.0, 180_000.0, 40_000.0, 60_000.0, 90_000.0, 70_000.0]
    plan = quotas(
        planning_data(potential, last_year),
        target=640_000,
        granularity=1000,
        growth={"min": -0.05, "max": 0.25},
    )
    table = plan.table.set_index("territory_id")
    for t, sales in zip(table.index, last_year, strict=True):
        q = table.loc[t, "annual_quota"]
        assert math.ceil(0.95 * sales / 1000) * 1000 <= q <= math.floor(1.25 * sales / 1000) * 1000
    bounded = table["set_by"].str.startswith(("upper bound", "lower bound"))
    assert bounded.any()
    assert not bounded.all()
    assert table.loc[bounded, "set_by"].str.contains("growth").all()
    level = plan.facts.equal_difficulty_level
    free = table.loc[~bounded]
    share = free["fair_quota"] / 640_000
    # Each free territory holds lambda x its fair share, up to half a granularity step of rounding.
    assert np.all(np.abs(free["annual_quota"] - level * share * 640_000) <= 500 + 1)


def test_equal_potential_gives_equal_quota() -> None:
    plan = quotas(planning_data([50.0] * 4), target=4_000_000, granularity=1000)
    assert set(annual(plan).values()) == {1_000_000}


def test_equal_potential_differs_by_at_most_one_step_when_the_target_does_not_divide() -> None:
    plan = quotas(planning_data([50.0] * 4), target=10_000, granularity=1000)
    values = sorted(annual(plan).values())
    assert values == [2000, 2000, 3000, 3000]


@settings(max_examples=40, deadline=None)
@given(
    potential=st.lists(st.integers(min_value=1, max_value=10**6), min_size=2, max_size=10),
    steps=st.integers(min_value=1, max_value=50_000),
    granularity=st.sampled_from([1, 100, 1000]),
)
def test_more_potential_never_gets_a_smaller_quota(potential: list[int], steps: int, granularity: int) -> None:
    data = planning_data([float(p) for p in potential])
    refused = None
    try:
        optimised = annual(quotas(data, target=steps * granularity, granularity=granularity))
        shared = annual(quotas(data, target=steps * granularity, granularity=granularity, method="share"))
    except ConfigError as err:  # a step above some territory's fair share would round it to 0: refused
        refused = str(err)
    if refused is not None:
        assert granularity > 1
        assert "quota.granularity" in refused
        assert steps * min(potential) < sum(potential)
        return
    assert sum(optimised.values()) == steps * granularity
    q = [optimised[f"T{k:02d}"] for k in range(len(potential))]
    n = len(potential)
    assert all(q[i] >= q[j] for i in range(n) for j in range(n) if potential[i] > potential[j])
    assert all(abs(q[i] - q[j]) <= granularity for i in range(n) for j in range(n) if potential[i] == potential[j])
    # Both methods round the same fair shares up or down, so they differ by at most one step per territory.
    assert all(abs(optimised[t] - shared[t]) <= granularity for t in optimised)


def test_infeasible_growth_bounds_name_the_bound_and_the_gap() -> None:
    data = planning_data([100.0, 100.0], [1_000_000.0, 1_000_000.0])
    with pytest.raises(InfeasibleModelError) as err:
        quotas(data, target=3_000_000, granularity=1000, growth={"max": 0.2})
    text = str(err.value)
    assert "upper bounds add up to 2,400,000" in text
    assert "600,000 short of" in text
    assert "growth max +20.0% on last-year 1,000,000" in text


def test_contradictory_floor_and_growth_cap_name_the_territory() -> None:
    data = planning_data([100.0, 100.0], [100_000.0, 1_000_000.0])
    with pytest.raises(InfeasibleModelError, match=r"territory T00 .*floor 500,000.*growth max"):
        quotas(data, target=2_000_000, granularity=1000, floor=500_000, growth={"max": 0.5})


def test_target_far_above_potential_warns_by_how_much() -> None:
    plan = quotas(planning_data([100.0, 100.0]), target=300, granularity=1)
    assert any("50.0% above total potential 200" in w for w in plan.warnings)


# ------------------------------------------------------------------------------------------ attainment


def test_attainment_probability_matches_the_lognormal_tail() -> None:
    sigma, expected, quota = 0.3, 1_000_000.0, 900_000.0
    rng = np.random.default_rng(3)
    sales = rng.lognormal(np.log(expected) - sigma**2 / 2, sigma, size=400_000)
    assert attainment_probability(np.array([quota]), np.array([expected]), sigma)[0] == pytest.approx(
        (sales >= quota).mean(), abs=0.003
    )


def test_calibration_matches_the_closed_form_level() -> None:
    """Ten identical territories: P(S >= Q) = 0.6 at Q = E exp(-sigma^2/2 - sigma Phi^-1(0.6))."""
    sigma, expected = 0.25, 1_000_000
    plan = quotas(
        planning_data([1.0] * 10),
        target=10_000_000,
        granularity=1000,
        attainment={"dispersion": sigma, "target_share": 0.6, "forecast_total": 10 * expected},
    )
    exact = 10 * expected * math.exp(-(sigma**2) / 2 - sigma * norm.ppf(0.6))
    assert abs(plan.facts.quota_total - exact) <= 1000
    assert plan.facts.predicted_share_at_quota >= 0.6


def test_calibration_hits_the_target_share_within_monte_carlo_error() -> None:
    rng = np.random.default_rng(11)
    potential = rng.lognormal(np.log(2e6), 0.6, size=30)
    sigma, forecast = 0.3, 50_000_000
    plan = quotas(
        planning_data(potential.round().tolist()),
        target=40_000_000,
        granularity=1000,
        attainment={"dispersion": sigma, "target_share": 0.6, "forecast_total": forecast},
    )
    q = plan.table["annual_quota"].to_numpy(dtype=float)
    expected = forecast * potential / potential.sum()
    draws = np.random.default_rng(12).lognormal(np.log(expected) - sigma**2 / 2, sigma, size=(20_000, len(q)))
    per_draw = (draws >= q).mean(axis=1)
    se = per_draw.std(ddof=1) / np.sqrt(len(per_draw))
    # One granularity step moves the share by far less than 0.001, so Monte-Carlo error dominates.
    assert abs(per_draw.mean() - 0.6) <= 3 * se + 0.001
    assert abs(plan.facts.monte_carlo_share_at_quota - 0.6) <= plan.facts.monte_carlo_ci95_half_width * 2 + 0.001


def test_calibration_below_target_warns_of_under_assignment() -> None:
    plan = quotas(
        planning_data([1.0] * 5),
        target=5_000_000,
        granularity=1000,
        attainment={"dispersion": 0.2, "target_share": 0.6},
    )
    assert plan.facts.quota_total < 5_000_000
    assert any("below the company target 5,000,000" in w for w in plan.warnings)


def test_dispersion_backtest_recovers_a_known_sigma() -> None:
    rng = np.random.default_rng(5)
    n, sigma = 400, 0.2
    potential = rng.uniform(1e5, 1e6, size=n)
    sales = 0.4 * potential * rng.lognormal(-(sigma**2) / 2, sigma, size=n)
    data = planning_data(potential.tolist(), sales.tolist())
    ids = data.units.index
    estimate = backtest_dispersion(
        data.history, dict(zip(ids, ids, strict=True)), dict(zip(ids, potential, strict=True)), {"potential": 1.0}
    )
    assert estimate.territories == n
    assert estimate.sigma == pytest.approx(sigma, abs=3 * sigma / math.sqrt(2 * (n - 1)))


# ------------------------------------------------------------------------------------------ seasonality and ramp


def test_history_seasonality_is_recovered_and_split_exactly() -> None:
    season = np.array([5, 6, 9, 7, 8, 10, 7, 7, 11, 8, 9, 13], dtype=float)
    season /= season.sum()
    data = planning_data([100.0, 200.0], [120_000.0, 240_000.0], season=season)
    plan = quotas(data, target=1_000_003, granularity=1, seasonality={"profile": "history"})
    table = plan.table
    months = period_columns(plan)
    assert len(months) == 12
    assert (table[months].sum(axis=1) == table["annual_quota"]).all()
    shares = table[months].sum(axis=0).to_numpy() / table["annual_quota"].sum()
    assert np.allclose(shares, season, atol=1e-5)


def test_fiscal_year_rotates_the_history_profile() -> None:
    season = np.arange(1, 13, dtype=float)
    season /= season.sum()
    data = planning_data([100.0], [120_000.0], season=season)
    assert np.allclose(data.history.month_profile(fiscal_start_month=4), np.roll(season, -3))


def test_profile_not_summing_to_one_is_normalised_with_a_warning() -> None:
    profile = [0.1] * 12  # sums to 1.2
    plan = quotas(planning_data([1.0]), target=1200, granularity=1, seasonality={"profile": profile})
    assert any("sums to 1.2" in w and "normalised" in w for w in plan.warnings)
    assert set(plan.table[period_columns(plan)].iloc[0]) == {100}


def test_quarterly_profile_gives_quarter_quotas() -> None:
    plan = quotas(
        planning_data([1.0]), target=1000, granularity=1, seasonality={"periods": "quarter", "profile": [1, 2, 3, 4]}
    )
    assert plan.table[["quota_q1", "quota_q2", "quota_q3", "quota_q4"]].iloc[0].tolist() == [100, 200, 300, 400]


def test_new_rep_ramps_from_the_start_month() -> None:
    data = planning_data([100.0, 100.0], start_month={"T01": 4})
    plan = quotas(data, target=2_060_000, granularity=1, ramp=(0.5,))
    table = plan.table.set_index("territory_id")
    ramp = (0.5 + 8) / 12
    assert table.loc["T01", "ramp_factor"] == pytest.approx(ramp, abs=1e-4)
    # Equal potential, so the new rep's quota is the ramp factor times the full-year rep's.
    assert table.loc["T01", "annual_quota"] / table.loc["T00", "annual_quota"] == pytest.approx(ramp, rel=1e-5)
    months = table.loc["T01", [f"quota_m{k:02d}" for k in range(1, 13)]].to_numpy(dtype=int)
    assert months[:3].tolist() == [0, 0, 0]
    assert abs(2 * months[3] - months[4]) <= 2
    assert table.loc["T00", "quota_potential_index"] == pytest.approx(
        table.loc["T01", "quota_potential_index"], abs=1e-4
    )
    assert ramp_factors(4, (0.5,)).tolist() == [0, 0, 0, 0.5] + [1.0] * 8


def test_a_new_hire_in_the_first_month_still_ramps() -> None:
    assert ramp_factors(1, (0.25, 0.5)).tolist() == [0.25, 0.5] + [1.0] * 10
    assert ramp_factors(0, (0.25, 0.5)).tolist() == [1.0] * 12
