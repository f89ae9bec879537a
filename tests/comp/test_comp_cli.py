"""`spmopt comp evaluate` on tiny files in `tmp_path`: each bad input gives one clear error (exit code 2, the file
and the row, line or field named, no traceback, no output folder), and a valid run writes statements that add up
to the payments, exactly."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_clean_failure
from comp_helpers import CLI_PLAN as PLAN
from instance_helpers import line_of
from typer.testing import CliRunner, Result

from spmopt.cli import app
from spmopt.manifest import read_manifest

COMMISSION = """\
name: comm
year_start: 2027-01-01
payout: month
target_incentive: 1000.00
measures:
  - name: revenue
    tiers:
      - {from: 0.0, to: 0.8, rate: 0.05}
      - {from: 0.8, rate: 0.08}
draw: {amount: 10.00, periods: 2, recoverable: true}
"""

TX_HEADER = "transaction_id,date,rep_id,territory_id,unit_id,product,amount,margin,new_logo,reason,original_id"
TRANSACTIONS = [
    "A,2027-01-10,R1,,,license,1000.01,500.00,1,,",
    "B,2027-02-05,,T2,,services,450.00,100.00,0,,",
    "C,2027-05-05,,,U1,services,900.00,300.00,0,,",
    "D,2027-06-06,,,U3,license,400.00,200.00,0,,",
    "E,2027-08-20,,,U2,license,1234.56,600.00,1,,",
    "C1,2027-03-10,,,,license,-250.01,-100.00,0,cancellation,A",
    "N,2027-09-01,R2,,,services,-10.00,-5.00,0,credit_note,",
]
FILES = {
    "quotas.csv": "territory_id,rep_id,annual_quota\nT1,R1,2000.00\nT2,R2,2000.04\nT3,,2000.00\n",
    "overlay_quotas.csv": "payee_id,annual_quota\nS1,1500.00\n",
    "alignment.csv": "unit_id,territory_id\nU1,T1\nU2,T2\nU3,T3\n",
    "hierarchy.csv": "payee_id,manager_id,role\nR1,M1,rep\nR2,M1,rep\nM1,D1,manager\nS1,,overlay\n",
    "overlays.csv": "payee_id,territory_id,product\nS1,,services\n",
    "splits.csv": "transaction_id,payee_id,percent,reason\nA,R1,60,joint pursuit\nA,R2,40,joint pursuit\n",
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def make_data(
    root: Path, plan: str = PLAN, tx: list[str] | None = None, files: dict[str, str] | None = None
) -> dict[str, Path]:
    """Write the plan, transactions and every other input into `root`; return their paths by name."""
    paths = {"plan": root / "plan.yaml", "transactions": root / "tx.csv"}
    paths["plan"].write_text(plan, encoding="utf-8")
    paths["transactions"].write_text("\n".join([TX_HEADER, *(TRANSACTIONS if tx is None else tx)]) + "\n")
    for name, text in {**FILES, **(files or {})}.items():
        paths[name.removesuffix(".csv")] = root / name
        (root / name).write_text(text, encoding="utf-8")
    return paths


def evaluate(paths: dict[str, Path], *, overlays: bool = True) -> Result:
    """`spmopt comp evaluate` with every input (overlay payees need the second quotas file)."""
    args = ["comp", "evaluate", str(paths["plan"]), "--transactions", str(paths["transactions"])]
    args += ["--quotas", str(paths["quotas"]), "--out", "out"]
    args += ["--alignment", str(paths["alignment"]), "--hierarchy", str(paths["hierarchy"])]
    args += ["--splits", str(paths["splits"])]
    if overlays:
        args += ["--quotas", str(paths["overlay_quotas"]), "--overlays", str(paths["overlays"])]
    return CliRunner().invoke(app, args)


def tx_with(*rows: str) -> list[str]:
    """The valid transactions plus `rows` (the first added row is CSV line len(TRANSACTIONS) + 2)."""
    return [*TRANSACTIONS, *rows]


BAD_ROW = len(TRANSACTIONS) + 2


# ------------------------------------------------------------------------------------------ bad data files


def test_splits_not_adding_up_to_100(tmp_path: Path) -> None:
    paths = make_data(tmp_path, files={"splits.csv": "transaction_id,payee_id,percent\nE,R1,59.5\nE,R2,40.25\n"})
    assert_clean_failure(
        evaluate(paths), tmp_path, str(paths["splits"]), "row 2:", "transaction E", "99.75%", "not 100%", "rows 2, 3"
    )


@pytest.mark.parametrize(
    ("row", "fragments"),
    [
        ("X,2027-04-01,,T9,,license,1.00,0.50,0,,", ["territory_id 'T9'", "not a known territory"]),
        ("X,2027-04-01,,,U9,license,1.00,0.50,0,,", ["unit_id 'U9'", "not in the alignment"]),
        ("X,2027-04-01,R1,,,license,-1.00,-0.50,0,,", ["transaction X", "negative amount (-1.00)", "no reason"]),
        (
            "X,2027-04-01,,,,license,-1.00,-0.50,0,cancellation,ZZ",
            ["transaction X cancels unknown transaction ZZ"],
        ),
        ("X,2027-04-01,R1,,,license,1.005,0.50,0,,", ["amount = 1.005 has more than two decimals"]),
        ("X,2027-04-01,R1,,,license,1.00,0.505,0,,", ["margin = 0.505 has more than two decimals"]),
        ("X,2027-13-01,R1,,,license,1.00,0.50,0,,", ["date '2027-13-01' is not a YYYY-MM-DD date"]),
        ("X,01/04/2027,R1,,,license,1.00,0.50,0,,", ["date '01/04/2027' is not a YYYY-MM-DD date"]),
        ("X,2028-01-01,R1,,,license,1.00,0.50,0,,", ["date 2028-01-01 is outside the plan year"]),
        ("X,2027-04-01,R1,,,license,ten,0.50,0,,", ["amount = 'ten' is not a number"]),
    ],
    ids=[
        "unknown-territory",
        "unit-not-aligned",
        "negative-without-reason",
        "cancels-unknown",
        "amount-3-decimals",
        "margin-3-decimals",
        "month-13",
        "not-iso-date",
        "outside-year",
        "amount-not-a-number",
    ],
)
def test_bad_transaction_names_file_and_row(tmp_path: Path, row: str, fragments: list[str]) -> None:
    paths = make_data(tmp_path, tx=tx_with(row))
    assert_clean_failure(evaluate(paths), tmp_path, f"{paths['transactions']}: row {BAD_ROW}:", *fragments)


def test_cancellation_exceeding_its_deal_names_the_row(tmp_path: Path) -> None:
    paths = make_data(tmp_path, tx=tx_with("X,2027-09-01,,,,license,-1234.57,0,0,cancellation,E"))
    assert_clean_failure(
        evaluate(paths),
        tmp_path,
        f"row {BAD_ROW}:",
        "cancellations of deal E reach 1234.57, more than the deal's 1234.56",
    )


def test_quotas_naming_a_measure_not_in_the_plan(tmp_path: Path) -> None:
    quotas = "payee_id,measure,annual_quota\nS1,,1500.00\nS1,units,3\n"
    paths = make_data(tmp_path, files={"overlay_quotas.csv": quotas})
    assert_clean_failure(
        evaluate(paths), tmp_path, f"{paths['overlay_quotas']}: row 3:", "measure 'units' is not in plan 'tiny'"
    )


def test_quarterly_quotas_with_a_monthly_plan(tmp_path: Path) -> None:
    quotas = "territory_id,rep_id,q1,q2,q3,q4\nT1,R1,1,1,1,1\nT2,R2,1,1,1,1\nT3,,1,1,1,1\n"
    paths = make_data(tmp_path, plan=COMMISSION, files={"quotas.csv": quotas})
    assert_clean_failure(evaluate(paths, overlays=False), tmp_path, str(paths["quotas"]), "q1..q4", "pays monthly")


def test_split_to_an_unknown_payee(tmp_path: Path) -> None:
    paths = make_data(tmp_path, files={"splits.csv": "transaction_id,payee_id,percent\nE,R1,50\nE,R7,50\n"})
    assert_clean_failure(evaluate(paths), tmp_path, f"{paths['splits']}: row 3:", "payee_id 'R7'", "not a known payee")


def test_missing_quota_for_the_overlay(tmp_path: Path) -> None:
    paths = make_data(tmp_path)
    args = ["comp", "evaluate", str(paths["plan"]), "--transactions", str(paths["transactions"])]
    args += ["--quotas", str(paths["quotas"]), "--out", "out", "--alignment", str(paths["alignment"])]
    args += ["--overlays", str(paths["overlays"])]
    result = CliRunner().invoke(app, args)
    assert_clean_failure(result, tmp_path, str(paths["quotas"]), "no quota for", "S1 (revenue)")


# ------------------------------------------------------------------------------------------ bad plan files


TIER_GAP = COMMISSION.replace("{from: 0.8, rate: 0.08}", "{from: 0.9, rate: 0.08}")
TIER_OVERLAP = COMMISSION.replace(
    "{from: 0.8, rate: 0.08}", "{from: 0.8, to: 1.2, rate: 0.08}\n      - {from: 1.1, rate: 0.1}"
)


@pytest.mark.parametrize(
    ("plan", "needle", "fragments"),
    [
        (TIER_GAP, "- name: revenue", ["tiers 0 and 1: gap between to 0.8 and from 0.9"]),
        (TIER_OVERLAP, "- name: revenue", ["tiers 1 and 2: overlap between to 1.2 and from 1.1"]),
        (
            PLAN.replace("{attainment: 1.5, payout: 2.0}", "{attainment: 0.9, payout: 2.0}"),
            "- name: revenue",
            ["curve point 2: attainment 0.9 is not above point 1's 1.0"],
        ),
        (PLAN.replace("cap: 2.5", "cap: 0.9"), "- name: revenue", ["cap 0.9 is below the payout at 100% attainment"]),
        (
            PLAN.replace("quota_scale: 0.5", "quota_scale: 0"),
            "quota_scale: 0",
            ["measures[1].quota_scale", "greater than 0"],
        ),
        (PLAN.replace("weight: 0.3", "weight: 0.4"), None, ["weights add up to 1.1, not 1"]),
        (PLAN.replace("amount: 100.00", "amount: 100.001"), "- {attainment: 1.0, amount", ["more than two decimals"]),
    ],
    ids=["tier-gap", "tier-overlap", "curve-not-ascending", "cap-below-target", "quota-scale-zero", "weights", "cents"],
)
def test_bad_plan_names_file_and_line(tmp_path: Path, plan: str, needle: str | None, fragments: list[str]) -> None:
    paths = make_data(tmp_path, plan=plan)
    where = [f"(line {line_of(paths['plan'], needle)})"] if needle is not None else []
    assert_clean_failure(evaluate(paths), tmp_path, f"{paths['plan']}: invalid comp plan", *where, *fragments)


GATE = "gate: {measure: revenue, min_attainment: 0.6}"


@pytest.mark.parametrize(
    ("new", "fragment"),
    [
        ("gate: {measure: revnue, min_attainment: 0.6}", "gate names unknown measure 'revnue'"),
        ("modifier: {measure: units, steps: [{from: 0.5, factor: 1.1}]}", "modifier names unknown measure 'units'"),
    ],
    ids=["gate", "modifier"],
)
def test_unknown_measure_in_gate_or_modifier_names_the_line(tmp_path: Path, new: str, fragment: str) -> None:
    paths = make_data(tmp_path, plan=PLAN.replace(GATE, new))
    text = assert_clean_failure(evaluate(paths), tmp_path, f"{paths['plan']}: invalid comp plan", fragment)
    # the line of the gate/modifier itself, or at least of the measure holding it
    lines = {line_of(paths["plan"], new), line_of(paths["plan"], "- name: margin")}
    assert any(f"(line {n})" in text for n in lines), text


def test_unknown_measure_in_gate_is_still_a_clean_error(tmp_path: Path) -> None:
    paths = make_data(tmp_path, plan=PLAN.replace(GATE, GATE.replace("revenue", "revnue")))
    assert_clean_failure(
        evaluate(paths),
        tmp_path,
        str(paths["plan"]),
        "gate names unknown measure 'revnue'",
        "measures[1] (line ",
    )


def test_unknown_plan_key_names_the_line(tmp_path: Path) -> None:
    paths = make_data(tmp_path, plan=PLAN.replace("clawback_days: 90", "claw_back_days: 90"))
    line = line_of(paths["plan"], "claw_back_days")
    assert_clean_failure(evaluate(paths), tmp_path, f"claw_back_days (line {line})", "unknown key")


def test_plan_year_must_start_on_the_first_of_a_month(tmp_path: Path) -> None:
    paths = make_data(tmp_path, plan=COMMISSION.replace("year_start: 2027-01-01", "year_start: 2028-02-29"))
    assert_clean_failure(evaluate(paths, overlays=False), tmp_path, "year_start (line", "not the first day of a month")


# ------------------------------------------------------------------------------------------ a valid run


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_valid_run_writes_statements_that_add_up_to_the_payments(tmp_path: Path) -> None:
    paths = make_data(tmp_path)
    result = evaluate(paths)
    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    assert "Traceback" not in result.output
    out = tmp_path / "out"
    folder = out / "comp" / "tiny"
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {
        "comp_summary.csv",
        "manifest.json",
        "comp/tiny/statements.csv",
        "comp/tiny/payees.csv",
        "comp/tiny/credit.csv",
        "comp/tiny/uncredited.csv",
    } <= written

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "comp evaluate"
    inputs = ["plan", "transactions", "quotas", "overlay_quotas", "alignment", "hierarchy", "overlays", "splits"]
    assert manifest["inputs"] == {str(paths[k]): sha256(paths[k]) for k in inputs}
    assert set(manifest["outputs"]) == written - {"manifest.json", ".spmopt-output.json"}
    assert manifest["stages"][0]["facts"]["plans"]["tiny"]["reconciliation"]["reconciled"] is True
    assert read_manifest(out).stage("comp").plans["tiny"].reconciliation.reconciled is True

    text = {"dtype": str, "keep_default_na": False}
    statements = pd.read_csv(folder / "statements.csv", **text)
    payees = pd.read_csv(folder / "payees.csv", **text).set_index("payee_id")
    assert list(payees.index) == ["R1", "R2", "M1", "D1", "S1"]
    assert payees["role"].tolist() == ["rep", "rep", "manager", "manager", "overlay"]
    assert payees["target_incentive"].tolist() == ["1000.00", "1000.00", "2000.00", "2000.00", "500.00"]
    # every statement line, read as exact decimal text, adds up to the payee's payments
    amounts = statements.assign(amount=statements["amount"].map(Decimal))
    per_period = amounts.groupby(["payee_id", "period"])["amount"].sum()
    assert len(per_period) == 5 * 4
    per_payee = per_period.groupby(level="payee_id").sum()
    paid = payees["paid"].map(Decimal)
    assert per_payee.sort_index().to_dict() == paid.sort_index().to_dict()
    assert sum(paid) > 0
    assert all(Decimal(v) == Decimal(v).quantize(Decimal("0.01")) for v in statements["amount"])

    # credit lines: transactions = direct credit + uncredited, to the cent, by hand
    credit = pd.read_csv(folder / "credit.csv", **text)
    own = credit[credit["how"].isin(["direct", "split", "clawback"])]
    direct = sum(own["amount"].map(Decimal))
    # A 1000.01 + B 450 + C 900 + E 1234.56 - C1 250.01 - N 10; D (vacant T3) is uncredited
    assert direct == Decimal("3324.56")
    uncredited = pd.read_csv(folder / "uncredited.csv", **text)
    assert uncredited[["transaction_id", "amount"]].values.tolist() == [["D", "400.00"]]
    summary = pd.read_csv(out / "comp_summary.csv", **text).iloc[0]
    assert summary["plan"] == "tiny"
    assert summary["reconciled"] == "True"
    assert summary["transactions_total"] == "3724.56"
    assert summary["credited_direct_total"] == "3324.56"
    assert summary["uncredited_total"] == "400.00"
    assert summary["payments_total"] == f"{sum(paid):.2f}"
    assert Decimal(summary["statement_lines_total"]) == sum(amounts["amount"])
    # the 60/40 split of A (1000.01) and its cancellation (-250.01) by largest remainder
    a = credit[credit["transaction_id"].isin(["A", "C1"]) & (credit["how"] != "rollup")]
    assert a[["transaction_id", "payee_id", "amount"]].values.tolist() == [
        ["A", "R1", "600.01"],
        ["A", "R2", "400.00"],
        ["C1", "R1", "-150.01"],
        ["C1", "R2", "-100.00"],
    ]
    assert payees.loc["R1", "credited_revenue"] == "1350.00"  # 600.01 + 900 - 150.01
    assert payees.loc["M1", "credited_revenue"] == "3324.56"
    assert payees.loc["S1", "credited_revenue"] == "1340.00"  # services: B + C - N
