"""Accounts as input: a CRM export read under its own headers, each account placed in a unit (its ZIP, or a unit
id the export carries), and the units table summed from them.

Nothing is dropped without a word: an account that cannot be placed is listed in `Accounts.unplaced` and counted
in a warning, and an owner who is not a rep (a queue, someone who left) makes the account open, listed in
`Accounts.open_owners`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import field_validator, model_validator

from spmopt.config import StrictModel
from spmopt.data.tables import check_ids, numeric_column, read_table, row_number, shown
from spmopt.data.zip_locations import normalise_zip, unlocated_reason
from spmopt.errors import DataError

OPEN = "open"
"""Owner of an account whose CRM owner is blank or not a rep."""
BLANK_OWNER = "(blank)"
SHOWN = 5
"""Accounts or owners named in a warning; the rest are counted."""
_RESERVED = frozenset(("unit_id", "accounts", "majority_owner", "account_id", "name", "owner", "crm_owner"))
_TRUE = frozenset(("true", "yes", "y", "1", "x"))
_FALSE = frozenset(("false", "no", "n", "0"))
WHAT = "accounts"


class AccountColumns(StrictModel):
    """Which header of the accounts file holds each field spmopt reads (a CRM export keeps its own headers)."""

    account_id: str
    """Unique account id, e.g. `Account ID`."""
    owner: str
    """Account owner, e.g. `Account Owner`; compared with the rep ids."""
    measures: dict[str, str]
    """spmopt measure name -> header, e.g. `{potential: Potential}`; the first one decides majority owners."""
    postal_code: str | None = None
    """Postal code, e.g. `BillingPostalCode`; ZIP+4 and ZIPs that lost their leading zeros are read as ZIPs."""
    unit: str | None = None
    """A unit id the export carries (e.g. a county FIPS code); when given, it places the accounts, not the ZIP."""
    name: str | None = None
    """Account name, shown next to the id in listings."""
    named: str | None = None
    """Yes/no column marking named accounts (blank is no)."""

    @field_validator("measures")
    @classmethod
    def _measure_names(cls, measures: dict[str, str]) -> dict[str, str]:
        if not measures:
            raise ValueError("map at least one measure, e.g. {potential: Potential}")
        clash = sorted(_RESERVED.intersection(measures))
        if clash:
            raise ValueError(f"measure name '{clash[0]}' is taken by a column spmopt adds; choose another name")
        return measures

    @model_validator(mode="after")
    def _placed_somehow(self) -> AccountColumns:
        if self.postal_code is None and self.unit is None:
            raise ValueError("map postal_code or unit: accounts need one of them to be placed in units")
        return self

    @property
    def placed_by(self) -> Literal["zip", "unit"]:
        return "unit" if self.unit is not None else "zip"

    def headers(self) -> dict[str, str]:
        """Field (`measures.potential` for a measure) -> header, in the order errors should name them."""
        fields = {"account_id": self.account_id, "owner": self.owner}
        fields |= {f"measures.{m}": h for m, h in self.measures.items()}
        optional = {"postal_code": self.postal_code, "unit": self.unit, "name": self.name, "named": self.named}
        return fields | {f: h for f, h in optional.items() if h is not None}


@dataclass(frozen=True, slots=True)
class Accounts:
    """The accounts of one file, indexed by account id, with their placement and owners."""

    path: Path
    table: pd.DataFrame
    """Index `account_id`; columns `name`, `owner` (a rep id or `open`), `crm_owner` (as the file has it),
    `code` (the raw postal code or unit cell), `named`, then one float column per measure."""
    measures: tuple[str, ...]
    placed_by: Literal["zip", "unit"]
    account_unit: pd.Series
    """Account id -> unit id (the 5-digit ZIP or the unit column), for placed accounts only."""
    unplaced: pd.DataFrame
    """Index `account_id`; columns `name`, `code`, `reason`, then each measure."""
    open_owners: pd.DataFrame
    """Index: CRM owner that is not a rep; columns `accounts` (count) and `share` (of the first measure, 0-1)."""
    warnings: tuple[str, ...] = ()


def read_accounts(path: Path, columns: AccountColumns, reps: set[str] | None) -> Accounts:
    """Read a CSV or Parquet accounts file mapped by `columns`; `reps` are the rep ids owners are checked
    against (None: every non-blank owner is kept as given)."""
    text = [h for f, h in columns.headers().items() if not f.startswith("measures.")]
    frame = read_table(path, WHAT, text=text)
    _require_headers(frame, columns, path)
    check_ids(frame, columns.account_id, path, WHAT)
    measures = tuple(columns.measures)
    table = pd.DataFrame(index=pd.Index(frame[columns.account_id].astype(str), name="account_id"))
    table["name"] = _text(frame, columns.name)
    crm_owner = _text(frame, columns.owner)
    table["owner"] = [_owner(o, reps) for o in crm_owner]
    table["crm_owner"] = [o if o else BLANK_OWNER for o in crm_owner]
    table["code"] = _text(frame, columns.unit if columns.unit is not None else columns.postal_code)
    table["named"] = _named(frame, columns.named, path)
    for measure, header in columns.measures.items():
        table[measure] = numeric_column(frame, header, path, WHAT).to_numpy()

    units, reasons = _place(table["code"], columns.placed_by)
    placed = pd.notna(units)
    account_unit = pd.Series(units[placed], index=table.index[placed], name="unit_id", dtype=object)
    unplaced = table.loc[~placed, ["name", "code", *measures]]
    unplaced.insert(2, "reason", reasons[~placed])
    open_owners = _open_owners(table, measures[0])

    warnings = []
    if len(unplaced):
        warnings.append(_unplaced_warning(path, table, unplaced, measures, columns))
    if len(open_owners):
        warnings.append(_open_warning(path, table, open_owners, measures[0], columns.owner))
    return Accounts(path, table, measures, columns.placed_by, account_unit, unplaced, open_owners, tuple(warnings))


def units_from_accounts(accounts: Accounts, by: Literal["zip", "unit"]) -> pd.DataFrame:
    """One row per unit holding placed accounts, sorted by `unit_id`: each measure summed, `accounts` (count) and
    `majority_owner` (the owner with the largest share of the first measure; ties go to the smallest owner id)."""
    if by != accounts.placed_by:
        mapped = "a unit column is" if accounts.placed_by == "unit" else "no unit column is"
        raise DataError(
            f"{accounts.path}: cannot build units by {by}: {mapped} mapped, so the accounts are placed by "
            f"{accounts.placed_by}"
        )
    placed = accounts.table.loc[accounts.account_unit.index].assign(unit_id=accounts.account_unit)
    measures = list(accounts.measures)
    sums = placed.groupby("unit_id", sort=True)[measures].sum()
    sums["accounts"] = placed.groupby("unit_id", sort=True).size()
    by_owner = placed.groupby(["unit_id", "owner"], sort=True)[measures[0]].sum().reset_index()
    # A stable sort on the amount alone keeps owners in id order within a tie, so the first row per unit wins it.
    top = by_owner.sort_values(measures[0], ascending=False, kind="stable").drop_duplicates("unit_id")
    sums["majority_owner"] = top.set_index("unit_id")["owner"]
    return sums.reset_index()[["unit_id", *measures, "accounts", "majority_owner"]]


def _require_headers(frame: pd.DataFrame, columns: AccountColumns, path: Path) -> None:
    have = [str(c) for c in frame.columns]
    for field, header in columns.headers().items():
        if header in frame.columns:
            continue
        close = difflib.get_close_matches(header, have, n=1)
        hint = f"; the closest header is '{close[0]}'" if close else ""
        listed = ", ".join(f"'{shown(c)}'" for c in have[:30])
        raise DataError(f"{path}: {WHAT} has no column '{header}' (mapped as {field}){hint}; its headers are: {listed}")


def _text(frame: pd.DataFrame, header: str | None) -> list[str]:
    if header is None:
        return [""] * len(frame)
    return ["" if pd.isna(v) else str(v).strip() for v in frame[header]]


def _owner(owner: str, reps: set[str] | None) -> str:
    if not owner or (reps is not None and owner not in reps):
        return OPEN
    return owner


def _named(frame: pd.DataFrame, header: str | None, path: Path) -> np.ndarray:
    values = _text(frame, header)
    flags = np.zeros(len(values), dtype=bool)
    for pos, value in enumerate(values):
        word = value.lower()
        if word in _TRUE:
            flags[pos] = True
        elif word and word not in _FALSE:
            raise DataError(
                f"{path}: row {row_number(frame, pos)}: {header} = '{shown(value)}' in {WHAT} is not yes or no "
                "(true/false, yes/no, 1/0, or blank for no)"
            )
    return flags


def _place(codes: pd.Series, by: Literal["zip", "unit"]) -> tuple[np.ndarray, np.ndarray]:
    """Each account's unit id (None when unplaced) and, for the unplaced, why."""
    units = np.full(len(codes), None, dtype=object)
    reasons = np.full(len(codes), "", dtype=object)
    for pos, code in enumerate(codes):
        if not code:
            reasons[pos] = "blank ZIP" if by == "zip" else "blank unit"
        elif by == "unit":
            units[pos] = code
        elif (zip5 := normalise_zip(code)) is None:
            reasons[pos] = "not a ZIP"
        elif (why := unlocated_reason(zip5)) is not None:
            reasons[pos] = why
        else:
            units[pos] = zip5
    return units, reasons


