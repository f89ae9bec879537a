"""Pay caps as amounts: a measure's (commission or curve, per payout period and/or per plan year) and the plan's
cap on a payee's total incentive pay. Every expected figure is hand-computed in cents; the statement shows what
each cap took off as its own line, and every run still reconciles."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from comp_helpers import CURVE, plan
from instance_helpers import write

from spmopt.comp.engine import evaluate
from spmopt.comp.kpi import payout_curves
from spmopt.comp.plan import load_plan
from spmopt.comp.run import CompResult, evaluate_plan, reconcile, rules_from_files
from spmopt.comp.statements import payee_summary, statements
from spmopt.comp.transactions import load_transactions
from spmopt.errors import ConfigError

FLAT = {"name": "rev", "tiers": [{"from": "0", "rate": "0.1"}]}
"""10% of every cent of credit, whatever the quota."""
# $1,000 then $3,000 of sales, nothing, then a $500 clawback: 10% earns 100, 400, 400, 350 year to date.
CREDIT = np.array([[[100_000], [300_000], [0], [-50_000]]])
QUOTA = np.ones_like(CREDIT)


def capped(cap: dict, **extra: object):
    return evaluate(plan({**FLAT, "pay_cap": cap}, **extra), CREDIT, QUOTA)


def test_a_period_cap_forfeits_what_a_period_earns_above_it() -> None:
    # At most $200 a month: February's $300 pays $200 and $100 is lost for good (never paid in a later month);
    # April's clawback comes off what was kept.
    ev = capped({"period": "200.00"}, negative_balance="recover")
    assert ev.earned_ytd[0, :, 0].tolist() == [10_000, 30_000, 30_000, 25_000]
    assert ev.cap_ytd[0, :, 0].tolist() == [0, -10_000, -10_000, -10_000]
    assert ev.payment[0].tolist() == [10_000, 20_000, 0, -5_000]
    # Under carry-forward the clawback is owed back instead of recovered at once.
    carry = capped({"period": "200.00"})
    assert carry.payment[0].tolist() == [10_000, 20_000, 0, 0]
    assert carry.unrecovered.tolist() == [5_000]


def test_a_year_cap_stops_the_running_total_and_absorbs_a_later_fall() -> None:
    # At most $350 a year: February reaches 400 and is held at 350; April's fall to 350 costs the payee nothing.
    ev = capped({"year": "350.00"}, negative_balance="recover")
    assert ev.earned_ytd[0, :, 0].tolist() == [10_000, 35_000, 35_000, 35_000]
    assert ev.cap_ytd[0, :, 0].tolist() == [0, -5_000, -5_000, 0]
    assert ev.payment[0].tolist() == [10_000, 25_000, 0, 0]


def test_period_and_year_caps_together() -> None:
    # $200 a month gives 100, 300, 300, 250; then at most $250 for the year: 100, 250, 250, 250.
    ev = capped({"period": "200.00", "year": "250.00"}, negative_balance="recover")
    assert ev.earned_ytd[0, :, 0].tolist() == [10_000, 25_000, 25_000, 25_000]
    assert ev.payment[0].tolist() == [10_000, 15_000, 0, 0]


def test_a_curve_measure_can_be_capped_by_amount_bonus_included() -> None:
    # TI $10,000 at 120%: 1.4 x TI = $14,000 plus a $500 quota bonus, capped at $12,000 for the year.
    rev = {**CURVE, "bonuses": [{"attainment": "1", "amount": "500.00"}], "pay_cap": {"year": "12000.00"}}
    ev = evaluate(plan(rev), np.array([[[120]]]), np.array([[[100]]]))
    assert ev.earned_ytd[0, 0].tolist() == [1_200_000]
    assert ev.bonus_ytd[0, 0].tolist() == [50_000]
    assert ev.cap_ytd[0, 0].tolist() == [-250_000]


def test_the_plans_pay_cap_limits_measures_and_spifs_together() -> None:
    p = plan(
        FLAT,
        year_start="2027-01-01",
        spifs=[{"name": "push", "start": "2027-01-01", "end": "2027-12-31", "rate": "0.01"}],
        pay_cap={"period": "250.00"},
    )
    credit = np.array([[[100_000], [300_000]]])
    # rev 100 + 300, SPIF 10 + 30: 110 in January, 330 in February cut to 250 (80 forfeited).
    ev = evaluate(p, credit, np.ones_like(credit), spif_credit=credit.copy())
    assert ev.lines[0, :, 0].tolist() == [10_000, 30_000]
    assert ev.spif_lines[0, :, 0].tolist() == [1_000, 3_000]
    assert ev.pay_cap_ytd[0].tolist() == [0, -8_000]
    assert ev.payment[0].tolist() == [11_000, 25_000]
    assert ev.earned.tolist() == [36_000]
    explained = ev.lines.sum(axis=2) + ev.spif_lines.sum(axis=2) + ev.pay_cap_lines + ev.adjustment + ev.draw
    assert np.array_equal(explained, ev.payment)


def test_the_plans_pay_cap_leaves_the_draw_alone() -> None:
    # A $1,000 guarantee each month tops pay up even though earnings are capped at $50 a month.
    p = plan(FLAT, pay_cap={"period": "50.00"}, draw={"amount": "1000.00", "recoverable": False})
    ev = evaluate(p, np.array([[[100_000], [0]]]), np.ones((1, 2, 1), dtype=np.int64))
    assert ev.pay_cap_ytd[0].tolist() == [-5_000, -5_000]
    assert ev.payment[0].tolist() == [100_000, 100_000]
    assert ev.draw[0].tolist() == [95_000, 100_000]


def test_payout_curves_price_a_year_with_year_caps_only() -> None:
    # One period stands for the whole year: a $200-a-month cap would wrongly cap the year at $200.
    p = plan({**FLAT, "pay_cap": {"period": "200.00", "year": "1500.00"}}, pay_cap={"year": "1200.00"})
    table = payout_curves(p, 100_000, 1_000_000, [1, 2])
    # 10% of $10,000 and of $20,000: 1,000 and 2,000, the latter capped at 1,500 and the total at 1,200.
    assert table["pay_rev"].tolist() == [100_000, 150_000]
    assert table["total"].tolist() == [100_000, 120_000]


# ------------------------------------------------------------------------------------------ statements, reconciliation

TX = "transaction_id,date,rep_id,amount\nA,2027-01-10,R1,1000.00\nB,2027-02-10,R1,3000.00\nC,2027-02-11,R2,500.00\n"
QUOTAS = "territory_id,rep_id,annual_quota\nT1,R1,12000.00\nT2,R2,12000.00\n"
CAPPED_PLAN = """\
name: capped
year_start: 2027-01-01
target_incentive: 1000.00
measures:
  - name: rev
    tiers: [{from: 0, rate: 0.1}]
    pay_cap: {period: 200.00}
