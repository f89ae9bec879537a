"""Accounts read from a CRM export under its own headers: units summed from them by ZIP or unit column, unplaced
accounts and open owners listed and warned about, and each refusal worded exactly.

The hand-made export has eight accounts, 1000 of potential and 48 of revenue in all. ZIP 02903 holds A1 (ZIP+4,
R1, 100) and A2 (leading zero dropped, R2, 150): R2 holds the majority. ZIP 30303 holds A3 (R1, 200) and A4 (a
queue, so open, 200): a tie, which goes to the smaller owner id, R1. A6 has no ZIP and A7 an unknown one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from spmopt.data.accounts import AccountColumns, read_accounts, units_from_accounts
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
COLUMNS = AccountColumns(
    account_id="Account ID",
    owner="Account Owner",
    measures={"potential": "Potential", "revenue": "Revenue"},
    postal_code="Billing Postal Code",
    name="Account Name",
    named="Named Account",
)


def write(tmp_path: Path, rows: list[str] = ROWS, header: str = HEADER) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_units_by_zip_sum_measures_count_accounts_and_name_the_majority_owner(tmp_path: Path) -> None:
    accounts = read_accounts(write(tmp_path), COLUMNS, REPS)
    expected = pd.DataFrame(
        {
            "unit_id": ["02903", "10001", "30303", "60601"],
            "potential": [250.0, 50.0, 400.0, 250.0],
            "revenue": [30.0, 1.0, 12.0, 0.0],
            "accounts": [2, 1, 2, 1],
            "majority_owner": ["R2", "R2", "R1", "R3"],
        }
    )
    pd.testing.assert_frame_equal(units_from_accounts(accounts, "zip"), expected, check_dtype=False)
    assert accounts.account_unit.to_dict() == {
        "A1": "02903",
        "A2": "02903",
        "A3": "30303",
        "A4": "30303",
        "A5": "10001",
        "A8": "60601",
    }
    assert accounts.table["named"].to_dict() == {f"A{k}": k in (1, 8) for k in range(1, 9)}


def test_unplaced_accounts_are_listed_with_their_reason_and_counted_in_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path)
    accounts = read_accounts(path, COLUMNS, REPS)
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
        "(5.0% of potential, 10.4% of revenue): A6 (blank ZIP), A7 (unknown ZIP '99999')"
    )


def test_owners_who_are_not_reps_make_their_accounts_open(tmp_path: Path) -> None:
    path = write(tmp_path)
    accounts = read_accounts(path, COLUMNS, REPS)
    assert accounts.table.loc["A4", ["owner", "crm_owner"]].tolist() == ["open", "Inside Sales Queue"]
    assert accounts.open_owners.reset_index().to_dict("records") == [
        {"owner": "Inside Sales Queue", "accounts": 1, "share": 0.2}
    ]
    assert accounts.warnings[1] == (
        f"{path}: 1 of 8 accounts (20.0% of potential) are open because their Account Owner is blank or not a rep: "
        "Inside Sales Queue (1 account, 20.0%)"
    )


def test_without_reps_every_named_owner_is_kept(tmp_path: Path) -> None:
    accounts = read_accounts(write(tmp_path), COLUMNS, None)
    assert accounts.open_owners.empty
    # A tie goes to the smaller owner id: the queue sorts before R1.
    assert (
        units_from_accounts(accounts, "zip").set_index("unit_id").loc["30303", "majority_owner"] == "Inside Sales Queue"
    )
    assert len(accounts.warnings) == 1


def test_a_unit_column_places_the_accounts_instead_of_the_zip(tmp_path: Path) -> None:
    columns = COLUMNS.model_copy(update={"unit": "County FIPS"})
    accounts = read_accounts(write(tmp_path), columns, REPS)
    units = units_from_accounts(accounts, "unit")
    assert units["unit_id"].tolist() == ["13121", "17031", "36061", "44007"]
    assert units["potential"].tolist() == [400.0, 250.0, 50.0, 270.0]
    assert units["majority_owner"].tolist() == ["R1", "R3", "R2", "R2"]
    assert accounts.unplaced["reason"].to_dict() == {"A6": "blank unit"}
    with pytest.raises(DataError, match="cannot build units by zip: a unit column is mapped"):
        units_from_accounts(accounts, "zip")


def test_a_missing_header_is_named_with_the_closest_one(tmp_path: Path) -> None:
    path = write(tmp_path)
    columns = COLUMNS.model_copy(update={"owner": "Account owner"})
    with pytest.raises(DataError) as caught:
        read_accounts(path, columns, REPS)
    assert str(caught.value) == (
        f"{path}: accounts has no column 'Account owner' (mapped as owner); the closest header is 'Account Owner'; "
        "its headers are: 'Account ID', 'Account Name', 'Billing Postal Code', 'Account Owner', 'Named Account', "
        "'County FIPS', 'Potential', 'Revenue'"
    )


def test_an_account_id_on_two_rows_names_both(tmp_path: Path) -> None:
    path = write(tmp_path, [*ROWS, "A3,Gamma again,30303,R1,,13121,1,1"])
    with pytest.raises(DataError) as caught:
        read_accounts(path, COLUMNS, REPS)
    assert str(caught.value) == f"{path}: row 10: duplicate Account ID 'A3' (first seen in row 4)"


def test_a_negative_measure_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, [*ROWS[:4], "A5,Epsilon,10001,R2,,36061,-50,1", *ROWS[5:]])
    with pytest.raises(DataError) as caught:
        read_accounts(path, COLUMNS, REPS)
    assert str(caught.value) == (f"{path}: row 6: Potential = -50 is negative in accounts; measures must be >= 0")


def test_a_non_numeric_measure_names_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, [*ROWS[:2], "A3,Gamma,30303,R1,,13121,200,n/k", *ROWS[3:]])
    with pytest.raises(DataError) as caught:
        read_accounts(path, COLUMNS, REPS)
    assert str(caught.value) == f"{path}: row 4: Revenue = 'n/k' is not a number"


def test_account_ids_keep_their_leading_zeros(tmp_path: Path) -> None:
    rows = ["0012,Acme,02903,R1,,,1,1", "012,Beta,02903,R2,,,2,1"]
    accounts = read_accounts(write(tmp_path, rows), COLUMNS, REPS)
    assert accounts.table.index.tolist() == ["0012", "012"]


def test_the_mapping_needs_a_measure_and_a_way_to_place_accounts() -> None:
    with pytest.raises(ValidationError, match="map at least one measure"):
        AccountColumns(account_id="Id", owner="Owner", measures={}, postal_code="Zip")
    with pytest.raises(ValidationError, match="map postal_code or unit"):
        AccountColumns(account_id="Id", owner="Owner", measures={"potential": "Potential"})