def _open_owners(table: pd.DataFrame, first: str) -> pd.DataFrame:
    opened = table[table["owner"] == OPEN]
    total = float(table[first].sum())
    grouped = opened.groupby("crm_owner", sort=True)
    out = pd.DataFrame({"accounts": grouped.size(), "share": grouped[first].sum() / total if total else 0.0})
    out.index.name = "owner"
    return out.sort_values("accounts", ascending=False, kind="stable")


def _percent(part: float, total: float) -> str:
    return f"{part / total:.1%}" if total else "0%"


def _unplaced_warning(
    path: Path, table: pd.DataFrame, unplaced: pd.DataFrame, measures: tuple[str, ...], columns: AccountColumns
) -> str:
    shares = ", ".join(f"{_percent(unplaced[m].sum(), table[m].sum())} of {m}" for m in measures)
    named = []
    for account_id, row in unplaced.head(SHOWN).iterrows():
        code = f" '{shown(row['code'])}'" if row["code"] else ""
        named.append(f"{shown(account_id)} ({row['reason']}{code})")
    more = f" and {len(unplaced) - SHOWN} more" if len(unplaced) > SHOWN else ""
    header = columns.unit if columns.placed_by == "unit" else columns.postal_code
    return (
        f"{path}: {len(unplaced)} of {len(table)} accounts cannot be placed by their {header} and are left out "
        f"of the units ({shares}): {', '.join(named)}{more}"
    )


def _open_warning(path: Path, table: pd.DataFrame, open_owners: pd.DataFrame, first: str, header: str) -> str:
    shown_owners = [
        f"{shown(owner)} ({int(row['accounts'])} account{'s' if row['accounts'] != 1 else ''}, {row['share']:.1%})"
        for owner, row in open_owners.head(SHOWN).iterrows()
    ]
    more = f" and {len(open_owners) - SHOWN} more" if len(open_owners) > SHOWN else ""
    n = int(open_owners["accounts"].sum())
    share = _percent(float(table.loc[table["owner"] == OPEN, first].sum()), float(table[first].sum()))
    return (
        f"{path}: {n} of {len(table)} accounts ({share} of {first}) are open because their {header} is blank "
        f"or not a rep: {', '.join(shown_owners)}{more}"
    )
