"""Plan KPIs, marginal pay, payout curves and the what-if estimator: hand-computed cents and exact rates on
tiny plans, cross-checked against the engine."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from comp_helpers import CURVE, plan

from spmopt.comp.engine import evaluate, exact_amount, round_cents
from spmopt.comp.kpi import (
    DEFAULT_GRID,
    first_paying_level,
    marginal_rate,
    payout_curves,
    plan_kpis,
    step_jumps,
    what_if,
)
from spmopt.comp.plan import CompPlan

TIERS = [{"from": "0", "to": "1", "rate": "0.05"}, {"from": "1", "rate": "0.08"}]
TI = 1_000_000  # $10,000 in cents
Q = 10_000_000  # $100,000 in cents


# ------------------------------------------------------------------------------------------- marginal pay


@pytest.mark.parametrize(
    ("attainment", "rate"),
    [
        (Fraction(2, 5), Fraction(0)),  # below the threshold
        (Fraction(1, 2), Fraction(1, 5)),  # exactly at it: the right-derivative is the first segment's slope
        (Fraction(4, 5), Fraction(1, 5)),  # 1,000,000 x 1 x 2 / 10,000,000
        (Fraction(6, 5), Fraction(1, 5)),  # slope 2 above 100% too
        (Fraction(174, 100), Fraction(1, 5)),  # just under the cap
        (Fraction(7, 4), Fraction(0)),  # f = 2.5: the cap binds to the right
        (Fraction(2), Fraction(0)),
    ],
)
def test_curve_marginal_rate_is_ti_weight_slope_over_quota(attainment: Fraction, rate: Fraction) -> None:
    assert marginal_rate(plan(CURVE), "rev", attainment, Q, TI) == rate


def test_curve_marginal_rate_equals_one_cent_of_exact_amount() -> None:
    p = plan({**CURVE, "weight": "0.6"}, {**CURVE, "name": "margin", "weight": "0.4"})
    for c in (5_000_000, 8_000_000, 12_345_678, 17_499_999):
        step = exact_amount(p.measures[0], c + 1, Q, Q, TI) - exact_amount(p.measures[0], c, Q, Q, TI)
        assert marginal_rate(p, "rev", Fraction(c, Q), Q, TI) == step
    # weight 0.6: 1,000,000 x 0.6 x 2 / 10,000,000
    assert marginal_rate(p, "rev", Fraction(4, 5), Q, TI) == Fraction(3, 25)


@pytest.mark.parametrize("mode", ["marginal", "retroactive"])
def test_commission_marginal_rate_is_the_band_rate(mode: str) -> None:
    p = plan({"name": "rev", "tiers": TIERS, "tier_mode": mode})
    assert marginal_rate(p, "rev", Fraction(9, 10), Q, TI) == Fraction(1, 20)
    assert marginal_rate(p, "rev", Fraction(1), Q, TI) == Fraction(2, 25)
    assert marginal_rate(p, "rev", Fraction(3), Q, TI) == Fraction(2, 25)
    late = plan({"name": "rev", "tiers": [{"from": "0.5", "rate": "0.05"}], "tier_mode": mode})
    assert marginal_rate(late, "rev", Fraction(2, 5), Q, TI) == 0


def test_retroactive_band_edge_is_a_jump_not_a_slope() -> None:
    retro = plan({"name": "rev", "tiers": TIERS, "tier_mode": "retroactive"})
    marginal = plan({"name": "rev", "tiers": TIERS})
    # Reaching 100%: all 10,000,000 cents move from 5% to 8%, a 300,000-cent jump (none for marginal tiers).
    assert step_jumps(retro, "rev", Q, TI) == [(Fraction(1), Fraction(300_000))]
    assert step_jumps(marginal, "rev", Q, TI) == []
    at = evaluate(retro, np.array([[[Q - 1]], [[Q]]]), np.full((2, 1, 1), Q)).earned_ytd[:, 0, 0]
    assert at.tolist() == [500_000, 800_000]  # 0.05 x 9,999,999 = 499,999.95 -> 500,000; 0.08 x Q


def test_step_jumps_list_threshold_jumps_and_bonuses() -> None:
    m = {
        "name": "rev",
        "weight": "1",
        "curve": [{"attainment": "0.5", "payout": "0.25"}, {"attainment": "1", "payout": "1"}],
        "bonuses": [{"attainment": "1.2", "amount": "500.00"}],
    }
    assert step_jumps(plan(m), "rev", Q, TI) == [(Fraction(1, 2), Fraction(250_000)), (Fraction(6, 5), 50_000)]
    assert step_jumps(plan(CURVE), "rev", Q, TI) == []  # starts at 0: no threshold jump


def test_zero_quota_follows_the_engine_and_unknown_measures_are_named() -> None:
    assert marginal_rate(plan(CURVE), "rev", Fraction(1), 0, TI) == 0
    assert marginal_rate(plan({"name": "rev", "tiers": TIERS}), "rev", Fraction(0), 0, TI) == Fraction(1, 20)
    with pytest.raises(ValueError, match="unknown measure 'margin'"):
        marginal_rate(plan(CURVE), "margin", Fraction(1), Q, TI)


# ------------------------------------------------------------------------------------------- payout curves


def test_payout_curves_match_hand_cents_and_the_exact_amount() -> None:
    bonus = {**CURVE, "bonuses": [{"attainment": "1", "amount": "500.00"}]}
    df = payout_curves(plan(bonus), TI, Q)
    assert list(df.columns) == ["attainment", "pay_rev", "total", "marginal_rev"]
    assert len(df) == 41
    assert DEFAULT_GRID[1] == Fraction(1, 20)
    assert DEFAULT_GRID[-1] == 2
    row = {round(a, 2): r for a, r in zip(df["attainment"], df.itertuples(), strict=True)}
    assert row[0.45].pay_rev == 0
    assert row[0.45].marginal_rev == 0
    assert row[0.8].pay_rev == 600_000
    assert row[0.8].marginal_rev == 0.2
    assert row[1.0].pay_rev == 1_050_000  # 1.0 x TI + the $500 bonus
    assert row[2.0].pay_rev == 2_550_000
    assert row[2.0].marginal_rev == 0
    m = plan(CURVE).measures[0]
    for a, cents in zip(DEFAULT_GRID, df["pay_rev"], strict=True):
        c = int(a * Q)
        assert cents == round_cents(exact_amount(m, c, Q, Q, TI), "half_even") + 50_000 * (a >= 1)
    assert (df["total"] == df["pay_rev"]).all()


def test_payout_curves_per_measure_quota_and_count_measures() -> None:
    rev = {**CURVE, "weight": "0.5"}
    deals = {
        "name": "deals",
        "weight": "0.5",
        "credit": {"field": "deals"},
        "curve": [{"attainment": "0", "payout": "0"}, {"attainment": "1", "payout": "1"}],
    }
    comm = {"name": "comm", "tiers": TIERS}
    df = payout_curves(plan(rev, deals, comm), TI, {"rev": Q, "deals": 20, "comm": Q}, [Fraction(4, 5), Fraction(3, 2)])
    assert df["pay_rev"].tolist() == [300_000, 1_000_000]
    assert df["pay_deals"].tolist() == [400_000, 750_000]  # 0.5 x TI x a
    assert df["pay_comm"].tolist() == [400_000, 900_000]  # 5% of 8,000,000; 5% of Q + 8% of Q/2
    assert df["total"].tolist() == [1_100_000, 2_650_000]
    # 1,000,000 x 0.5 x 1 / 20 deals = 25,000 cents = $250 a deal.
    assert df["marginal_deals"].tolist() == [250.0, 250.0]
    assert df["marginal_comm"].tolist() == [0.05, 0.08]


# ------------------------------------------------------------------------------------------------ KPIs

# Six payees over two periods (credit split evenly, so year-to-date attainment is constant).
ATTAIN_CREDIT = [40_000, 80_000, 120_000, 200_000, 175_000, 50_000]
PAYS = [0, 600_000, 1_400_000, 2_500_000, 2_500_000, 0]


def six_payees() -> tuple[CompPlan, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = plan(CURVE)
    credit = np.array([[[c // 2], [c // 2]] for c in ATTAIN_CREDIT])
    quota = np.full((6, 2, 1), 50_000)
    ti = np.full(6, TI)
    revenue = np.array([20_000_000] + [10_000_000] * 5)
    return p, credit, quota, ti, revenue


def test_plan_kpis_by_hand() -> None:
    p, credit, quota, ti, revenue = six_payees()
    ev = evaluate(p, credit, quota, ti)
    assert ev.payment.sum(axis=1).tolist() == PAYS
    k = plan_kpis(p, ev, credit, quota, ti, revenue)
    assert k.payees == 6
    assert k.total_cost == ev.total_paid == 7_000_000
    assert k.target_cost == 6_000_000
    assert k.revenue == 70_000_000
    assert k.cost_of_sales_pct == pytest.approx(10.0)
    assert k.cost_vs_target_pct == pytest.approx(700 / 6)
    # Sorted pays [0, 0, 600k, 1.4M, 2.5M, 2.5M]; "lower" takes index floor(5 q).
    assert (k.pay_p10, k.pay_p25, k.pay_p50, k.pay_p75, k.pay_p90) == (0, 0, 600_000, 1_400_000, 2_500_000)
    # Sorted attainments [0.4, 0.5, 0.8, 1.2, 1.75, 2.0].
    assert (k.attainment_p10, k.attainment_p50, k.attainment_p90) == (0.4, 0.8, 1.75)
    # Ranks: attainment [1, 3, 4, 6, 5, 2], pay [1.5, 3, 4, 5.5, 5.5, 1.5] -> 16.5 / sqrt(17.5 x 16.5).
    assert k.pay_for_performance == pytest.approx(math.sqrt(33 / 35))
    assert k.leverage == 2.5
    assert k.share_at_cap == pytest.approx(2 / 6)  # 200% and exactly 175%
    assert k.share_below_threshold == pytest.approx(1 / 6)  # 40%; exactly 50% is at the threshold
    d = k.as_dict()
    assert json.loads(json.dumps(d)) == d
    assert all(v is None or type(v) in (int, float) for v in d.values())


def test_percentiles_are_actual_payees_values() -> None:
    p = plan(CURVE)
    rng = np.random.default_rng(7)
    credit = rng.integers(0, 250_000, size=(37, 3, 1))
    quota = np.full((37, 3, 1), 33_333)
    ti = rng.integers(500_000, 1_500_000, size=37)
    ev = evaluate(p, credit, quota, ti)
    k = plan_kpis(p, ev, credit, quota, ti, np.full(37, 1_000_000))
    pays = ev.payment.sum(axis=1)
    assert {k.pay_p10, k.pay_p25, k.pay_p50, k.pay_p75, k.pay_p90} <= set(pays.tolist())
    assert k.pay_p50 == sorted(pays.tolist())[18]
    assert k.leverage in set((pays / ti).tolist())
    assert k.total_cost == int(ev.payment.sum())


def test_spearman_sign_and_undefined_cases() -> None:
    p = plan(CURVE)
    ti = np.full(4, TI)

    def rho(year_credit: list[int]) -> float | None:
        credit = np.array(year_credit).reshape(-1, 1, 1)
        quota = np.full(credit.shape, 100_000)
        n = len(year_credit)
        return plan_kpis(
            p, evaluate(p, credit, quota, ti[:n]), credit, quota, ti[:n], np.ones(n, dtype=int)
        ).pay_for_performance

    assert rho([60_000, 90_000, 130_000, 160_000]) == pytest.approx(1.0)
    assert rho([60_000, 90_000]) is None  # fewer than 3 payees
    assert rho([10_000, 20_000, 30_000]) is None  # nobody paid: pay is constant
    # A decreasing curve: more attainment, less pay.
    down = plan(
        {
            "name": "rev",
            "weight": "1",
            "curve": [{"attainment": "0", "payout": "2"}, {"attainment": "2", "payout": "0"}],
        }
    )
    credit = np.array([50, 100, 150]).reshape(3, 1, 1)
    quota = np.full((3, 1, 1), 100)
    ev = evaluate(down, credit, quota, ti[:3])
    assert plan_kpis(down, ev, credit, quota, ti[:3], np.ones(3, dtype=int)).pay_for_performance == pytest.approx(-1.0)


def test_weighted_attainment_cap_share_and_no_revenue() -> None:
    rev = {**CURVE, "weight": "0.6"}
    margin = {
        "name": "margin",
        "weight": "0.4",
        "curve": [{"attainment": "0", "payout": "0"}, {"attainment": "1", "payout": "1"}],
    }
    comm = {"name": "comm", "tiers": TIERS}
    p = plan(rev, margin, comm)
    # (rev, margin) attainment: (1.0, 0.5) -> 0.8, (0.5, 1.0) -> 0.7, (2.0, 2.0) -> 2.0; comm has no weight.
    credit = np.array([[[100, 50, 0]], [[50, 100, 900]], [[200, 200, 0]]])
    quota = np.full((3, 1, 3), 100)
    ti = np.full(3, TI)
    ev = evaluate(p, credit, quota, ti)
    k = plan_kpis(p, ev, credit, quota, ti, np.zeros(3, dtype=int))
    assert (k.attainment_p10, k.attainment_p50, k.attainment_p90) == pytest.approx((0.7, 0.8, 0.8))
    assert k.share_at_cap == pytest.approx(1 / 3)  # only rev is capped
    assert k.share_below_threshold == 0  # rev at exactly 0.5 is at its threshold
    assert k.cost_of_sales_pct is None


def test_commission_only_plan_uses_the_first_measure() -> None:
    tiers = [{"from": "0", "to": "0.5", "rate": "0"}, {"from": "0.5", "rate": "0.05"}]
    p = plan({"name": "rev", "tiers": tiers}, {"name": "other", "tiers": TIERS})
    credit = np.array([[[40, 500]], [[50, 0]], [[120, 0]], [[0, 0]]])
    quota = np.array([[[100, 100]], [[100, 100]], [[100, 100]], [[0, 100]]])
    ti = np.full(4, TI)
    k = plan_kpis(p, evaluate(p, credit, quota, ti), credit, quota, ti, np.ones(4, dtype=int))
    assert (k.attainment_p10, k.attainment_p50, k.attainment_p90) == (0.0, 0.4, 0.5)
    assert k.share_below_threshold == pytest.approx(2 / 4)  # 40% and the zero-quota payee (attainment 0)
    assert k.share_at_cap == 0


@pytest.mark.parametrize(
    ("measure", "level"),
    [
        (CURVE, Fraction(1, 2)),
        ({**CURVE, "curve": [{"attainment": "0.5", "payout": "0.25"}, {"attainment": "1", "payout": "1"}]}, 0.5),
        (
            {
                **CURVE,
                "curve": [
                    {"attainment": "0", "payout": "0"},
                    {"attainment": "0.6", "payout": "0"},
                    {"attainment": "1", "payout": "1"},
                ],
            },
            Fraction(3, 5),
        ),
        ({"name": "rev", "tiers": [{"from": "0", "to": "0.3", "rate": "0"}, {"from": "0.3", "rate": "0.1"}]}, 0.3),
        ({"name": "rev", "tiers": [{"from": "0", "rate": "0"}]}, None),
    ],
)
def test_first_paying_level(measure: dict, level: Fraction | float | None) -> None:
    got = first_paying_level(plan(measure).measures[0])
    assert got == (Fraction(str(level)) if isinstance(level, float) else level)


# ------------------------------------------------------------------------------------------------ what-if


def test_what_if_on_the_curve_slope_by_hand() -> None:
    credit, quota = np.array([[[8_000_000]]]), np.array([[[Q]]])
    # 0.2 per cent of credit at 80%: $1,000 more sales pays $200 more.
    assert what_if(plan(CURVE), credit, quota, np.array([TI]), 0, 0, "rev", 100_000) == (20_000, 20_000)


def test_what_if_equals_the_difference_of_two_full_evaluations() -> None:
    rev = {**CURVE, "weight": "0.7", "bonuses": [{"attainment": "1", "amount": "250.00", "by_period": 3}]}
    margin = {
        "name": "margin",
        "weight": "0.3",
        "curve": [{"attainment": "0", "payout": "0"}, {"attainment": "1", "payout": "1"}],
        "gate": {"measure": "rev", "min_attainment": "0.6"},
    }
    comm = {"name": "comm", "tiers": TIERS, "tier_mode": "retroactive"}
    spif = {"name": "s", "start": "2025-01-01", "end": "2025-03-31", "credit": {"field": "deals"}, "per_deal": "100.00"}
    p = plan(rev, margin, comm, payout="quarter", year_start="2025-01-01", spifs=[spif])
    rng = np.random.default_rng(3)
    credit = rng.integers(0, 40_000, size=(5, 4, 3))
    quota = rng.integers(10_000, 30_000, size=(5, 4, 3))
    ti = rng.integers(500_000, 1_500_000, size=5)
    spifs = rng.integers(0, 3, size=(5, 4, 1))
    before = credit.copy()
    base = evaluate(p, credit, quota, ti, spifs).payment
    deltas = []
    for payee, period, measure, extra in [(1, 2, "rev", 7_777), (4, 0, "comm", 31_000), (2, 3, "margin", -5_000)]:
        bumped = credit.copy()
        bumped[payee, period, p.measure_names.index(measure)] += extra
        after = evaluate(p, bumped, quota, ti, spifs).payment
        expected = (int(after[payee].sum() - base[payee].sum()), int(after[payee, period] - base[payee, period]))
        assert what_if(p, credit, quota, ti, payee, period, measure, extra, spifs) == expected
        deltas.append(expected)
    assert any(d != (0, 0) for d in deltas)
    assert np.array_equal(credit, before)  # the caller's credit is left alone
    with pytest.raises(ValueError, match="out of range"):
        what_if(p, credit, quota, ti, 5, 0, "rev", 1)
