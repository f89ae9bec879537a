"""One dispersion for the quota stage and the simulator, on a small synthetic scenario.

24 territories of two units, about 250 won deals a year each. The quota stage backtests its sigma on a year of
history whose territory sales scatter around their potential share by a known amount, and calibrates quotas so
60% of reps are expected at quota. The simulator, given that sigma through the quota table, sets its rep-skill
spread so seat sales at normal effort have the same log-sd; with the behaviour file's own skill spread they
scatter more than twice as wide and far fewer than 60% reach quota, which the mismatch warning reports.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sim_helpers import defaults, demo_plan

from spmopt.config import QuotaConfig
from spmopt.data.history import SalesHistory
from spmopt.data.loader import PlanningData
from spmopt.quota.attainment import SHARE_AT_QUOTA_TOLERANCE, predicted_share, share_mismatch_warning
from spmopt.quota.plan import QuotaPlan, set_quotas
from spmopt.sim.analytic import matched_behaviour, seat_log_sd
from spmopt.sim.incentives import plan_contexts
from spmopt.sim.inputs import DISPERSION_COLUMN, SimInputs, sim_inputs
from spmopt.sim.params import BehaviourParams
from spmopt.sim.replication import simulate_replication

SEED = 8675309
SEATS = 24
FULL_YEAR = 10_000_000.0
"""Expected sales of a territory of average potential (currency units)."""
DEAL = 40_000.0
"""Mean deal: about 250 won deals a seat-year, so the deals alone spread a seat's year by about 7.5%."""
HISTORY_SIGMA = 0.12
"""How far last year's territory sales scatter around their potential share (log-sd)."""
REPLICATIONS = 30


# ---------------------------------------------------------------------------------------------- the scenario


def planning_data(params: BehaviourParams) -> PlanningData:
    rng = np.random.default_rng(SEED)
    territories = [f"T{k:02d}" for k in range(SEATS)]
    size = rng.uniform(0.8, 1.2, SEATS)
    rows, sales = [], []
    for t, s, noise in zip(territories, size, rng.normal(-(HISTORY_SIGMA**2) / 2, HISTORY_SIGMA, SEATS), strict=True):
        for j, part in enumerate((0.6, 0.4)):
            potential = 2 * FULL_YEAR * s * part
            accounts = params.pipeline.deal_size_share.value * potential / DEAL
            rows.append(
                {"unit_id": f"{t}-U{j}", "x_km": 0.0, "y_km": 0.0, "potential": potential, "accounts": accounts}
            )
            sales.append(0.5 * potential * np.exp(noise))
    units = pd.DataFrame(rows).set_index("unit_id")
    months = pd.period_range("2025-11", "2026-10", freq="M")
    monthly = pd.DataFrame(np.outer(sales, np.full(12, 1 / 12)), index=units.index, columns=months)
    history = SalesHistory(monthly=monthly, path=Path("history.csv"))
    return PlanningData(units=units, measures=("potential", "accounts"), history=history)


@cache
def scenario() -> tuple[QuotaPlan, pd.DataFrame, SimInputs, BehaviourParams]:
    """The quota stage's plan, its table as the simulator reads it, the simulator's inputs and the behaviour file."""
    params = defaults()
    data = planning_data(params)
    alignment = pd.Series([u.split("-")[0] for u in data.units.index], index=data.units.index, name="territory_id")
    territories = sorted(alignment.unique())
    cfg = QuotaConfig.model_validate(
        {
            "target": 230_000_000,
            "history": "history.csv",
            "attainment": {"target_share": 0.6, "forecast_total": int(SEATS * FULL_YEAR)},
        }
    )
    plan = set_quotas(cfg, data, alignment, {t: f"R-{t}" for t in territories}, seed=7)
    table = plan.table
    if DISPERSION_COLUMN not in table.columns:  # until the quota stage writes its sigma into the table itself
        table = table.assign(**{DISPERSION_COLUMN: plan.facts.dispersion.sigma})
    inputs = sim_inputs(data.units, alignment, table, params, dt.date(2027, 1, 1), cfg.ramp, accounts="accounts")
    return plan, table, inputs, params


