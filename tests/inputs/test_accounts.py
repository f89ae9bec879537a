"""Accounts read from a CRM export under its own headers: units summed from them by ZIP, county or unit column,
named accounts as units of their own, today's ownership weighed account by account, unplaced accounts and open
owners listed and warned about, and each refusal worded exactly.

The hand-made export has eight accounts, 1000 of potential and 48 of revenue in all. ZIP 02903 holds A1 (ZIP+4,
R1, named) and A2 (leading zero dropped, R2, 150). ZIP 30303 holds A3 (R1, 200) and A4 (a queue, so open, 200).
A8 (R3, 250, named) is alone in 60601. A6 has no ZIP and A7 an unknown one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from spmopt.config import AccountsConfig
from spmopt.data.accounts import named_table, ownership, read_accounts, units_table
from spmopt.errors import DataError

HEADER = "Account ID,Account Name, Billing Postal Code ,Account Owner,Named Account,County FIPS,Potential,Revenue"
ROWS = [
    "A1,Acme,02903-1234,R1,yes,44007,100,10",
    "A2,Beta,2903,R2,,44007,150,20",
    "A3,Gamma,30303,R1,no,13121,200,5",
    "A4,Delta,30303,Inside Sales Queue,,13121,200,7",
    "A5,Epsilon,10001,R2,,36061,50,1",
    "A6,Zeta,,R1,,,30,2",
    "A7,Eta,99999,R3,,44007,20,3",
    "A8,Theta,60601,R3,Y,17031,250,0",
]
REPS = {"R1", "R2", "R3"}
COLUMNS = {
    "account_id": "Account ID",
    "owner": "Account Owner",
    "postal_code": "Billing Postal Code",
    "name": "Account Name",
    "named": "Named Account",
    "potential": "Potential",
    "revenue": "Revenue",
}


def write(tmp_path: Path, rows: list[str] = ROWS, header: str = HEADER) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def config(path: Path, units_by: str | None = None, **columns: str) -> AccountsConfig:
    return AccountsConfig(file=path, columns={**COLUMNS, **columns}, units_by=units_by)


def test_units_by_zip_sum_the_accounts_that_go_with_their_zip(tmp_path: Path) -> None:
    accounts = read_accounts(config(write(tmp_path)), REPS, None)
    units = units_table(accounts)
    # Named accounts A1 and A8 are units of their own: 60601 holds only A8, so it is a unit with zeros.
    assert units["unit_id"].tolist() == ["02903", "10001", "30303", "60601"]
    assert units["potential"].tolist() == [150.0, 50.0, 400.0, 0.0]
    assert units["revenue"].tolist() == [20.0, 1.0, 12.0, 0.0]
    assert units["accounts"].tolist() == [1.0, 1.0, 2.0, 0.0]
    assert units["lat"].round(2).tolist()[0] == 41.82  # Providence, from the offline ZIP data
    assert accounts.place.to_dict() == {
        "A1": "02903",
        "A2": "02903",
        "A3": "30303",
        "A4": "30303",
        "A5": "10001",
        "A8": "60601",
    }
    assert accounts.unit_of.to_dict()["A1"] == "account:A1"
    assert accounts.named_units.to_dict() == {"account:A1": "R1", "account:A8": "R3"}
    named = named_table(accounts)
    assert named[["unit_id", "place", "rep", "potential", "accounts"]].values.tolist() == [
        ["account:A1", "02903", "R1", 100.0, 1.0],
        ["account:A8", "60601", "R3", 250.0, 1.0],
    ]


def test_ownership_keeps_each_owners_accounts_and_counts_the_open_ones_as_moved(tmp_path: Path) -> None:
    accounts = read_accounts(config(write(tmp_path)), REPS, None)
    owned = ownership(accounts, "potential", {"R1": "T1", "R2": "T2", "R3": "T3"})
    assert owned.kept == {
        "02903": {"T2": 150.0},
        "10001": {"T2": 50.0},
        "30303": {"T1": 200.0},
        "account:A1": {"T1": 100.0},
        "account:A8": {"T3": 250.0},
    }
    assert owned.total == 950.0  # A6 and A7 are not placed
    assert owned.current() == {"02903": "T2", "10001": "T2", "30303": "T1", "account:A1": "T1", "account:A8": "T3"}
    assert owned.unavoidable == 200.0  # the queue's A4
    plan = {"02903": "T1", "10001": "T2", "30303": "T1", "60601": "T3", "account:A1": "T1", "account:A8": "T3"}
    assert owned.moved(plan) == 350.0  # A2 (150) and A4 (200)


def test_a_unit_split_between_owners_goes_to_the_larger_and_moves_the_rest(tmp_path: Path) -> None:
    rows = ["B1,,02903,R1,,,60,0", "B2,,02903,R2,,,40,0", "B3,,02903,R2,,,30,0", "B4,,02904,R1,,,10,0"]
    accounts = read_accounts(config(write(tmp_path, rows)), REPS, None)
    owned = ownership(accounts, "potential", None)
    assert owned.current() == {"02903": "R2", "02904": "R1"}  # 70 against 60
    assert owned.unavoidable == 60.0
    assert owned.moved({"02903": "R1", "02904": "R1"}) == 70.0
    by_count = ownership(accounts, "accounts", None)
    assert by_count.current() == {"02903": "R2", "02904": "R1"}
    assert by_count.unavoidable == 1.0


def test_units_by_county_group_the_zips_of_a_county(tmp_path: Path) -> None:
    accounts = read_accounts(config(write(tmp_path), units_by="county"), REPS, None)
    units = units_table(accounts)
    assert units["unit_id"].tolist() == [
        "Cook County, IL",
        "Fulton County, GA",
        "New York County, NY",
        "Providence County, RI",
    ]
    assert units["potential"].tolist() == [0.0, 400.0, 50.0, 150.0]
    assert units[["lat", "lon"]].notna().all().all()


def test_unplaced_accounts_are_listed_with_their_reason_and_counted_in_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path)
    accounts = read_accounts(config(path), REPS, None)
    assert accounts.unplaced.reset_index().to_dict("records") == [
        {"account_id": "A6", "name": "Zeta", "code": "", "reason": "blank ZIP", "potential": 30.0, "revenue": 2.0},
        {
            "account_id": "A7",
            "name": "Eta",
            "code": "99999",
            "reason": "unknown ZIP",
            "potential": 20.0,
            "revenue": 3.0,
        },
    ]
    assert accounts.warnings[0] == (
        f"{path}: 2 of 8 accounts cannot be placed by their Billing Postal Code and are left out of the units "
        "(5.0% of potential, 10.4% of revenue); they keep their owner: A6 (blank ZIP), A7 (unknown ZIP '99999')"
    )


def test_owners_who_are_not_reps_make_their_accounts_open(tmp_path: Path) -> None:
    path = write(tmp_path)
    accounts = read_accounts(config(path), REPS, None)
    assert accounts.table.loc["A4", ["owner", "crm_owner"]].tolist() == ["open", "Inside Sales Queue"]
    assert accounts.open_owners.reset_index().to_dict("records") == [
        {"owner": "Inside Sales Queue", "accounts": 1, "share": 0.2}
    ]
    assert accounts.warnings[1] == (
        f"{path}: 1 of 8 accounts (20.0% of potential) are open because their Account Owner is blank or not a rep, "
        "and get the rep of their territory: Inside Sales Queue (1 account, 20.0%)"
    )


def test_without_reps_every_named_owner_is_kept(tmp_path: Path) -> None:
    accounts = read_accounts(config(write(tmp_path)), None, None)
    assert accounts.open_owners.empty
    # A tie goes to the smaller owner id: the queue sorts before R1.
    assert ownership(accounts, "potential", None).current()["30303"] == "Inside Sales Queue"
    assert len(accounts.warnings) == 1


def test_a_named_account_without_a_rep_goes_with_its_zip(tmp_path: Path) -> None:
    path = write(tmp_path, [*ROWS[:3], "A4,Delta,30303,Inside Sales Queue,yes,13121,200,7", *ROWS[4:]])
    accounts = read_accounts(config(path), REPS, None)
    assert accounts.named_units.to_dict() == {"account:A1": "R1", "account:A8": "R3"}
    assert accounts.warnings[-1] == (
        f"{path}: 1 named account(s) have no rep to stay with (their owner is open and no assigned_to rep is "
        "given), so they go with their ZIP like any account: A4"
    )


def test_assigned_to_gives_a_named_account_its_rep_and_is_refused_elsewhere(tmp_path: Path) -> None:
    header = HEADER + ",Assigned"
    rows = [row + ("," if k != 0 else ",R2") for k, row in enumerate(ROWS)]
    accounts = read_accounts(config(write(tmp_path, rows, header), assigned_to="Assigned"), REPS, None)
    assert accounts.named_units.to_dict() == {"account:A1": "R2", "account:A8": "R3"}
    rows[1] = ROWS[1] + ",R3"
    path = write(tmp_path, rows, header)
    with pytest.raises(DataError) as caught:
        read_accounts(config(path, assigned_to="Assigned"), REPS, None)
    assert str(caught.value) == (
        f"{path}: row 3: Assigned = 'R3' on an account that is not named; only named accounts are assigned one "
        "by one (mark it named, or leave the cell blank)"
    )
    rows[1], rows[0] = ROWS[1] + ",", ROWS[0] + ",R22"
    path = write(tmp_path, rows, header)
    with pytest.raises(DataError) as caught:
        read_accounts(config(path, assigned_to="Assigned"), REPS, None)
    assert str(caught.value) == (
        f"{path}: row 2: Assigned = 'R22' in accounts is not a rep_id of the reps file (did you mean R2?)"
    )


def test_a_unit_column_places_the_accounts_in_the_units_file(tmp_path: Path) -> None:
    units = (tmp_path / "units.csv", pd.Index(["13121", "17031", "44007"]))
    accounts = read_accounts(config(write(tmp_path), unit="County FIPS"), REPS, units)
    table = units_table(accounts)
    assert table["unit_id"].tolist() == ["13121", "17031", "44007"]
    assert table["potential"].tolist() == [400.0, 0.0, 170.0]
    assert "lat" not in table.columns  # the units file gives the locations
    assert accounts.unplaced["reason"].to_dict() == {"A5": "36061 is not a unit of units.csv", "A6": "blank unit"}


def test_a_missing_header_is_named_with_the_closest_one(tmp_path: Path) -> None:
    path = write(tmp_path)
    with pytest.raises(DataError) as caught:
        read_accounts(config(path, owner="Account owner"), REPS, None)
    assert str(caught.value) == (
        f"{path}: accounts has no column 'Account owner' (data.accounts.columns.owner); the closest header is "
        "'Account Owner'; its headers are: 'Account ID', 'Account Name', 'Billing Postal Code', 'Account Owner', "
        "'Named Account', 'County FIPS', 'Potential', 'Revenue'"
    )


def test_an_account_id_on_two_rows_names_both(tmp_path: Path) -> None:
    path = write(tmp_path, [*ROWS, "A3,Gamma again,30303,R1,,13121,1,1"])
    with pytest.raises(DataError) as caught:
        read_accounts(config(path), REPS, None)
    assert str(caught.value) == f"{path}: row 10: duplicate Account ID 'A3' (first seen in row 4)"


def test_a_negative_measure_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, [*ROWS[:4], "A5,Epsilon,10001,R2,,36061,-50,1", *ROWS[5:]])
    with pytest.raises(DataError) as caught:
        read_accounts(config(path), REPS, None)
    assert str(caught.value) == (f"{path}: row 6: Potential = -50 is negative in accounts; measures must be >= 0")


def test_a_non_numeric_measure_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, [*ROWS[:2], "A3,Gamma,30303,R1,,13121,200,n/k", *ROWS[3:]])
    with pytest.raises(DataError) as caught:
        read_accounts(config(path), REPS, None)
    assert str(caught.value) == f"{path}: row 4: Revenue = 'n/k' is not a number"


def test_account_ids_keep_their_leading_zeros(tmp_path: Path) -> None:
    rows = ["0012,Acme,02903,R1,,,1,1", "012,Beta,02903,R2,,,2,1"]
    accounts = read_accounts(config(write(tmp_path, rows)), REPS, None)
    assert accounts.table.index.tolist() == ["0012", "012"]


def test_the_mapping_needs_a_measure_and_a_way_to_place_accounts(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="map at least one measure"):
        AccountsConfig(file=tmp_path / "a.csv", columns={"account_id": "Id", "owner": "Owner", "postal_code": "Zip"})
    with pytest.raises(ValidationError, match="units_by: zip needs columns.postal_code"):
        AccountsConfig(file=tmp_path / "a.csv", columns={"account_id": "Id", "owner": "Owner", "potential": "P"})
    with pytest.raises(ValidationError, match="units_by: unit needs columns.unit"):
        AccountsConfig(
            file=tmp_path / "a.csv",
            columns={"account_id": "Id", "owner": "Owner", "postal_code": "Zip", "potential": "P"},
            units_by="unit",
        )
    with pytest.raises(ValidationError, match="measure name 'unit_id' is taken"):
        AccountsConfig(file=tmp_path / "a.csv", columns={"account_id": "Id", "owner": "O", "unit_id": "U", "unit": "U"})