pay_cap: {year: 250.00}
"""


def run(root: Path, text: str = CAPPED_PLAN) -> CompResult:
    p = load_plan(write(root / "plan.yaml", text))
    quotas = write(root / "quotas.csv", QUOTAS)
    return evaluate_plan(p, write(root / "tx.csv", TX), quotas, rules_from_files(quotas))


def test_the_statement_shows_each_cap_as_its_own_line(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.reconciliation.reconciled is True
    table = statements(result.plan, result.inputs, result.evaluation).set_index(["payee_id", "period", "line"])
    # February: 10% of $3,000 = 300.00; the measure's $200 monthly cap takes 100.00; the $250 year cap on total
    # pay takes 50.00 (100 + 200 = 300 so far); paid 150.00.
    assert table.loc[("R1", 2, "rev"), "amount"] == "300.00"
    assert table.loc[("R1", 2, "rev:cap"), "amount"] == "-100.00"
    assert table.loc[("R1", 2, "pay_cap"), "amount"] == "-50.00"
    assert table.loc[("R1", 2, "pay_cap"), "earned_ytd"] == "-50.00"
    assert result.evaluation.payment[0, :2].tolist() == [10_000, 15_000]
    assert result.reconciliation.statement_lines_total == result.reconciliation.payments_total == "300.00"
    assert result.reconciliation.earned_total == "300.00"  # R1 250.00 after caps, R2 50.00
    summary = payee_summary(result.plan, result.inputs, result.evaluation).set_index("payee_id")
    assert summary.loc["R1", "capped"] == "150.00"
    assert summary.loc["R2", "capped"] == "0.00"
    assert result.kpis.share_at_cap == 0.5


def test_reconciliation_catches_pay_above_a_cap(tmp_path: Path) -> None:
    result = run(tmp_path)
    ev = result.evaluation
    earned = ev.earned_ytd.copy()
    earned[0, 1:, 0] += 5_000  # R1 keeps 50.00 more of February than the monthly cap allows
    payment = ev.payment.copy()
    payment[0, 1] += 5_000
    tampered = replace(ev, earned_ytd=earned, payment=payment)
    tx = load_transactions(tmp_path / "tx.csv", result.plan)
    facts = reconcile(
        tx, result.ledger, tampered, result.plan, result.inputs, rules_from_files(tmp_path / "quotas.csv")
    )
    assert facts.reconciled is False
    assert (
        "payee R1, period 2: rev pays 350.00 year to date after its pay cap, but the cap on 450.00 leaves 300.00"
        in facts.failures
    )


@pytest.mark.parametrize(
    ("measure", "message"),
    [
        (
            "    pay_cap: {}\n",
            "measures[0].pay_cap (line 6): Value error, give `period` (most paid per payout period) and/or `year` "
            "(most paid per plan year)",
        ),
        (
            "    pay_cap: {year: 100.005}\n",
            "measures[0].pay_cap.year (line 6): Value error, amount 100.005 has more than two decimals (amounts are "
            "whole cents)",
        ),
        ("    pay_cap: {period: 0}\n", "measures[0].pay_cap.period (line 6): Input should be greater than 0"),
        (
            "    cap: 2\n",
            "measures[0] (line 4): Value error, cap (a payout multiple of target incentive) applies to curve "
            "measures; cap a commission measure's pay with pay_cap: {period: AMOUNT, year: AMOUNT}",
        ),
    ],
)
def test_bad_pay_caps_name_the_file_key_and_line(tmp_path: Path, measure: str, message: str) -> None:
    text = "name: bad\ntarget_incentive: 1000.00\nmeasures:\n  - name: rev\n    tiers: [{from: 0, rate: 0.1}]\n"
    path = write(tmp_path / "bad.yaml", text + measure)
    with pytest.raises(ConfigError) as err:
        load_plan(path)
    assert str(err.value) == f"{path}: invalid comp plan\n  {message}"


def test_a_capped_plan_writes_its_cap_lines_to_statements_csv(tmp_path: Path) -> None:
    from spmopt.report.outputs import write_comp_outputs

    result = run(tmp_path)
    write_comp_outputs([result], tmp_path / "out", [])
    lines = pd.read_csv(tmp_path / "out" / "comp" / "capped" / "statements.csv", dtype=str)
    assert {"rev:cap", "pay_cap"} <= set(lines["line"])
    paid = lines.assign(cents=lines["amount"].str.replace(".", "", regex=False).astype(int))
    assert paid.groupby(["payee_id", "period"])["cents"].sum().sum() == 30_000
