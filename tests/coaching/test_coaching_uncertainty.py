"""Coaching uncertainty carried through: the bootstrap covers the truth, the return's interval carries the
estimate's uncertainty, thin fits lean on the prior, hours start with the rep, and extrapolated hours are said."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sim_helpers import context, defaults, demo_plan, synthetic

from spmopt.coaching.allocate import CoachingInputs, allocate
from spmopt.coaching.evidence import BEST_UPLIFT, return_bound
from spmopt.coaching.run import coaching_paths, coaching_warnings, monthly_hours, start_months
from spmopt.coaching.shrink import shrink, with_coverage
from spmopt.coaching.uplift import UpliftModel, fit, synthetic_history
from spmopt.sim.montecarlo import coaching_returns
from spmopt.sim.replication import simulate_replication

ROOT = Path(__file__).resolve().parents[2]
PRIOR = UpliftModel.load(ROOT / "models" / "coaching_uplift" / "prior-v1.json")
TRUTH = (0.12, 6.0, 0.45)
"""u_max, K and d the demo's coaching history was generated with."""
TRUE = UpliftModel(TRUTH[0], TRUTH[0], TRUTH[0], TRUTH[1], TRUTH[2], "truth")


def reps(n: int) -> list[str]:
    return [f"R{k:02d}" for k in range(n)]


def test_bootstrap_interval_covers_the_generating_parameters_at_its_stated_rate() -> None:
    # 95% percentile intervals over 20 seeds: at the stated rate about 19 cover; fewer than 16 would happen
    # with probability 1.6% if the rate held (binomial), so that is the bar for each parameter.
    covered = []
    for seed in range(20):
        model = fit(synthetic_history(reps(12), 24, TRUE, np.random.default_rng(seed)), seed=seed)
        assert model.fitted_low is not None
        assert model.fitted_high is not None
        low, high = np.array(model.fitted_low), np.array(model.fitted_high)
        covered.append((low <= TRUTH) & (np.array(TRUTH) <= high))
    rate = np.mean(covered, axis=0)
    assert np.all(rate >= 16 / 20), dict(zip(("u_max", "K", "d"), rate, strict=True))
    # Reproducible: the same history and seed give the same draws.
    history = synthetic_history(reps(8), 24, TRUE, np.random.default_rng(3))
    assert fit(history, seed=1).draws == fit(history, seed=1).draws


@pytest.fixture(scope="module")
def sim_setup():
    params = defaults()
    inputs = synthetic(params, n_seats=4, units=4, seed=2)
    return params, inputs, context(demo_plan("target_incentive"), inputs, params)


def return_interval(sim_setup, model: UpliftModel, replications: int = 24) -> tuple[float, float, float]:
    """(mean, low, high) of the simulated return on cost of 2 h a month per seat, replication r playing the
    model's draw r mod n: the 2.5-97.5 percentiles over replications (`coaching_returns`)."""
    params, inputs, ctx = sim_setup
    hours = np.full((len(inputs.seats), 12), 2.0)
    paths = replace(coaching_paths(model, PRIOR, hours, bound=np.inf), checks=np.zeros((0, len(inputs.seats), 12)))
    years = [simulate_replication(inputs, [ctx], params, 7, r, uplift=paths) for r in range(replications)]
    roi = coaching_returns(["p"], years, cost=500_000).set_index("metric").loc["return_on_cost"]
    assert roi["interval"].startswith("2.5-97.5 percentiles")
    return float(roi["mean"]), float(roi["ci_low"]), float(roi["ci_high"])


@pytest.mark.slow
def test_return_interval_widens_with_fewer_history_reps(sim_setup) -> None:
    thick = shrink(fit(synthetic_history(reps(60), 24, TRUE, np.random.default_rng(4)), seed=4), PRIOR)
    thin = shrink(fit(synthetic_history(reps(5), 24, TRUE, np.random.default_rng(4)), seed=4), PRIOR)
    _, thick_low, thick_high = return_interval(sim_setup, thick)
    _, thin_low, thin_high = return_interval(sim_setup, thin)
    # 5 reps against 60, the same generating values: the thin history's draws spread the return far wider (the
    # year's own noise, the same in both, is in both intervals).
    assert thin_high - thin_low > 1.5 * (thick_high - thick_low)
    assert thin.weights is not None
    assert thick.weights is not None
    assert thin.weights[0] < thick.weights[0]


def test_shrinkage_pulls_a_thin_fit_to_the_prior_and_leaves_a_thick_one() -> None:
    far = UpliftModel(0.25, 0.25, 0.25, 2.0, 0.3, "truth")  # away from the prior's 0.10, 6 h, 0.45
    thin = fit(synthetic_history(reps(4), 8, far, np.random.default_rng(8)), seed=8)
    shrunk = shrink(thin, PRIOR)
    assert shrunk.weights is not None
    assert max(shrunk.weights) < 0.5
    prior_theta = np.array([np.log1p(0.10), np.log(6.0), 0.45])
    for raw, moved, centre in zip(
        (np.log1p(thin.max_uplift), np.log(thin.half_stock), thin.decay),
        (np.log1p(shrunk.max_uplift), np.log(shrunk.half_stock), shrunk.decay),
        prior_theta,
        strict=True,
    ):
        assert abs(moved - centre) <= abs(raw - centre) + 1e-12
    assert abs(shrunk.max_uplift - PRIOR.max_uplift) < 0.5 * abs(thin.max_uplift - PRIOR.max_uplift)
    thick = shrink(fit(synthetic_history(reps(80), 24, far, np.random.default_rng(8)), seed=8), PRIOR)
    assert thick.weights is not None
    assert thick.weights[0] > 0.8
    assert thick.max_uplift_low < far.max_uplift < thick.max_uplift_high


