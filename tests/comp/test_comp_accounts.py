"""Transactions as a CRM exports them: deals of reps who left (or were never on the plan) are listed as uncredited
with a warning, not refused, and transactions keyed by `account_id` are credited through the accounts file's
unit and the alignment. Every amount is hand-computed in cents."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from instance_helpers import write
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.comp.crediting import CreditingRules, CreditLedger, credit
from spmopt.comp.plan import CompPlan
from spmopt.comp.run import evaluate_plan, rules_from_files
from spmopt.comp.transactions import load_transactions
from spmopt.errors import DataError

TX_HEADER = "transaction_id,date,rep_id,territory_id,unit_id,account_id,product,amount,new_logo,reason,original_id"
QUOTAS = "territory_id,rep_id,annual_quota\nT1,R1,1200.00\nT2,R2,1200.00\nT3,,1200.00\n"
"""Three territories; T3 is vacant."""
ALIGNMENT = "unit_id,territory_id\nU1,T1\nU2,T2\nU3,T3\n"
ACCOUNT_UNIT = pd.Series({"AC1": "U1", "AC2": "U2", "AC3": "U3"})
"""The accounts file's placed accounts, as the scenario hands them over."""
COMMISSION = {"name": "rev", "tiers": [{"from": "0", "rate": "0.1"}]}
NOT_A_PAYEE = "rep_id 'R07' is not a payee of the plan (left, or never on the roster)"
NO_ACCOUNT = "account 'GONE' is not in the accounts file (or is not placed in a unit)"


def plan(**extra: object) -> CompPlan:
    spec = {"name": "p", "year_start": "2027-01-01", "target_incentive": "1000.00", "measures": [COMMISSION]}
    return CompPlan.model_validate({**spec, **extra})


def rules(root: Path, account_unit: pd.Series | None = ACCOUNT_UNIT) -> CreditingRules:
    base = rules_from_files(write(root / "quotas.csv", QUOTAS), write(root / "alignment.csv", ALIGNMENT))
    return replace(base, account_unit=account_unit)


def ledger_of(root: Path, rows: list[str], account_unit: pd.Series | None = ACCOUNT_UNIT) -> CreditLedger:
    p = plan()
    tx = load_transactions(write(root / "tx.csv", "\n".join([TX_HEADER, *rows]) + "\n"), p)
    return credit(tx, rules(root, account_unit), p.clawback_days)


def why(ledger: CreditLedger) -> dict[str, tuple[int, str]]:
    return {r.transaction_id: (r.amount, r.why) for r in ledger.uncredited.itertuples(index=False)}


def credited(ledger: CreditLedger) -> set[tuple]:
    cols = ["transaction_id", "payee_id", "how", "territory_id", "amount"]
    return {tuple(r) for r in ledger.lines[cols].itertuples(index=False)}


# ------------------------------------------------------------------------------------------ reps not on the plan


DEPARTED = [
    "A,2027-01-10,R1,,,,license,100.00,0,,",
    "G,2027-02-10,R07,,,,license,250.50,1,,",  # R07 left: not in the quotas file
    "GC,2027-03-10,,,,,license,-50.25,0,cancellation,G",
]


def test_a_departed_reps_deal_is_uncredited_and_the_reconciliation_balances(tmp_path: Path) -> None:
    p = plan()
    write(tmp_path / "tx.csv", "\n".join([TX_HEADER, *DEPARTED]) + "\n")
    result = evaluate_plan(p, tmp_path / "tx.csv", write(tmp_path / "q.csv", QUOTAS), rules(tmp_path))
    assert credited(result.ledger) == {("A", "R1", "direct", "T1", 10_000)}
    assert why(result.ledger) == {
        "G": (25_050, NOT_A_PAYEE),
        "GC": (-5_025, f"cancels G, which credited nobody: {NOT_A_PAYEE}"),
    }
    # 100.00 + 250.50 - 50.25 = 300.25 = credited 100.00 + uncredited (250.50 - 50.25) 200.25
    facts = result.reconciliation
    assert (facts.transactions_total, facts.credited_direct_total, facts.uncredited_total) == (
        "300.25",
        "100.00",
        "200.25",
    )
    assert facts.reconciled is True
    # R1: 10% of 100.00 (the tier starts at 0); nobody is paid for G.
    assert result.inputs.payees == ("R1", "R2")
    assert result.evaluation.earned.tolist() == [1_000, 0]
    (warning,) = [w for w in result.warnings if "not on the plan" in w]
    assert warning == (
        f"{tmp_path / 'tx.csv'}: 2 transaction(s) totalling 200.25 are by 1 rep_id(s) not on the plan (left, or "
        "never on the roster) and are listed as uncredited, not paid: R07: 2 for 200.25"
    )


def test_a_typoed_rep_id_names_the_closest_payee(tmp_path: Path) -> None:
    ledger = ledger_of(tmp_path, ["A,2027-01-10,R1x,,,,license,12.34,0,,", "B,2027-01-11,Q99,,,,license,0.01,0,,"])
    assert ledger.lines.empty
    assert why(ledger)["A"] == (1_234, "rep_id 'R1x' is not a payee of the plan (left, or never on the roster)")
    (warning,) = ledger.warnings
    assert "2 transaction(s) totalling 12.35 are by 2 rep_id(s) not on the plan" in warning
    assert warning.endswith("R1x (did you mean R1?): 1 for 12.34; Q99: 1 for 0.01")


