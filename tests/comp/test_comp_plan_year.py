"""The plan year set by the scenario (`comp.plan_year`) or by `spmopt comp evaluate --plan-year`, replacing a plan's
`year_start`: a plan file without one serves any year, plans that have one stay valid, and a bad year or a SPIF
dated outside it gives one clear error."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_clean_failure
from instance_helpers import write
from typer.testing import CliRunner, Result

from spmopt.cli import app
from spmopt.comp.plan import CompPlan, load_plan, with_plan_year
from spmopt.comp.run import evaluate_plan, rules_from_files, scenario_plans
from spmopt.comp.transactions import load_transactions
from spmopt.config import CompConfig
from spmopt.errors import ConfigError, DataError
from spmopt.preparation import prepare
from spmopt.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
ANY_YEAR = """\
name: any_year
payout: quarter
target_incentive: 1000.00
measures:
  - name: rev
    tiers: [{from: 0, rate: 0.1}]
draw: {amount: 50.00, periods: 1, recoverable: true}
"""
TX = "transaction_id,date,rep_id,amount\nA,2028-04-01,R1,100.00\nB,2028-09-30,R1,1000.00\nC,2029-03-31,R1,10.00\n"
QUOTAS = "rep_id,annual_quota\nR1,1200.00\n"


def test_a_plan_without_year_start_pays_whatever_year_it_is_given(tmp_path: Path) -> None:
    p = with_plan_year(load_plan(write(tmp_path / "plan.yaml", ANY_YEAR)), dt.date(2028, 4, 1), "--plan-year")
    assert p.year_start == dt.date(2028, 4, 1)
    assert p.source == str(tmp_path / "plan.yaml")  # messages still name the file
    tx = load_transactions(write(tmp_path / "tx.csv", TX), p)
    # April 2028 is the first quarter of the plan year, September the second, March 2029 the fourth.
    assert tx.frame["period"].tolist() == [0, 1, 3]
    quotas = write(tmp_path / "quotas.csv", QUOTAS)
    result = evaluate_plan(p, tmp_path / "tx.csv", quotas, rules_from_files(quotas))
    # 10% commission: 10.00, 100.00, -, 1.00; the 50.00 draw of the first quarter is paid back in the second.
    assert result.evaluation.payment[0].tolist() == [5_000, 6_000, 0, 100]
    assert result.reconciliation.reconciled is True


def test_a_plan_year_replaces_the_plans_own(tmp_path: Path) -> None:
    path = write(tmp_path / "plan.yaml", "year_start: 2027-04-01\n" + ANY_YEAR)
    own = load_plan(path)
    assert own.year_start == dt.date(2027, 4, 1)  # still valid, still its own year without an override
    with pytest.raises(DataError) as err:
        load_transactions(write(tmp_path / "tx.csv", TX), own)
    assert "date 2028-04-01 is outside the plan year 2027-04-01 to 2028-03-31" in str(err.value)
    moved = with_plan_year(own, dt.date(2028, 4, 1), "the scenario's comp.plan_year")
    assert load_transactions(tmp_path / "tx.csv", moved).frame["period"].tolist() == [0, 1, 3]


def test_without_any_plan_year_dated_transactions_say_where_to_set_one(tmp_path: Path) -> None:
    p = load_plan(write(tmp_path / "plan.yaml", ANY_YEAR))
    tx = write(tmp_path / "tx.csv", TX)
    with pytest.raises(DataError) as err:
        load_transactions(tx, p)
    assert str(err.value) == (
        f"{tx}: transactions are dated; the plan 'any_year' needs a year_start to place them (in the plan file, or "
        "set by the scenario's comp.plan_year or `spmopt comp evaluate --plan-year`)"
    )


def test_a_spif_dated_outside_the_new_plan_year_is_refused() -> None:
    spif = {"name": "launch", "start": "2027-01-01", "end": "2027-03-31", "rate": "0.01"}
    p = CompPlan.model_validate(
        {
            "name": "p",
            "year_start": "2027-01-01",
            "target_incentive": "1000.00",
            "measures": [{"name": "rev", "tiers": [{"from": "0", "rate": "0.1"}]}],
            "spifs": [spif],
        }
    )
    with pytest.raises(ConfigError) as err:
        with_plan_year(p, dt.date(2028, 1, 1), "the scenario's comp.plan_year")
    assert str(err.value) == (
        "plan 'p': SPIF launch runs 2027-01-01 to 2027-03-31, outside the plan year 2028-01-01 to 2028-12-31 set by "
        "the scenario's comp.plan_year; date its window inside that year"
    )
    # A window overlapping the year is kept: a plan year from February still holds most of it.
    assert with_plan_year(p, dt.date(2027, 2, 1), "x").year_start == dt.date(2027, 2, 1)
    with pytest.raises(ConfigError, match=r"^--plan-year: 2027-02-15 is not the first day of a month"):
        with_plan_year(p, dt.date(2027, 2, 15), "--plan-year")


# ------------------------------------------------------------------------------------------ the scenario


def config(**extra: object) -> CompConfig:
    return CompConfig.model_validate({"plans": ["a.yaml"], "transactions": "t.csv", **extra})


def test_comp_plan_year_is_the_first_day_of_a_month() -> None:
    assert config().plan_year is None
    assert config(plan_year=dt.date(2028, 4, 1)).plan_year == "2028-04-01"  # YAML reads 2028-04-01 as a date
    assert config(plan_year="2028-04-01").plan_year == "2028-04-01"  # --set comp.plan_year=...
    for bad, message in [
        ("2028-04-02", "plan_year 2028-04-02 is not the first day of a month (plan years start on a month)"),
        (2028, "plan_year 2028 is not a date YYYY-MM-DD, e.g. 2028-01-01"),
        ("April", "plan_year 'April' is not a date YYYY-MM-DD, e.g. 2028-01-01"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            config(plan_year=bad)


def test_scenario_plans_take_the_scenarios_plan_year(tmp_path: Path) -> None:
    p = load_plan(write(tmp_path / "plan.yaml", ANY_YEAR))
    assert scenario_plans(config(), [p]) == [p]
    assert [q.year_start for q in scenario_plans(config(plan_year="2029-07-01"), [p])] == [dt.date(2029, 7, 1)]


def test_the_demo_scenario_moves_every_plan_and_the_simulation_to_its_plan_year() -> None:
    cfg = load_scenario(ROOT / "scenarios" / "demo.yaml", ["comp.plan_year=2027-02-01"])
    assert [p.year_start for p in prepare(cfg).plans] == [dt.date(2027, 2, 1)] * 2
    # The demo's target-incentive plan has a first-quarter 2027 SPIF: a 2026 plan year cannot hold it.
    cfg = load_scenario(ROOT / "scenarios" / "demo.yaml", ["comp.plan_year=2026-01-01"])
    with pytest.raises(ConfigError, match=r"target_incentive\.yaml: SPIF q1_new_logos runs 2027-01-01 to 2027-03-31"):
        prepare(cfg)


# ------------------------------------------------------------------------------------------ the CLI


def evaluate(root: Path, *extra: str) -> Result:
    plan, tx = write(root / "plan.yaml", ANY_YEAR), write(root / "tx.csv", TX)
    quotas = write(root / "quotas.csv", QUOTAS)
    args = ["comp", "evaluate", str(plan), "--transactions", str(tx), "--quotas", str(quotas), "--out", "out"]
    return CliRunner().invoke(app, [*args, *extra])


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_cli_plan_year_pays_a_plan_without_year_start(tmp_path: Path) -> None:
    result = evaluate(tmp_path, "--plan-year", "2028-04-01")
    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    payees = pd.read_csv(tmp_path / "out" / "comp" / "any_year" / "payees.csv", dtype=str)
    assert payees["paid"].tolist() == ["111.00"]


@pytest.mark.parametrize(
    ("year", "message"),
    [
        ("2028-13-01", "error: --plan-year '2028-13-01' is not a date YYYY-MM-DD (the first day of the plan year)"),
        ("2028-04-15", "error: --plan-year: 2028-04-15 is not the first day of a month (plan years start on a month)"),
    ],
)
def test_cli_bad_plan_year_is_one_clean_error(tmp_path: Path, year: str, message: str) -> None:
    assert_clean_failure(evaluate(tmp_path, "--plan-year", year), tmp_path, message)


def test_cli_without_plan_year_names_both_ways_to_set_it(tmp_path: Path) -> None:
    assert_clean_failure(evaluate(tmp_path), tmp_path, "needs a year_start to place them", "--plan-year")