def test_no_hours_before_a_new_hire_starts(tmp_path: Path) -> None:
    reps_file = tmp_path / "reps.csv"
    reps_file.write_text("rep_id,x,y,start_month\nA,0,0,\nB,0,0,4\n", encoding="utf-8")
    cfg = SimpleNamespace(data=SimpleNamespace(reps=reps_file))
    start = start_months(cfg, ("A", "B"))  # type: ignore[arg-type]
    assert start.tolist() == [0.0, 4.0]
    hours = monthly_hours(np.array([2.0, 2.0]), start)
    assert hours[0].tolist() == [2.0] * 12
    assert hours[1].tolist() == [0.0] * 3 + [2.0] * 9  # B joins in April: hours from April on
    paths = coaching_paths(PRIOR.at(PRIOR.central()), PRIOR, hours, bound=np.inf)
    assert np.all(paths.draws[:, 1, :4] == 0)  # April's hours act from May
    assert np.all(paths.draws[:, 1, 4] > 0)
    assert np.all(paths.checks[:, 1, :4] == 0)
    # The allocation charges hours only for the months on board.
    months = 12.0 - np.maximum(start - 1, 0)
    inp = CoachingInputs(
        ("A", "B"), ("M", "M"), np.array([1e9, 1e9]), np.zeros(2), np.full(2, 2.0), {"M": 4.0}, months=months
    )
    table, _ = allocate(inp, PRIOR)
    assert table["months_coached"].tolist() == [12.0, 9.0]
    assert table["hours_per_year"].tolist() == [24.0, 18.0]


def test_hours_beyond_the_history_range_are_capped_or_flagged() -> None:
    # A history of short spells of about 1 h: its stocks stay low.
    rng = np.random.default_rng(2)
    history = synthetic_history(reps(10), 24, TRUE, rng)
    history["coaching_hours"] = np.round(0.3 * history["coaching_hours"], 1)
    model = with_coverage(PRIOR, history)
    assert model.covered_hours is not None
    assert 0 < model.covered_hours < 3
    inp = CoachingInputs(
        ("A", "B"), ("M", "M"), np.array([5e9, 5e9]), np.zeros(2), np.full(2, 4.0), {"M": 8.0}, covered=1.2
    )
    table, _ = allocate(inp, model)
    assert table["hours_per_month"].max() <= 1.0  # cut to the history's range, in whole 0.5 h slots
    assert table["why"].str.contains("capped at 1 h a month, the most the coaching history covers").all()
    assert table["beyond_history_hours"].eq(0).all()
    # A minimum above the range cannot be cut: its hours are flagged and the share is stated.
    forced = CoachingInputs(
        ("A", "B"), ("M", "M"), np.array([5e9, 5e9]), np.array([2.0, 0.0]), np.full(2, 4.0), {"M": 8.0}, covered=1.2
    )
    table, _ = allocate(forced, model)
    row = table.set_index("rep_id").loc["A"]
    assert row["hours_per_month"] == 2.0
    assert row["beyond_history_hours"] == pytest.approx(0.8)
    assert "extrapolates the fitted response" in row["why"]
    notes = coaching_warnings(table, UpliftModel(**{**_fields(model), "covered_hours": 1.2}), None)
    share = 100 * 0.8 * 12 / float(table["hours_per_year"].sum())
    assert any(f"{share:.1f}% of the plan's hours are beyond" in n for n in notes)


def _fields(model: UpliftModel) -> dict:
    return {name: getattr(model, name) for name in model.__dataclass_fields__}


def test_return_bound_is_the_best_published_effect_per_hour() -> None:
    value, months = np.array([1e9, 1e9]), np.array([12.0, 6.0])
    # 3 h a month earns at most the full effect; 1.5 h half of it; a rep on board half the year half again.
    bound = return_bound(np.array([3.0, 1.5]), value, months, margin=0.5, cost=1e7)
    assert bound == pytest.approx(BEST_UPLIFT * 0.5 * 1e9 * (1 + 0.5 * 0.5) / 1e7)
    assert return_bound(np.array([6.0, 0.0]), value, months, 0.5, 1e7) == pytest.approx(BEST_UPLIFT * 0.5 * 1e9 / 1e7)


def test_coaching_returns_use_each_replications_draw_and_report_the_fixed_sets(sim_setup) -> None:
    params, inputs, ctx = sim_setup
    model = shrink(fit(synthetic_history(reps(8), 24, TRUE, np.random.default_rng(5)), seed=5), PRIOR)
    paths = coaching_paths(model, PRIOR, np.full((len(inputs.seats), 12), 2.0), bound=3.0)
    years = [simulate_replication(inputs, [ctx], params, 7, r, uplift=paths) for r in range(10)]
    assert [y[1].coaching.index for y in years] == [r % len(model.draws) for r in range(10)]
    assert [y[2].coaching.parameters for y in years] == [paths.check_names[r % 5] for r in range(10)]
    roi = coaching_returns(["p"], years, cost=500_000)
    main = roi[roi["plan"] == "p"].set_index("metric")
    assert main.loc["return_bound", "mean"] == 3.0
    assert main.loc["return_on_cost", "interval"].startswith("2.5-97.5 percentiles")
    sets = roi[roi["plan"].str.startswith("p@")]
    assert set(sets["parameters"]) == {"fit", "estimate", "prior low", "prior central", "prior high"}
    low = sets[(sets["parameters"] == "prior low") & (sets["metric"] == "return_on_cost")].iloc[0]
    assert low["max_uplift"] == PRIOR.max_uplift_low
    assert isinstance(pd.DataFrame(roi), pd.DataFrame)
