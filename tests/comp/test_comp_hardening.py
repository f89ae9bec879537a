"""Comp engine hardening, from an independent calculation on held-out plans: SPIFs pay on the payee's own credit
only, an overlay is credited a deal once, a manager's summed quota covers everyone whose credit rolls up to them,
reconciliation catches a wrong rule, plausibility warnings, and money that cannot wrap int64. Every expected amount
is hand-computed in cents (counts in hundredths of a deal) or comes from tests/comp_reference.py."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from comp_reference import pay
from comp_reference import spif_credit as reference_spif_credit
from instance_helpers import write

import spmopt.comp.run as comp_run
from spmopt.comp.engine import evaluate
from spmopt.comp.kpi import plan_kpis
from spmopt.comp.plan import CompPlan, load_plan
from spmopt.comp.run import CompResult, comp_facts, evaluate_plan, merged_quotas, reconcile, rules_from_files
from spmopt.comp.transactions import load_transactions
from spmopt.errors import ConfigError, DataError
from spmopt.report.outputs import write_comp_outputs

TX_HEADER = "transaction_id,date,rep_id,territory_id,unit_id,product,amount,new_logo,reason,original_id"
QUOTAS = "territory_id,rep_id,annual_quota\nT1,R1,1200.00\nT2,R2,1200.00\n"
ALIGNMENT = "unit_id,territory_id\nU1,T1\nU2,T2\n"
HIERARCHY = "payee_id,manager_id,role\nR1,M1,rep\nR2,M1,rep\nM1,D1,manager\n"
"""R1 and R2 report to manager M1, who reports to director D1."""
SPLITS = "transaction_id,payee_id,percent\nA,R1,60\nA,R2,40\n"
OVERLAY_QUOTA = "payee_id,annual_quota\nS1,600.00\n"
TX = [
    "A,2027-01-10,R1,,,license,1000.00,1,,",  # split 60/40, a new logo
    "B,2027-02-05,,T2,,license,500.00,0,,",  # R2 (and overlay S1 on T2)
    "C,2027-03-05,,,U1,services,300.00,0,,",  # R1, not a launch product
    "C1,2027-04-10,,,,license,-100.00,0,cancellation,B",  # partial: money only, February's deal date
    "L,2027-08-01,R1,,,license,200.00,0,,",  # after the launch window
]
COMMISSION = {"name": "rev", "tiers": [{"from": "0", "rate": "0.1"}]}
CURVE = {
    "name": "rev",
    "weight": "1",
    "curve": [{"attainment": "0", "payout": "0"}, {"attainment": "1", "payout": "1"}],
}


def plan(*measures: dict, **extra: object) -> CompPlan:
    spec = {
        "name": "p",
        "year_start": "2027-01-01",
        "payout": "quarter",
        "target_incentive": "1000.00",
        "roles": {"manager": {"target_incentive": "2000.00"}, "overlay": {"target_incentive": "500.00"}},
        "measures": list(measures or [COMMISSION]),
    }
    return CompPlan.model_validate({**spec, **extra})


SPIFS = [
    {"name": "launch", "start": "2027-01-01", "end": "2027-06-30", "credit": {"products": ["license"]}, "rate": "0.01"},
    {
        "name": "logos",
        "start": "2027-01-01",
        "end": "2027-12-31",
        "credit": {"field": "new_logos"},
        "per_deal": "100.00",
    },
]


def run(
    root: Path,
    p: CompPlan,
    tx: list[str] = TX,
    *,
    quotas: str = QUOTAS,
    hierarchy: str | None = HIERARCHY,
    overlays: str | None = "payee_id,territory_id,product\nS1,T2,\n",
    splits: str | None = SPLITS,
    extra_quotas: str | None = OVERLAY_QUOTA,
) -> CompResult:
    """`evaluate_plan` on small files written into `root`."""
    write(root / "tx.csv", "\n".join([TX_HEADER, *tx]) + "\n")
    rules = rules_from_files(
        write(root / "quotas.csv", quotas),
        write(root / "alignment.csv", ALIGNMENT),
        write(root / "hierarchy.csv", hierarchy) if hierarchy is not None else None,
        write(root / "overlays.csv", overlays) if overlays is not None else None,
    )
    files = [root / "quotas.csv"] + ([write(root / "extra.csv", extra_quotas)] if extra_quotas else [])
    rows = merged_quotas(files, p)
    split_file = write(root / "splits.csv", splits) if splits is not None else None
    return evaluate_plan(p, root / "tx.csv", rows, rules, split_file, root / "quotas.csv")


def by_payee(result: CompResult, values: np.ndarray) -> dict[str, list[int]]:
    return {p: values[i].tolist() for i, p in enumerate(result.inputs.payees)}


# ------------------------------------------------------------------------------------------ 1. SPIFs: own credit


def test_spifs_pay_the_payees_own_credit_not_managers_roll_up(tmp_path: Path) -> None:
    result = run(tmp_path, plan(COMMISSION, spifs=SPIFS))
    assert result.inputs.payees == ("R1", "R2", "M1", "D1", "S1")
    ev = result.evaluation
    # launch, 1% of license credit dealt Jan-Jun, by quarter (YTD): R1 60% of A = 6.00; R2 40% of A + B = 9.00,
    # then 8.00 after C1 (dealt in February); overlay S1 (T2): B = 5.00, then 4.00. L is after the window.
    # M1 and D1 only hold roll-up lines: nothing (the held-out probe paid them 15.00, then 14.00).
    assert by_payee(result, ev.spif_ytd[:, :, 0]) == {
        "R1": [600] * 4,
        "R2": [900, 800, 800, 800],
        "M1": [0] * 4,
        "D1": [0] * 4,
        "S1": [500, 400, 400, 400],
    }
    # logos, 100.00 per new logo: A's logo split 60/40 hundredths; no roll-up, and A is not in S1's T2.
    assert by_payee(result, ev.spif_ytd[:, :, 1]) == {
        "R1": [6_000] * 4,
        "R2": [4_000] * 4,
        "M1": [0] * 4,
        "D1": [0] * 4,
        "S1": [0] * 4,
    }
    assert result.reconciliation.reconciled is True


def test_spif_payments_equal_the_reference_calculation_to_the_cent(tmp_path: Path) -> None:
    p = plan(COMMISSION, spifs=SPIFS, rounding="half_up")
    result = run(tmp_path, p)
    inp, ev = result.inputs, result.evaluation
    lines = result.ledger.lines.to_dict("records")
    spif = reference_spif_credit(p, lines, inp.payees, p.periods)
    assert inp.spif_credit.tolist() == spif
    expected = pay(p, inp.credit.tolist(), inp.quota.tolist(), inp.target_incentive.tolist(), spif)
    for i, (earned, payments, owed) in enumerate(expected):
        assert ev.earned_ytd[i].tolist() == earned
        assert ev.payment[i].tolist() == payments
        assert int(ev.unrecovered[i]) == owed


# ------------------------------------------------------------------------------------------ 2. overlay rows


def test_an_overlay_listed_twice_for_the_same_scope_is_refused_naming_both_rows(tmp_path: Path) -> None:
    overlays = "payee_id,territory_id,product\nS1,T2,\nS2,,services\nS1,T2,\n"
    with pytest.raises(DataError) as err:  # before: B credited to S1 twice, at 200%
        run(tmp_path, plan(), overlays=overlays, extra_quotas=OVERLAY_QUOTA + "S2,600.00\n")
    assert str(err.value).startswith(f"{tmp_path / 'overlays.csv'}: rows 2 and 4 both make S1 an overlay on ")
    assert "territory T2, product (all)" in str(err.value)


def test_overlapping_overlay_rows_credit_each_deal_once(tmp_path: Path) -> None:
    # S1 covers T2 (all products) and license (all territories): B is both, and counts once, at 100%.
    result = run(tmp_path, plan(), overlays="payee_id,territory_id,product\nS1,T2,\nS1,,license\n")
    overlay = result.ledger.lines[result.ledger.lines["how"] == "overlay"]
    assert overlay.groupby("transaction_id").size().to_dict() == {"A": 1, "B": 1, "C1": 1, "L": 1}
    s1 = result.inputs.payees.index("S1")
    assert int(result.inputs.credit[s1, :, 0].sum()) == 100_000 + 50_000 - 10_000 + 20_000


# ------------------------------------------------------------------------------------------ 3. manager quotas

SDR_HIERARCHY = "payee_id,manager_id,role\nR1,M1,rep\nR2,M1,sdr\n"
"""R2 is an SDR: this section's plans do not pay SDRs, but R2's deals still roll up to M1."""
TWO_DEALS = ["A,2027-01-10,R1,,,license,600.00,0,,", "B,2027-02-05,,T2,,license,600.00,0,,"]


def manager_run(root: Path, roles: list[str], tx: list[str] = TWO_DEALS, hierarchy: str = SDR_HIERARCHY) -> CompResult:
    p = plan(CURVE, eligible_roles=roles)
    return run(root, p, tx, hierarchy=hierarchy, overlays=None, splits=None, extra_quotas=None)


def test_manager_quota_sums_every_report_whose_credit_rolls_up_paid_or_not(tmp_path: Path) -> None:
    result = manager_run(tmp_path, ["rep", "manager"])
    inp = result.inputs
    assert inp.payees == ("R1", "M1")  # R2 is not paid by this plan
    m1 = inp.payees.index("M1")
    # M1's credit is R1's 600 and R2's 600; the quota is R1's 1,200 and R2's 1,200 (the probe left R2 out: 100%).
    assert int(inp.credit[m1, :, 0].sum()) == 120_000
    assert inp.quota[m1, :, 0].tolist() == [60_000] * 4
    # attainment 50% on the 0-1 line: half of M1's 2,000.00 target incentive.
    assert int(result.evaluation.payment[m1].sum()) == 100_000
    assert result.kpis.attainment_p90 == 0.5


def test_a_plan_for_managers_only_sums_the_quotas_of_reports_it_does_not_pay(tmp_path: Path) -> None:
    result = manager_run(tmp_path, ["manager"])
    assert result.inputs.payees == ("M1",)
    assert result.inputs.quota[0, :, 0].tolist() == [60_000] * 4


def test_a_report_without_a_quota_whose_credit_rolls_up_is_an_error(tmp_path: Path) -> None:
    hierarchy = SDR_HIERARCHY + "R3,M1,sdr\n"
    with pytest.raises(DataError) as err:
        manager_run(tmp_path, ["rep", "manager"], [*TWO_DEALS, "X,2027-03-01,R3,,,license,50.00,0,,"], hierarchy)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'quotas.csv'}: manager M1 has no rev quota row")
    assert "R3 (role sdr) has no rev quota" in message


# ------------------------------------------------------------------------------------------ 4, 6. reconciliation


def test_reconciliation_fails_when_spifs_are_paid_on_roll_up_credit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_spif_credit = comp_run.own_spif_credit

    def spifs_on_every_line(p: CompPlan, ledger, payees: tuple[str, ...]) -> np.ndarray:
        """The held-out probe's wrong rule: SPIF credit from every credit line, managers' roll-up included."""
        return own_spif_credit(p, replace(ledger, lines=ledger.lines.assign(how="direct")), payees)

    monkeypatch.setattr(comp_run, "own_spif_credit", spifs_on_every_line)
    with pytest.raises(DataError) as err:
        run(tmp_path, plan(COMMISSION, spifs=SPIFS))
    message = str(err.value)
    assert "reconciliation failed" in message
    assert "SPIF launch: payee M1, period 1: earned 15.00 year to date" in message
    assert "of 0.00 pays 0.00" in message


def clean(tmp_path: Path) -> tuple[CompResult, tuple]:
    p = plan(
        {**COMMISSION, "bonuses": [{"attainment": "0.5", "amount": "10.00"}]},
        spifs=SPIFS,
        draw={"amount": "50.00", "periods": 2, "recoverable": False},
    )
    result = run(tmp_path, p)
    rules = rules_from_files(
        tmp_path / "quotas.csv", tmp_path / "alignment.csv", tmp_path / "hierarchy.csv", tmp_path / "overlays.csv"
    )
    tx = load_transactions(tmp_path / "tx.csv", p)
    return result, (tx, result.ledger, result.evaluation, p, result.inputs, rules)


def test_a_clean_run_is_reconciled_with_every_check(tmp_path: Path) -> None:
    result, args = clean(tmp_path)
    assert result.reconciliation.reconciled is True
    assert "failures" not in result.reconciliation
    assert reconcile(*args) == result.reconciliation


def _more_payment(ev, _ledger, _inp):
    payment = ev.payment.copy()
    payment[0, 1] += 1
    return replace(ev, payment=payment), _ledger, _inp


def _spif_to_manager(ev, ledger, inp):
    spif = ev.spif_ytd.copy()
    spif[inp.payees.index("M1"), :, 0] += 1_500
    return replace(ev, spif_ytd=spif), ledger, inp


def _bonus_without_credit(ev, ledger, inp):
    bonus = ev.bonus_ytd.copy()
    bonus[inp.payees.index("D1"), 3, 0] += 1_000
    return replace(ev, bonus_ytd=bonus), ledger, inp


def _credit_not_in_lines(ev, ledger, inp):
    credit = inp.credit.copy()
    credit[inp.payees.index("S1"), 2, 0] += 100
    return ev, ledger, replace(inp, credit=credit)


def _rollup_short(ev, ledger, inp):
    lines = ledger.lines.copy()
    first = lines.index[(lines["how"] == "rollup") & (lines["payee_id"] == "D1")][0]
    lines.loc[first, "amount"] -= 1
    return ev, replace(ledger, lines=lines), inp


@pytest.mark.parametrize(
    ("tamper", "fragment"),
    [
        (_more_payment, "payee R1, period 2: statement lines add up to"),
        (_spif_to_manager, "SPIF launch: payee M1, period 1: earned 15.00 year to date"),
        (_bonus_without_credit, "payee D1, period 4: rev bonuses 20.00 year to date, but their credit"),
        (_credit_not_in_lines, "payee S1, period 3: rev credit"),
        (_rollup_short, "manager D1, period 1: roll-up amount"),
    ],
)
def test_reconciled_is_true_only_when_every_check_holds(tmp_path: Path, tamper, fragment: str) -> None:
    _, (tx, ledger, ev, p, inp, rules) = clean(tmp_path)
    ev, ledger, inp = tamper(ev, ledger, inp)
    facts = reconcile(tx, ledger, ev, p, inp, rules)
    assert facts.reconciled is False
    assert any(f.startswith(fragment) for f in facts.failures), facts.failures


# ------------------------------------------------------------------------------------------ 5. warnings


def plan_file(root: Path, measures: str) -> Path:
    return write(
        root / "odd.yaml", f"name: odd\nyear_start: 2027-01-01\ntarget_incentive: 1000.00\nmeasures:\n{measures}"
    )


def test_falling_payout_curves_and_tiers_are_warned_naming_the_file_and_tier(tmp_path: Path) -> None:
    path = plan_file(
        tmp_path,
        "  - name: rev\n    weight: 1\n    curve:\n"
        "      - {attainment: 0.5, payout: 0.5}\n      - {attainment: 1.0, payout: 1.0}\n"
        "      - {attainment: 1.5, payout: 0.8}\n      - {attainment: 2.0, payout: 1.5}\n"
        "  - name: renewals\n    tier_mode: retroactive\n    quota_scale: 0.5\n    tiers:\n"
        "      - {from: 0, to: 1, rate: 0.05}\n      - {from: 1, rate: 0.03}\n",
    )
    result = run(tmp_path, load_plan(path), overlays=None, splits=None, extra_quotas=None)
    assert result.reconciliation.reconciled is True
    assert result.warnings == (
        f"{path}: measure rev: curve point 2 (attainment 1.5, payout 0.8) pays less than point 1 (attainment 1.0, "
        "payout 1.0): the payout falls as attainment rises",
        f"{path}: measure renewals: tier 1 (from 1) pays rate 0.03 on all credit, less than tier 0's 0.05: the total "
        "commission drops when attainment reaches 1",
    )
    assert comp_facts([result]).plans["odd"].warnings == list(result.warnings)
    write_comp_outputs([result], tmp_path / "out", [path])
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["warnings"] == list(result.warnings)


def test_a_falling_last_segment_warns_that_the_payout_turns_negative(tmp_path: Path) -> None:
    curve = {**CURVE, "curve": [*CURVE["curve"], {"attainment": "2", "payout": "0.5"}]}
    (warning,) = run(tmp_path, plan(curve), overlays=None, splits=None, extra_quotas=None).warnings
    assert warning.startswith("plan 'p': measure rev: curve point 2 (attainment 2, payout 0.5) pays less than point 1")
    assert warning.endswith("the payout falls as attainment rises and is negative above attainment 3")


def test_no_warning_for_a_fall_the_cap_hides_or_for_rising_plans(tmp_path: Path) -> None:
    points = [("0", "0"), ("1", "1"), ("1.5", "2"), ("1.8", "1.9"), ("2", "2.5")]
    capped = {**CURVE, "curve": [{"attainment": a, "payout": y} for a, y in points], "cap": "1.5"}
    assert run(tmp_path, plan(capped), overlays=None, splits=None, extra_quotas=None).warnings == ()
    assert run(tmp_path, plan(), overlays=None, splits=None, extra_quotas=None).warnings == ()


@pytest.mark.parametrize(
    ("measure", "rule", "paid"),
    [
        (COMMISSION, "commission at the first tier's rate 0.1, which starts at 0", "50.00"),
        (CURVE, "a curve measure pays nothing without a quota", "0.00"),
    ],
)
def test_credit_against_a_zero_quota_is_warned_with_what_was_paid(
    tmp_path: Path, measure: dict, rule: str, paid: str
) -> None:
    quotas = "territory_id,rep_id,annual_quota\nT1,R1,1200.00\nT2,R2,0.00\n"
    result = run(tmp_path, plan(measure), TX[1:2], quotas=quotas, hierarchy=None, overlays=None, splits=None)
    assert result.warnings == (
        f"plan 'p': payee R2 has 500.00 of rev credit but a rev quota of 0, so attainment is undefined; the plan "
        f"paid them {paid} on rev ({rule})",
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("target_incentive: 100000000000000000.00\n", "target_incentive"),
        ("roles:\n  manager: {target_incentive: 1e17}\n", "roles.manager.target_incentive"),
        ("base_salary: 10000000000000.01\n", "base_salary"),
        ("draw: {amount: 20000000000000, recoverable: true}\n", "draw.amount"),
    ],
)
def test_money_beyond_the_safe_limit_is_refused_at_plan_load(tmp_path: Path, extra: str, field: str) -> None:
    text = "name: big\ntarget_incentive: 1000.00\nmeasures:\n  - {name: rev, tiers: [{from: 0, rate: 0.1}]}\n"
    path = write(tmp_path / "big.yaml", text.replace("target_incentive: 1000.00\n", "") + extra)
    if "target_incentive" not in extra.split(":")[0]:
        path = write(tmp_path / "big.yaml", text + extra)
    with pytest.raises(ConfigError) as err:
        load_plan(path)
    message = str(err.value)
    assert message.startswith(f"{path}: invalid comp plan")
    assert f"{field} (line" in message
    assert "beyond the largest amount a plan may hold (10,000,000,000,000 currency units)" in message


def test_money_at_the_limit_is_accepted(tmp_path: Path) -> None:
    p = plan(target_incentive="10000000000000.00", draw={"amount": "10000000000000", "recoverable": True})
    assert p.target_incentive == 10**13


def test_target_cost_of_many_payees_at_the_limit_does_not_wrap() -> None:
    n = 10_000
    p = plan(CURVE, target_incentive="10000000000000.00")
    ti = np.full(n, 10**15, dtype=np.int64)  # 1e13 currency units in cents, each
    credit, quota = np.zeros((n, 1, 1), dtype=np.int64), np.ones((n, 1, 1), dtype=np.int64)
    ev = evaluate(p, credit, quota, ti)
    kpis = plan_kpis(p, ev, credit, quota, ti, np.zeros(n, dtype=np.int64))
    assert kpis.target_cost == 10**19  # above int64's 9.2e18: an int64 sum wraps negative
    assert kpis.cost_vs_target_pct == 0.0


def test_an_amount_beyond_int64_is_refused_not_wrapped() -> None:
    points = [{"attainment": "0", "payout": "0"}, {"attainment": "1", "payout": "1000000"}]
    p = plan({"name": "rev", "weight": "1", "curve": points}, target_incentive="10000000000000.00")
    with pytest.raises(DataError, match=r"plan 'p': measure rev amount .* beyond the engine's int64 range"):
        evaluate(p, np.array([[[100]]]), np.array([[[100]]]))


def test_thresholds_with_many_decimals_are_exact_beyond_int64_products() -> None:
    # Level 0.500000000000001 has denominator 1e15: at a 100.00 quota, C x den leaves int64 from 92.24 of credit
    # on, and a wrapped product put the payee at 100% below the level.
    rev = {**COMMISSION, "bonuses": [{"attainment": "0.500000000000001", "amount": "1.00"}]}
    p = plan(rev, payout="month")
    credit = np.array([[[5_000]], [[5_001]], [[10_000]]], dtype=np.int64)
    quota = np.full((3, 1, 1), 10_000, dtype=np.int64)
    ev = evaluate(p, credit, quota)
    assert ev.bonus_ytd[:, 0, 0].tolist() == [0, 100, 100]  # 50% is just below the level; 50.01% and 100% reach it
    expected = pay(p, credit.tolist(), quota.tolist(), [100_000] * 3)
    assert ev.earned_ytd.tolist() == [e for e, _, _ in expected]


def test_spif_per_deal_times_many_deals_beyond_int64_is_exact() -> None:
    spif = {"name": "big", "start": "2027-01-01", "end": "2027-12-31", "credit": {"field": "deals"}}
    p = plan(spifs=[{**spif, "per_deal": "10000000000000.00"}], payout="month")
    spif_credit = np.array([[[10_000]]], dtype=np.int64)  # 100 deals: 1e15 x 1e4 hundredths overflows int64
    ev = evaluate(p, np.zeros((1, 1, 1), dtype=np.int64), np.ones((1, 1, 1), dtype=np.int64), None, spif_credit)
    assert ev.spif_ytd.tolist() == [[[10**17]]]


def test_a_run_where_nothing_is_credited_reconciles(tmp_path: Path) -> None:
    # Every deal sits in a territory without a rep: no credit lines at all, SPIFs and roll-up included.
    quotas = "territory_id,rep_id,annual_quota\nT1,R1,1200.00\nT2,,1200.00\n"
    result = run(tmp_path, plan(COMMISSION, spifs=SPIFS), TX[1:2], quotas=quotas, overlays=None, splits=None)
    assert result.ledger.lines.empty
    assert result.reconciliation.reconciled is True
    assert result.reconciliation.uncredited_total == "500.00"


def test_comp_summary_keeps_its_columns(tmp_path: Path) -> None:
    result = run(tmp_path, plan(COMMISSION, spifs=SPIFS))
    write_comp_outputs([result], tmp_path / "out", [])
    summary = pd.read_csv(tmp_path / "out" / "comp_summary.csv")
    assert "failures" not in summary.columns
    assert bool(summary["reconciled"].iloc[0]) is True
