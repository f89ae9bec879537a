"""Each payee's own pay terms from the quotas (payee rows) files: target incentive and base salary overriding the
plan's role and plan-wide values, start and end months; target incentive, base and draws prorated to the months on
the plan; no draw before a payee starts or after they leave. Every expected figure is hand-computed in cents, and
every bad term gives one error naming the file, row and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from instance_helpers import write

from spmopt.comp.engine import draw_schedule, evaluate, prorated
from spmopt.comp.inputs import PayeeTerms, merged_terms, payee_terms, read_payee_terms, read_quotas
from spmopt.comp.plan import CompPlan
from spmopt.comp.run import CompResult, evaluate_plan, merged_quotas, rules_from_files
from spmopt.comp.statements import payee_summary
from spmopt.data.tables import read_table
from spmopt.errors import DataError

CURVE = {
    "name": "rev",
    "weight": "1",
    "curve": [{"attainment": "0", "payout": "0"}, {"attainment": "1", "payout": "1"}],
}
"""Pays target incentive x attainment, up to and past 100%."""
TX_HEADER = "transaction_id,date,rep_id,amount"


def plan(*measures: dict, **extra: object) -> CompPlan:
    spec = {
        "name": "p",
        "year_start": "2027-01-01",
        "target_incentive": "1000.00",
        "base_salary": "5000.00",
        "roles": {"manager": {"target_incentive": "2000.00"}},
        "measures": list(measures or [CURVE]),
    }
    return CompPlan.model_validate({**spec, **extra})


def run(root: Path, p: CompPlan, quotas: str, tx: list[str], *extra: str) -> CompResult:
    """`evaluate_plan` as `spmopt comp evaluate` calls it: the quotas files' rows and pay terms merged."""
    files = [write(root / "quotas.csv", quotas)] + [write(root / f"extra{k}.csv", t) for k, t in enumerate(extra)]
    rows, terms = merged_quotas(files, p), merged_terms(files)
    tx_file = write(root / "tx.csv", "\n".join([TX_HEADER, *tx]) + "\n")
    return evaluate_plan(p, tx_file, rows, rules_from_files(files[0]), None, files[0], terms)


# ------------------------------------------------------------------------------------------ own TI and base


def test_a_commission_of_ten_percent_of_quota_needs_no_role_per_rep(tmp_path: Path) -> None:
    # Each rep's target incentive is 10% of their own quota: one plan, TI per row, no role per rep.
    quotas = "rep_id,annual_quota,target_incentive\nR1,120000.00,12000.00\nR2,60000.00,6000.00\nR3,60000.00,\n"
    tx = ["A,2027-03-01,R1,120000.00", "B,2027-03-01,R2,30000.00", "C,2027-03-01,R3,60000.00"]
    result = run(tmp_path, plan(), quotas, tx)
    # R1 at 100% earns their 12,000.00; R2 at 50% half of 6,000.00; R3 (blank) the plan's 1,000.00 at 100%.
    assert result.inputs.target_incentive.tolist() == [1_200_000, 600_000, 100_000]
    assert result.evaluation.earned.tolist() == [1_200_000, 300_000, 100_000]
    assert result.kpis.target_cost == 1_900_000
    assert result.kpis.total_cost == 1_600_000
    assert result.kpis.cost_vs_target_pct == pytest.approx(100 * 16 / 19)
    assert result.kpis.leverage == 1.0
    summary = payee_summary(result.plan, result.inputs, result.evaluation).set_index("payee_id")
    assert summary["target_incentive"].tolist() == ["12000.00", "6000.00", "1000.00"]
    assert summary["pay_to_target"].tolist() == [1.0, 0.5, 1.0]
    assert result.reconciliation.reconciled is True