@cache
def normal_effort_years(calibrated: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(replications, seats) year sales at fixed effort 1, and each seat's expected sales and annual quota."""
    _, table, inputs, params = scenario()
    if calibrated:
        params, notes = matched_behaviour(params, inputs)
        assert notes == ()
    contexts = plan_contexts([demo_plan("target_incentive")], inputs, params, None, table)
    sales = np.array(
        [
            simulate_replication(inputs, contexts, params, SEED, r, fixed_effort=True)[0].revenue.sum(axis=1) / 100
            for r in range(REPLICATIONS)
        ]
    )
    rows = table.set_index("territory_id").loc[list(inputs.seats)]
    return sales, rows["expected_sales"].to_numpy(float), rows["annual_quota"].to_numpy(float)


def log_sd(sales: np.ndarray, expected: np.ndarray) -> float:
    """Log-sd of seat sales around their expectation, pooled over seats (each seat's spread over replications)."""
    z = np.log(sales / expected)
    return float(np.sqrt(z.var(axis=0, ddof=1).mean()))


def share_at_quota(sales: np.ndarray, quota: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Mean share of seats at or above quota over replications and its 95% Student-t interval."""
    per_year = (sales >= quota).mean(axis=1)
    mean = float(per_year.mean())
    half = float(stats.t.ppf(0.975, len(per_year) - 1) * per_year.std(ddof=1) / np.sqrt(len(per_year)))
    return mean, (mean - half, mean + half)


# ---------------------------------------------------------------------------------------------- one sigma


@pytest.mark.slow
def test_simulated_spread_at_normal_effort_is_the_quota_stage_sigma() -> None:
    plan, table, inputs, params = scenario()
    sigma = plan.facts.dispersion.sigma
    assert plan.facts.dispersion.source.startswith("backtest")
    assert inputs.dispersion == pytest.approx(sigma)
    # The behaviour file's skill spread alone would make seats scatter far wider than the history says.
    assert seat_log_sd(inputs, params).mean() > 1.5 * sigma
    matched, _ = matched_behaviour(params, inputs)
    assert np.sqrt(np.mean(seat_log_sd(inputs, matched) ** 2)) == pytest.approx(sigma, rel=1e-9)
    sales, expected, _ = normal_effort_years(calibrated=True)
    # 24 seats x 30 years: the pooled log-sd is known to about 3%, its mean to about 0.5%.
    assert log_sd(sales, expected) == pytest.approx(sigma, rel=0.12)
    assert sales.mean() / expected.mean() == pytest.approx(1.0, abs=0.02)


# ---------------------------------------------------------------------------------------------- the warning


def test_mismatch_warning_fires_only_beyond_the_tolerance() -> None:
    text = share_mismatch_warning(0.60, 0.45, (0.42, 0.48), "target_incentive")
    assert text is not None
    assert "45.0% of reps reach quota under plan target_incentive" in text
    assert "calibrated quotas for 60.0%" in text
    assert "-15.0 points" in text
    assert "more replications" not in text
    unsettled = share_mismatch_warning(0.60, 0.53, (0.40, 0.66), "p")
    assert unsettled is not None
    assert "more replications would settle it" in unsettled
    assert share_mismatch_warning(0.60, 0.60 - SHARE_AT_QUOTA_TOLERANCE + 0.001, (0.5, 0.7), "p") is None
    assert share_mismatch_warning(0.60, 0.63, (0.61, 0.65), "p") is None


@pytest.mark.slow
def test_mismatch_warning_on_the_simulated_years() -> None:
    plan, table, _, _ = scenario()
    predicted = predicted_share(table)
    assert predicted == pytest.approx(plan.facts.predicted_share_at_quota, abs=1e-3)
    assert predicted == pytest.approx(0.6, abs=0.01)
    same = share_at_quota(*normal_effort_years(calibrated=True)[::2])
    assert share_mismatch_warning(predicted, same[0], same[1], "target_incentive") is None, same
    wide = share_at_quota(*normal_effort_years(calibrated=False)[::2])
    assert wide[0] < predicted - 0.05
    assert share_mismatch_warning(predicted, wide[0], wide[1], "target_incentive") is not None
