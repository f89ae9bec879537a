"""A scenario that reads a CRM export (`data.accounts`): units, today's alignment and the moved share come from the
accounts, named accounts are their own locked units, history and the CRM-ready table are keyed by account, and bad
input is refused with one paragraph and nothing written.

Ten accounts over five Providence ZIPs, two reps (R1 at 02903, R2 at 02906), potential:
02903: A1 R1 100, A2 R2 40 | 02904: A3 R2 80 | 02905: A4 R1 60, A5 queue 30 | 02906: A6 R2 50, A7 R2 20 |
02907: N1 R1 200 (named), A8 R2 10 | A9 R1 15 has no ZIP. Placed potential 590; the largest owner of each unit
keeps 100 + 80 + 60 + 70 + 10 + 200 (N1's own unit) = 520, so 70 (A2 and the queue's A5) moves in every plan."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from cli_helpers import assert_clean_failure
from instance_helpers import write, write_csv
from typer.testing import CliRunner

from spmopt.cli import app
from spmopt.data.loader import load_planning_data
from spmopt.errors import InfeasibleModelError
from spmopt.scenario import load_scenario
from spmopt.territory.accounts import account_assignments
from spmopt.territory.inputs import territory_inputs
from spmopt.territory.plan import moved_share_pct

HEADER = ("Id", "Name", "Zip", "Owner", "Key", "Potential")
ACCOUNTS = [
    ["A1", "Acme", "02903-1111", "R1", "", 100],
    ["A2", "Beta", "2903", "R2", "", 40],
    ["A3", "Gamma", "02904", "R2", "", 80],
    ["A4", "Delta", "02905", "R1", "", 60],
    ["A5", "Eps", "02905", "Inside Sales Queue", "", 30],
    ["A6", "Zeta", "02906", "R2", "", 50],
    ["A7", "Eta", "02906", "R2", "", 20],
    ["N1", "Big Co", "02907", "R1", "yes", 200],
    ["A8", "Theta", "02907", "R2", "", 10],
    ["A9", "Iota", "", "R1", "", 15],
]
REPS = [["R1", 41.82, -71.4158], ["R2", 41.8351, -71.3971]]
COLUMNS = {"account_id": "Id", "name": "Name", "postal_code": "Zip", "owner": "Owner", "named": "Key"}
ALIGNMENT = {"02903": "R2", "02904": "R2", "02905": "R1", "02906": "R2", "02907": "R1"}
"""A hand alignment: 02903 and 02907 change territory (N1's own unit stays with R1, as it is locked)."""


def make(root: Path, territory: dict | None = None, accounts: list | None = None, **data: object) -> Path:
    write_csv(root / "accounts.csv", HEADER, accounts or ACCOUNTS)
    write_csv(root / "reps.csv", ("rep_id", "lat", "lon"), REPS)
    spec = {
        "name": "crm",
        "seed": 1,
        "data": {
            "accounts": {"file": "accounts.csv", "columns": {**COLUMNS, "potential": "Potential"}},
            "reps": "reps.csv",
            "adjacency_from": "points",
            **data,
        },
        "territory": {
            "balance": [{"measure": "potential", "tolerance": 0.6}],
            "solver": {"time_limit": 20, "threads": 1},
            **(territory or {}),
        },
        "output": {"dir": "out"},
    }
    return write(root / "scenario.yaml", yaml.safe_dump(spec))


def test_units_today_and_named_accounts_come_from_the_accounts(tmp_path: Path) -> None:
    data = load_planning_data(load_scenario(make(tmp_path)))
    units = data.units
    assert units.index.tolist() == ["02903", "02904", "02905", "02906", "02907", "account:N1"]
    assert units["potential"].tolist() == [140.0, 80.0, 90.0, 70.0, 10.0, 200.0]
    assert data.current_alignment.to_dict() == {
        "02903": "R1",
        "02904": "R2",
        "02905": "R1",
        "02906": "R2",
        "02907": "R2",
        "account:N1": "R1",
    }
    assert data.locks.to_dict() == {"account:N1": "R1"}
    # N1 sits at its ZIP, and touches only its rep's home unit on the adjacency graph.
    assert units.loc["account:N1", ["x_km", "y_km"]].tolist() == units.loc["02907", ["x_km", "y_km"]].tolist()
    assert sorted(data.adjacency.neighbors("account:N1")) == ["02903"]
    assert any("1 of 10 accounts cannot be placed" in w for w in data.warnings)


def test_the_moved_share_is_counted_account_by_account(tmp_path: Path) -> None:
    cfg = load_scenario(make(tmp_path, {"max_disruption": 0.3}))
    data = load_planning_data(cfg)
    inp = territory_inputs(data, cfg)
    dis = inp.disruption
    assert dis.on_accounts
    assert dis.total == 590.0
    assert dis.unavoidable == 70.0
    assert dis.weights == {
        "02903": 100.0,
        "02904": 80.0,
        "02905": 60.0,
        "02906": 70.0,
        "02907": 10.0,
        "account:N1": 200.0,
    }
    frame = pd.DataFrame({"unit_id": [*ALIGNMENT, "account:N1"], "territory_id": [*ALIGNMENT.values(), "R1"]})
    # Kept: A2 40 (R2 now holds 02903), A3 80, A4 60, A6+A7 70, N1 200 = 450 of 590: 140 moves (A1 100, A5 30, A8 10).
    assert moved_share_pct(frame, inp) == pytest.approx(100 * 140 / 590)


def test_a_cap_below_what_moves_in_every_plan_says_so_before_solving(tmp_path: Path) -> None:
    cfg = load_scenario(make(tmp_path, {"max_disruption": 0.1}))
    with pytest.raises(InfeasibleModelError) as caught:
        territory_inputs(load_planning_data(cfg), cfg)
    assert str(caught.value) == (
        "territory.max_disruption 10.0% cannot be met: 11.86% of potential changes owner in every alignment "
        "(accounts whose owner is not a rep, and accounts in a unit whose largest owner is someone else); raise the "
        "cap to at least 11.86%, or give those accounts an owner who is a rep"
    )


def test_account_assignments_give_each_accounts_new_owner_and_why(tmp_path: Path) -> None:
    data = load_planning_data(load_scenario(make(tmp_path)))
    alignment = pd.Series({**ALIGNMENT, "account:N1": "R1"})
    table = account_assignments(data, alignment, {"R1": "R1", "R2": "R2"}).set_index("account_id")
    assert table.loc[:, ["old_owner", "new_owner", "changed", "reason"]].to_dict("index") == {
        "A1": {"old_owner": "R1", "new_owner": "R2", "changed": True, "reason": "moved"},
        "A2": {"old_owner": "R2", "new_owner": "R2", "changed": False, "reason": "kept"},
        "A3": {"old_owner": "R2", "new_owner": "R2", "changed": False, "reason": "kept"},
        "A4": {"old_owner": "R1", "new_owner": "R1", "changed": False, "reason": "kept"},
        "A5": {"old_owner": "Inside Sales Queue", "new_owner": "R1", "changed": True, "reason": "new"},
        "A6": {"old_owner": "R2", "new_owner": "R2", "changed": False, "reason": "kept"},
        "A7": {"old_owner": "R2", "new_owner": "R2", "changed": False, "reason": "kept"},
        "N1": {"old_owner": "R1", "new_owner": "R1", "changed": False, "reason": "named"},
        "A8": {"old_owner": "R2", "new_owner": "R1", "changed": True, "reason": "moved"},
        "A9": {"old_owner": "R1", "new_owner": "R1", "changed": False, "reason": "unplaced"},
    }
    assert table.loc["A1", "note"] == "unit 02903 moved from R1 to R2"
    assert table.loc["A9", "note"] == "blank ZIP; keeps its owner"
    assert table.loc["N1", "unit_id"] == "account:N1"


def test_history_keyed_by_account_goes_to_each_accounts_unit(tmp_path: Path) -> None:
    rows = [[a, f"2025-{m:02d}", s] for m in range(1, 13) for a, s in (("A1", 10), ("A2", 5), ("N1", 7), ("GONE", 3))]
    write_csv(tmp_path / "history.csv", ("account_id", "period", "sales"), rows)
    path = make(tmp_path)
    spec = yaml.safe_load(path.read_text())
    spec["quota"] = {"target": 1000, "history": "history.csv", "attainment": {"dispersion": 0.2}}
    write(path, yaml.safe_dump(spec))
    data = load_planning_data(load_scenario(path))
    last_year = data.history.year(0)
    assert last_year["02903"] == 180.0
    assert last_year["account:N1"] == 84.0
    assert last_year["02904"] == 0.0
    assert any(
        "12 sales history row(s) of 1 account(s) that the accounts file does not place in a unit (12.0% of sales)" in w
        for w in data.warnings
    )


def test_a_run_writes_the_account_assignments_and_their_sheet(tmp_path: Path) -> None:
    path = make(tmp_path, {"contiguity": True, "islands": "bridge"})
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "account_assignments.csv", dtype=str, keep_default_na=False)
    assert table["account_id"].tolist() == [row[0] for row in ACCOUNTS]
    alignment = pd.read_csv(tmp_path / "out" / "alignment.csv", dtype=str).set_index("unit_id")["territory_id"]
    assert alignment["account:N1"] == "R1"
    assigned = table.set_index("account_id")
    for account, zip_code in (("A1", "02903"), ("A3", "02904"), ("A8", "02907")):
        assert assigned.loc[account, "new_owner"] == alignment[zip_code]
    sheet = openpyxl.load_workbook(tmp_path / "out" / "report.xlsx")["Account assignments"]
    assert [c.value for c in sheet[1]][:4] == ["account_id", "account_name", "old_owner", "new_owner"]
    assert sheet.max_row == len(ACCOUNTS) + 1