def test_own_terms_override_the_role_and_a_roster_can_be_its_own_file(tmp_path: Path) -> None:
    # A terms-only file (no quota columns) next to the quotas: M1 is a manager whose role pays 2,000.00.
    quotas = "payee_id,annual_quota\nR1,1000.00\nM1,1000.00\n"
    roster = "payee_id,target_incentive,base_salary\nM1,3000.00,70000.00\nR1,,61000.50\n"
    assert read_quotas(write(tmp_path / "roster.csv", roster), plan()) == {}
    hierarchy = write(tmp_path / "hierarchy.csv", "payee_id,manager_id,role\nR1,M1,rep\n")
    quota_file = write(tmp_path / "quotas.csv", quotas)
    files = [quota_file, tmp_path / "roster.csv"]
    p = plan()
    result = evaluate_plan(
        p,
        write(tmp_path / "tx.csv", f"{TX_HEADER}\nA,2027-01-05,R1,500.00\n"),
        merged_quotas(files, p),
        rules_from_files(quota_file, None, hierarchy),
        None,
        quota_file,
        merged_terms(files),
    )
    assert result.inputs.payees == ("R1", "M1")
    assert result.inputs.target_incentive.tolist() == [100_000, 300_000]
    assert result.inputs.base_salary.tolist() == [6_100_050, 7_000_000]
    # Both at 50% (the manager through roll-up): half of their own target incentives.
    assert result.evaluation.earned.tolist() == [50_000, 150_000]


def test_terms_are_read_from_a_quotas_file_given_as_a_path(tmp_path: Path) -> None:
    quotas = write(tmp_path / "quotas.csv", "rep_id,annual_quota,target_incentive,start_month\nR1,1200.00,2400.00,7\n")
    tx = write(tmp_path / "tx.csv", f"{TX_HEADER}\nA,2027-08-01,R1,1200.00\n")
    result = evaluate_plan(plan(), tx, quotas, rules_from_files(quotas))
    # 2,400.00 for 6 of 12 months: 1,200.00, paid in full at 100% of the quota.
    assert result.inputs.target_incentive.tolist() == [120_000]
    assert result.evaluation.earned.tolist() == [120_000]


# ------------------------------------------------------------------------------------------ proration


def test_target_incentive_and_base_are_prorated_to_the_months_on_the_plan(tmp_path: Path) -> None:
    quotas = (
        "rep_id,annual_quota,start_month,end_month,base_salary\n"
        "R1,1200.00,5,,90000.00\n"  # joins in month 5: 8 months
        "R2,1200.00,0,9,\n"  # on board from the start (0, as spmopt's quotas.csv writes it), leaves after month 9
        "R3,1200.00,,,\n"  # all year
        "R4,1200.00,12,12,\n"  # one month
    )
    result = run(tmp_path, plan(), quotas, ["A,2027-12-01,R4,1200.00"])
    assert result.inputs.months_on_plan.tolist() == [8, 9, 12, 1]
    # 1,000.00 x 8/12 = 666.666.. -> 666.67; x 9/12 = 750.00; x 1/12 = 83.333.. -> 83.33.
    assert result.inputs.target_incentive.tolist() == [66_667, 75_000, 100_000, 8_333]
    # 90,000.00 x 8/12 = 60,000.00; 5,000.00 x 9/12 = 3,750.00; x 1/12 = 416.666.. -> 416.67.
    assert result.inputs.base_salary.tolist() == [6_000_000, 375_000, 500_000, 41_667]
    assert result.kpis.target_cost == 66_667 + 75_000 + 100_000 + 8_333
    # R4 at 100% of their year quota in their one month earns their prorated 83.33.
    assert result.evaluation.earned.tolist() == [0, 0, 0, 8_333]
    summary = payee_summary(result.plan, result.inputs, result.evaluation).set_index("payee_id")
    assert summary.loc["R1", "target_incentive"] == "666.67"
    assert summary["months_on_plan"].tolist() == [8, 9, 12, 1]


@pytest.mark.parametrize(("rule", "cents"), [("half_even", 50_000), ("half_up", 50_001)])
def test_proration_rounds_a_half_cent_with_the_plans_rule(rule: str, cents: int) -> None:
    # 1,000.01 x 6/12 = 500.005.
    assert prorated(np.array([100_001]), np.array([6]), rule).tolist() == [cents]


# ------------------------------------------------------------------------------------------ draws from the start


def test_no_draw_before_a_payee_starts_or_after_they_leave(tmp_path: Path) -> None:
    # A month-5 hire was advanced 3,000.00 a month from January: the draw now runs their first three months.
    p = plan(
        {"name": "rev", "tiers": [{"from": "0", "rate": "0.1"}]},
        draw={"amount": "3000.00", "periods": 3, "recoverable": True},
    )
    quotas = "rep_id,annual_quota,start_month,end_month\nR1,1200.00,5,\nR2,1200.00,,2\nR3,1200.00,,\n"
    result = run(tmp_path, p, quotas, [])
    draws = result.evaluation.payment.tolist()
    assert draws[0] == [0] * 4 + [300_000] * 3 + [0] * 5  # months 5-7
    assert draws[1] == [300_000] * 2 + [0] * 10  # left after month 2
    assert draws[2] == [300_000] * 3 + [0] * 9  # on board all year: months 1-3, as before
    assert result.evaluation.unrecovered.tolist() == [900_000, 600_000, 900_000]
    assert result.reconciliation.reconciled is True


