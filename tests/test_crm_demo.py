"""The CRM demo end to end (fewer simulated years than the scenario's 50, which only the decision's precision needs):
the account assignments cover every account of the export and reconcile with the moved share the run reports, the
strategic accounts stay with their reps, and the departed rep's deals are listed uncredited while every plan's
money still reconciles."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.territory.accounts import REASONS

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "crm_demo.yaml"
DATA = ROOT / "scenarios" / "crm_demo"


@pytest.fixture(scope="module")
def crm_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crm") / "out"
    result = CliRunner().invoke(app, ["run", str(SCENARIO), "--out", str(out), "--set", "simulation.replications=8"])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
def test_every_account_gets_an_owner_and_the_changes_add_up_to_the_moved_share(crm_run: Path) -> None:
    export = pd.read_csv(DATA / "accounts.csv", dtype=str, keep_default_na=False)
    reps = set(pd.read_csv(DATA / "reps.csv", dtype=str)["rep_id"])
    table = pd.read_csv(crm_run / "account_assignments.csv", dtype=str, keep_default_na=False)
    assert table["account_id"].tolist() == export["Account ID"].tolist()
    assert set(table["reason"]) <= set(REASONS)
    placed = table[table["reason"] != "unplaced"]
    assert set(placed["new_owner"]) <= reps
    strategic = export.loc[export["Strategic Account"] == "true", "Account ID"]
    named = table.set_index("account_id").loc[strategic]
    assert (named["reason"] == "named").all()
    assert (named["new_owner"] == named["old_owner"]).all()
    # The run's moved share is the potential of the placed accounts whose owner changes.
    potential = export.set_index("Account ID")["Annual Potential"].astype(float)
    changed = placed.loc[placed["changed"] == "True", "account_id"]
    share = 100 * potential[changed].sum() / potential[placed["account_id"]].sum()
    manifest = json.loads((crm_run / "manifest.json").read_text())
    territory = next(s["facts"] for s in manifest["stages"] if s["facts"]["stage"] == "territory")
    assert territory["moved_share_pct"] == pytest.approx(share, abs=1e-9)


@pytest.mark.slow
def test_the_departed_reps_deals_are_uncredited_and_every_plan_reconciles(crm_run: Path) -> None:
    deals = pd.read_csv(DATA / "transactions.csv", dtype=str, keep_default_na=False)
    by_departed = deals["rep_id"] == "Dana Whitfield"
    departed = set(deals.loc[by_departed, "transaction_id"])
    sales = set(deals.loc[by_departed & (deals["reason"] == ""), "transaction_id"])
    assert sales
    summary = pd.read_csv(crm_run / "comp_summary.csv", dtype=str)
    assert (summary["reconciled"] == "True").all()
    for plan in summary["plan"]:
        uncredited = pd.read_csv(crm_run / "comp" / plan / "uncredited.csv", dtype=str)
        assert departed <= set(uncredited["transaction_id"])
        gone = uncredited["why"] == "rep_id 'Dana Whitfield' is not a payee of the plan (left, or never on the roster)"
        assert set(uncredited.loc[gone, "transaction_id"]) == sales


@pytest.mark.slow
def test_the_workbook_has_the_account_sheet_and_quotas_cover_every_rep(crm_run: Path) -> None:
    import openpyxl

    sheet = openpyxl.load_workbook(crm_run / "report.xlsx", read_only=True)["Account assignments"]
    export_rows = sum(1 for _ in (DATA / "accounts.csv").open(encoding="utf-8")) - 1
    assert sheet.max_row == export_rows + 1
    quotas = pd.read_csv(crm_run / "quotas.csv", dtype={"rep_id": str})
    assert set(quotas["rep_id"]) == set(pd.read_csv(DATA / "reps.csv", dtype=str)["rep_id"])