def test_the_cli_lists_a_departed_reps_deal_and_warns(tmp_path: Path) -> None:
    """Where a user sees them: the run's warnings on the console and uncredited.csv with the reason."""
    plan_file = write(
        tmp_path / "plan.yaml",
        "name: p\nyear_start: 2027-01-01\ntarget_incentive: 1000.00\n"
        "measures:\n  - name: rev\n    tiers:\n      - {from: 0, rate: 0.1}\n",
    )
    tx = write(tmp_path / "tx.csv", "\n".join([TX_HEADER, *DEPARTED]) + "\n")
    quotas = write(tmp_path / "quotas.csv", QUOTAS)
    out = tmp_path / "out"
    args = ["comp", "evaluate", str(plan_file), "--transactions", str(tx), "--quotas", str(quotas), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output
    assert "R07: 2 for 200.25" in " ".join(result.output.split())
    listed = pd.read_csv(out / "comp" / "p" / "uncredited.csv", dtype=str)
    assert listed.values.tolist() == [
        ["G", "250.50", NOT_A_PAYEE],
        ["GC", "-50.25", f"cancels G, which credited nobody: {NOT_A_PAYEE}"],
    ]


# ------------------------------------------------------------------------------------------ keyed by account


def test_an_account_keyed_deal_credits_the_rep_of_its_units_territory(tmp_path: Path) -> None:
    ledger = ledger_of(
        tmp_path,
        [
            "K,2027-04-01,,,,AC2,license,123.45,1,,",  # AC2 -> U2 -> T2 -> R2
            "L,2027-04-02,,,,AC3,license,10.00,0,,",  # AC3 -> U3 -> T3, vacant
            "M,2027-04-03,,T1,,AC2,license,1.00,0,,",  # territory_id comes first
            "KC,2027-05-01,,,,,license,-23.45,0,cancellation,K",
        ],
    )
    assert credited(ledger) == {
        ("K", "R2", "direct", "T2", 12_345),
        ("M", "R1", "direct", "T1", 100),
        ("KC", "R2", "clawback", "T2", -2_345),
    }
    assert why(ledger) == {"L": (1_000, "territory T3 has no rep")}
    assert ledger.warnings == ()


def test_an_account_not_in_the_accounts_file_is_uncredited_with_its_reason(tmp_path: Path) -> None:
    ledger = ledger_of(
        tmp_path,
        [
            "Z,2027-06-01,,,,GONE,license,77.77,0,,",
            "Y,2027-06-02,R1,,,GONE,license,5.00,0,,",  # a rep on the row is credited as without accounts
            "ZC,2027-06-03,,,,GONE,license,-7.77,0,cancellation,Z",
        ],
    )
    assert credited(ledger) == {("Y", "R1", "direct", "T1", 500)}
    assert why(ledger) == {
        "Z": (7_777, NO_ACCOUNT),
        "ZC": (-777, f"cancels Z, which credited nobody: {NO_ACCOUNT}"),
    }
    (warning,) = ledger.warnings
    # 77.77 - 7.77 = 70.00 over the deal and its cancellation; Y was credited, so it is not counted.
    assert "2 transaction(s) totalling 70.00 are of 1 account(s) the accounts file does not place" in warning
    assert warning.endswith("account GONE: 2 for 70.00")


def test_an_account_in_an_unaligned_unit_is_uncredited(tmp_path: Path) -> None:
    account_unit = pd.Series({"AC9": "U9"})
    ledger = ledger_of(tmp_path, ["Z,2027-06-01,,,,AC9,license,1.00,0,,"], account_unit)
    assert why(ledger) == {"Z": (100, "account 'AC9' is in unit 'U9', which no territory of the alignment covers")}


def test_account_id_without_an_accounts_file_names_file_and_row(tmp_path: Path) -> None:
    rows = ["A,2027-01-10,R1,,,AC1,license,1.00,0,,", "K,2027-04-01,,,,AC2,license,123.45,0,,"]
    with pytest.raises(DataError) as err:
        ledger_of(tmp_path, rows, account_unit=None)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'tx.csv'}: row 3: transaction K is credited by account_id 'AC2'")
    assert "needs data.accounts to credit by account" in message


def test_account_id_alone_is_a_column_saying_who_is_credited(tmp_path: Path) -> None:
    tx = load_transactions(
        write(tmp_path / "tx.csv", "transaction_id,date,account_id,amount\nK,2027-01-02,AC1,2.00\n"), plan()
    )
    ledger = credit(tx, rules(tmp_path), None)
    assert credited(ledger) == {("K", "R1", "direct", "T1", 200)}


def test_a_scenario_credits_by_account_through_evaluate_scenario_plans(tmp_path: Path) -> None:
    from spmopt.comp.run import evaluate_scenario_plans
    from spmopt.config import CompConfig

    table = pd.DataFrame({"territory_id": ["T1", "T2"], "rep_id": ["R1", "R2"], "annual_quota": [1_200.0, 1_200.0]})
    tx = write(tmp_path / "tx.csv", f"{TX_HEADER}\nK,2027-04-01,,,,AC2,license,123.45,0,,\n")
    cfg = CompConfig(plans=(tmp_path / "p.yaml",), transactions=tx, plan_year="2027-01-01")
    alignment = pd.Series(["T1", "T2"], index=["U1", "U2"])
    (result,) = evaluate_scenario_plans(cfg, [plan()], alignment, {"T1": "R1", "T2": "R2"}, table, ACCOUNT_UNIT)
    assert credited(result.ledger) == {("K", "R2", "direct", "T2", 12_345)}
    # R2: 10% of 123.45 = 12.345, half to even -> 12.34
    assert result.evaluation.earned.tolist() == [0, 1_234]
    assert result.reconciliation.reconciled is True