def test_a_guaranteed_draw_stops_when_the_payee_leaves() -> None:
    p = plan({"name": "rev", "tiers": [{"from": "0", "rate": "0.1"}]}, draw={"amount": "1000.00", "recoverable": False})
    schedule = draw_schedule(p, np.array([1]), np.array([2]))
    assert schedule.tolist() == [[100_000, 100_000] + [0] * 10]
    # January earns 400.00 (topped up by 600.00), February 0 (topped up by 1,000.00); March on nothing is paid.
    credit = np.zeros((1, 12, 1), dtype=np.int64)
    credit[0, 0, 0] = 400_000
    ev = evaluate(p, credit, np.ones_like(credit), None, None, schedule)
    assert ev.payment[0, :3].tolist() == [100_000, 100_000, 0]
    assert ev.draw[0, :3].tolist() == [60_000, 100_000, 0]


def test_quarterly_draws_are_prorated_in_a_part_quarter() -> None:
    p = plan(CURVE, payout="quarter", draw={"amount": "3000.00", "recoverable": True})
    # On the plan from month 5 to month 7: Q2 holds months 5-6 (2/3 of 3,000.00), Q3 month 7 (1/3).
    assert draw_schedule(p, np.array([5]), np.array([7])).tolist() == [[0, 200_000, 100_000, 0]]
    # 1,000.00 a quarter from month 2: 2/3 = 666.666.. -> 666.67 in Q1; two periods counted from Q1.
    two = plan(CURVE, payout="quarter", draw={"amount": "1000.00", "periods": 2, "recoverable": True})
    assert draw_schedule(two, np.array([2]), np.array([12])).tolist() == [[66_667, 100_000, 0, 0]]
    # Two periods from a start in month 5: Q2 (2/3) and Q3.
    assert draw_schedule(two, np.array([5]), np.array([12])).tolist() == [[0, 66_667, 100_000, 0]]


def test_reconciliation_refuses_a_draw_scheduled_before_the_start(tmp_path: Path) -> None:
    from dataclasses import replace

    from spmopt.comp.run import reconcile
    from spmopt.comp.transactions import load_transactions

    p = plan(CURVE, draw={"amount": "3000.00", "periods": 3, "recoverable": True})
    result = run(tmp_path, p, "rep_id,annual_quota,start_month\nR1,1200.00,5\n", [])
    early = result.inputs.draw.copy()
    early[0, 0] = 300_000
    facts = reconcile(
        load_transactions(tmp_path / "tx.csv", p),
        result.ledger,
        result.evaluation,
        p,
        replace(result.inputs, draw=early),
        rules_from_files(tmp_path / "quotas.csv"),
    )
    assert facts.failures == [
        "payee R1, period 1: a draw of 3000.00 though they are on the plan from month 5 to 12 only"
    ]


# ------------------------------------------------------------------------------------------ bad terms


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "rep_id,annual_quota,start_month\nR1,1.00,13\n",
            "row 2: start_month = 13: must be a whole plan-year month 0..12 (0 or blank: on the plan from the year's "
            "start)",
        ),
        (
            "rep_id,annual_quota,end_month\nR1,1.00,4.5\n",
            "row 2: end_month = 4.5: must be a whole plan-year month 1..12 (blank: to the year's end)",
        ),
        (
            "rep_id,annual_quota,start_month,end_month\nR1,1.00,6,5\n",
            "row 2: end_month 5 of R1 is before their start_month 6: a payee is on the plan from start_month to "
            "end_month, inclusive",
        ),
        (
            "rep_id,annual_quota,target_incentive\nR1,1.00,0\n",
            "row 2: target_incentive = 0: must be above 0 (leave it blank for the plan's)",
        ),
        (
            "rep_id,annual_quota,target_incentive\nR1,1.00,100.005\n",
            "row 2: target_incentive = 100.005: must be a number >= 0 with at most two decimals",
        ),
        (
            "rep_id,annual_quota,base_salary\nR1,1.00,-1\n",
            "row 2: base_salary = -1: must be a number >= 0 with at most two decimals",
        ),
        (
            "payee_id,measure,annual_quota,target_incentive\nR1,,1.00,100.00\nR1,rev,2.00,120.00\n",
            "row 3: target_incentive of R1 is 120.00, but row 2 gives 100.00; give it once",
        ),
    ],
)
def test_a_bad_term_names_the_file_row_and_column(tmp_path: Path, table: str, message: str) -> None:
    path = write(tmp_path / "quotas.csv", table)
    with pytest.raises(DataError) as err:
        read_payee_terms(path)
    assert str(err.value) == f"{path}: {message}"