def test_an_unmapped_header_is_named_with_its_closest_match_and_nothing_is_written(tmp_path: Path) -> None:
    path = make(tmp_path)
    spec = yaml.safe_load(path.read_text())
    spec["data"]["accounts"]["columns"]["owner"] = "Account Owner"
    write(path, yaml.safe_dump(spec))
    result = CliRunner().invoke(app, ["run", str(path)])
    assert_clean_failure(
        result,
        tmp_path,
        "accounts has no column 'Account Owner' (data.accounts.columns.owner); the closest header is 'Owner'",
    )


def test_an_account_on_two_rows_is_refused_with_both_rows(tmp_path: Path) -> None:
    path = make(tmp_path, accounts=[*ACCOUNTS, ["A3", "Gamma 2", "02904", "R2", "", 1]])
    result = CliRunner().invoke(app, ["run", str(path)])
    assert_clean_failure(result, tmp_path, "row 12: duplicate Id 'A3' (first seen in row 4)")


def test_accounts_and_a_current_alignment_file_are_one_too_many(tmp_path: Path) -> None:
    write_csv(tmp_path / "current.csv", ("unit_id", "territory_id"), [["02903", "R1"]])
    path = make(tmp_path, current_alignment="current.csv")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert_clean_failure(result, tmp_path, "data.current_alignment and data.accounts both give today's alignment")