def test_a_term_two_files_give_differently_is_refused(tmp_path: Path) -> None:
    stage = payee_terms(read_table(write(tmp_path / "q.csv", "rep_id,annual_quota,start_month\nR1,1.00,4\n"), "q"), "q")
    assert stage == {"R1": PayeeTerms(start_month=4)}
    roster = write(tmp_path / "roster.csv", "payee_id,start_month,target_incentive\nR1,5,10.00\n")
    with pytest.raises(DataError) as err:
        merged_terms([roster], stage)
    assert (
        str(err.value) == f"{roster}: start_month of R1 is 5, but the quota stage's quota table gives 4; give it once"
    )
    # Between two files, the message names the first.
    first = write(tmp_path / "first.csv", "payee_id,target_incentive\nR1,20.00\n")
    with pytest.raises(DataError) as err:
        merged_terms([first, roster])
    assert str(err.value) == f"{roster}: target_incentive of R1 is 10.00, but {first} gives 20.00; give it once"
    # Terms the files do not both give merge one by one.
    other = write(tmp_path / "other.csv", "payee_id,target_incentive,end_month\nR1,10.00,11\n")
    assert merged_terms([other], stage) == {"R1": PayeeTerms(target_incentive=1_000, start_month=4, end_month=11)}


def test_a_terms_only_row_without_terms_is_still_a_missing_quota(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", "rep_id,annual_quota,target_incentive\nR1,,100.00\nR2,,\n")
    with pytest.raises(DataError, match=r"q\.csv: row 3: annual_quota missing: must be a number"):
        read_quotas(path, plan())


def test_a_scenario_takes_start_months_from_the_quota_table_and_terms_from_comp_quotas(tmp_path: Path) -> None:
    from spmopt.comp.run import evaluate_scenario_plans
    from spmopt.config import CompConfig

    # The quota stage's table, as the pipeline hands it over: R2 is a new hire from month 7, T3 is vacant.
    table = pd.DataFrame(
        {
            "territory_id": ["T1", "T2", "T3"],
            "rep_id": ["R1", "R2", None],
            "start_month": [0, 7, 0],
            "annual_quota": [1_200.0, 600.0, 1_200.0],
        }
    )
    roster = write(tmp_path / "roster.csv", "payee_id,target_incentive\nR1,1800.00\n")
    tx = write(tmp_path / "tx.csv", f"{TX_HEADER}\nA,2027-02-01,R1,1200.00\nB,2027-08-01,R2,600.00\n")
    cfg = CompConfig(plans=(tmp_path / "p.yaml",), transactions=tx, quotas=roster, plan_year="2027-01-01")
    p = plan(draw={"amount": "100.00", "periods": 2, "recoverable": True})
    alignment = pd.Series(["T1", "T2", "T3"], index=["U1", "U2", "U3"])
    (result,) = evaluate_scenario_plans(cfg, [p], alignment, {"T1": "R1", "T2": "R2", "T3": None}, table)
    assert result.inputs.payees == ("R1", "R2")
    # R1: own 1,800.00 all year; R2: the plan's 1,000.00 for 6 months = 500.00. Both at 100% of their quota.
    assert result.inputs.target_incentive.tolist() == [180_000, 50_000]
    assert result.evaluation.earned.tolist() == [180_000, 50_000]
    # R2's two 100.00 draws are months 7 and 8, not January and February.
    assert result.inputs.draw[1].tolist() == [0] * 6 + [10_000] * 2 + [0] * 4
    assert result.reconciliation.reconciled is True
