"""Accounts as input: a CRM export read under its own headers, each account placed in a unit (its ZIP, its ZIP's
county, or a unit id the export carries), the units' measures summed from their accounts, and today's owners
turned into the ownership the moved share is measured on.

Nothing is dropped without a word: an account that cannot be placed is listed in `Accounts.unplaced` and counted
in a warning, and an owner who is not a rep (a queue, someone who left) makes the account open, listed in
`Accounts.open_owners`. A named account is a unit of its own (`account:<id>`), located at its ZIP and locked to
its rep, so it is assigned on its own rather than with its ZIP."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from spmopt.config import AccountsConfig
from spmopt.data import zip_locations
from spmopt.data.tables import check_ids, numeric_column, read_table, row_number, shown
from spmopt.errors import DataError

OPEN = "open"
"""Owner of an account whose CRM owner is blank or not a rep."""
BLANK_OWNER = "(blank)"
COUNT = "accounts"
"""The measure counting accounts (1 per account), available to every scenario that reads accounts."""
NAMED_PREFIX = "account:"
"""Unit id prefix of a named account's own unit."""
SHOWN = 5
"""Accounts or owners named in a warning; the rest are counted."""
_TRUE = frozenset(("true", "yes", "y", "1", "x"))
_FALSE = frozenset(("false", "no", "n", "0"))
WHAT = "accounts"

Grouping = Literal["zip", "county", "unit"]


@dataclass(frozen=True, slots=True)
class Accounts:
    """The accounts of one file, indexed by account id, with their placement and owners."""

    path: Path
    table: pd.DataFrame
    """Index `account_id`; columns `name`, `owner` (a rep id or `open`), `crm_owner` (as the file has it), `code`
    (the raw postal code or unit cell), `named` (a named account with a rep to lock it to), `rep` (that rep: its
    `assigned_to`, else its owner; blank for the others), then one float column per measure, `accounts` last."""
    measures: tuple[str, ...]
    """The mapped measures, then `accounts`."""
    grouping: Grouping
    place: pd.Series
    """Account id -> the unit its location falls in (ZIP, county or unit id), for placed accounts only."""
    unplaced: pd.DataFrame
    """Index `account_id`; columns `name`, `code`, `reason`, then each measure."""
    open_owners: pd.DataFrame
    """Index: CRM owner that is not a rep; columns `accounts` (count) and `share` (of the first measure, 0-1)."""
    warnings: tuple[str, ...] = ()

    @property
    def unit_of(self) -> pd.Series:
        """Account id -> the unit it is aligned with: its own `account:<id>` unit when named, else its place."""
        named = self.table["named"].reindex(self.place.index)
        own = pd.Series(NAMED_PREFIX + self.place.index.to_series(), index=self.place.index)
        return self.place.where(~named, own).rename("unit_id")

    @property
    def kept_by_owner(self) -> pd.Series:
        """Account id -> its owner, for the accounts that cannot be placed and are owned by a rep (they keep them)."""
        unplaced = self.table.loc[self.unplaced.index, "owner"]
        return unplaced[unplaced != OPEN]

    @property
    def named_units(self) -> pd.Series:
        """A named account's unit -> the rep it is locked to, in file order."""
        named = self.table.loc[self.table["named"] & self.table.index.isin(self.place.index)]
        return pd.Series(named["rep"].to_numpy(), index=pd.Index(NAMED_PREFIX + named.index, name="unit_id"))


@dataclass(frozen=True, slots=True)
class Ownership:
    """Today's owners as territories, weighed by one measure: what an alignment keeps and moves, account by
    account. `kept[u][t]` is the weight of unit u's accounts whose owner sells territory t, so an alignment
    putting u in t moves the rest of u's weight; accounts of open owners move in every alignment."""

    measure: str
    kept: dict[str, dict[str, float]]
    total: float
    """Weight of every placed account, open ones included."""

    def current(self) -> dict[str, str]:
        """Each unit's territory today: the one keeping the most weight (ties: the smaller id); units whose accounts
        are all open have none."""
        out = {}
        for unit, by in self.kept.items():
            if by:
                out[unit] = min(by, key=lambda t: (-by[t], t))
        return out

    def moved(self, territory_of: Mapping[str, str]) -> float:
        """Weight that changes owner when each unit goes to `territory_of[unit]`."""
        return self.total - float(sum(by.get(territory_of[u], 0.0) for u, by in self.kept.items()))

    @property
    def unavoidable(self) -> float:
        """Weight that changes owner in every alignment: open accounts and the accounts in a unit whose owner is
        not the unit's largest."""
        return self.total - float(sum(max(by.values(), default=0.0) for by in self.kept.values()))


def read_accounts(cfg: AccountsConfig, reps: set[str] | None, units: tuple[Path, pd.Index] | None) -> Accounts:
    """Read a CSV or Parquet accounts file mapped by `cfg.columns`; `reps` are the rep ids owners are checked
    against (None: every non-blank owner is kept as given); `units` the units file and its ids, when one is given
    (accounts then go only to its units)."""
    path, columns = cfg.file, cfg.columns
    headers = _headers(cfg)
    frame = read_table(path, WHAT, text=[h for f, h in headers.items() if not f.startswith("measures.")])
    _require_headers(frame, headers, path)
    check_ids(frame, columns.account_id, path, WHAT)
    table = pd.DataFrame(index=pd.Index(frame[columns.account_id].astype(str), name="account_id"))
    table["name"] = _text(frame, columns.name)
    crm_owner = _text(frame, columns.owner)
    table["owner"] = [_owner(o, reps) for o in crm_owner]
    table["crm_owner"] = [o if o else BLANK_OWNER for o in crm_owner]
    table["code"] = _text(frame, columns.unit if cfg.grouping == "unit" else columns.postal_code)
    named = _named(frame, columns.named, path)
    assigned = _assigned(frame, columns.assigned_to, reps, named, path)
    rep = np.where(assigned != "", assigned, np.where(table["owner"] != OPEN, table["owner"], ""))
    table["named"] = named & (rep != "")
    table["rep"] = np.where(table["named"], rep, "")
    for measure, header in columns.measures.items():
        table[measure] = numeric_column(frame, header, path, WHAT).to_numpy()
    table[COUNT] = 1.0
    measures = (*columns.measures, COUNT)

    place, reasons = _place(table["code"], cfg.grouping, units)
    placed = pd.notna(place)
    unplaced = table.loc[~placed, ["name", "code", *columns.measures]]
    unplaced.insert(2, "reason", reasons[~placed])
    open_owners = _open_owners(table, measures[0])
    warnings = []
    if len(unplaced):
        warnings.append(_unplaced_warning(path, table, unplaced, measures, cfg))
    if len(open_owners):
        warnings.append(_open_warning(path, table, open_owners, measures[0], columns.owner))
    ownerless = table.index[named & (rep == "")]
    if len(ownerless):
        warnings.append(_ownerless_warning(path, ownerless))
    return Accounts(
        path=path,
        table=table,
        measures=measures,
        grouping=cfg.grouping,
        place=pd.Series(place[placed], index=table.index[placed], name="unit_id", dtype=object),
        unplaced=unplaced,
        open_owners=open_owners,
        warnings=tuple(warnings),
    )


def units_table(accounts: Accounts) -> pd.DataFrame:
    """One row per unit holding placed accounts, sorted by `unit_id`: each measure summed over the accounts that
    go with the unit (named accounts are their own units, so a unit holding only named accounts has zeros), and
    for ZIPs and counties their `lat`, `lon` from the offline ZIP data."""
    measures = list(accounts.measures)
    table = accounts.table.loc[accounts.place.index]
    geographic = table.loc[~table["named"], measures]
    sums = geographic.groupby(accounts.place.loc[geographic.index]).sum()
    units = sorted(set(accounts.place))
    out = sums.reindex(units, fill_value=0.0)
    out.index.name = "unit_id"
    if accounts.grouping == "zip":
        out["lat"], out["lon"] = zip_locations.zip_lat_lon(out.index)
    elif accounts.grouping == "county":
        out["lat"], out["lon"] = zip_locations.county_lat_lon(out.index)
    return out.reset_index()


def named_table(accounts: Accounts) -> pd.DataFrame:
    """One row per named account's unit: `unit_id` (`account:<id>`), `place` (the unit its location falls in),
    `rep` (the rep it is locked to), then each measure."""
    named = accounts.table.loc[accounts.table["named"] & accounts.table.index.isin(accounts.place.index)]
    out = named[["rep", *accounts.measures]].copy()
    out.insert(0, "place", accounts.place.loc[named.index])
    out.index = pd.Index(NAMED_PREFIX + named.index, name="unit_id")
    return out.reset_index()


def ownership(accounts: Accounts, measure: str, territory_of: Mapping[str, str] | None) -> Ownership:
    """Today's ownership weighed by `measure`: each rep-owned account keeps its weight in its owner's territory
    (`territory_of`: rep -> territory; None: an owner is its own territory)."""
    table = accounts.table.loc[accounts.place.index]
    unit = accounts.unit_of
    kept: dict[str, dict[str, float]] = {u: {} for u in sorted(set(unit))}
    for account, owner, weight in zip(table.index, table["owner"], table[measure], strict=True):
        if owner == OPEN:
            continue
        territory = territory_of.get(owner, owner) if territory_of is not None else owner
        by = kept[unit[account]]
        by[territory] = by.get(territory, 0.0) + float(weight)
    return Ownership(measure=measure, kept=kept, total=float(table[measure].sum()))


def _headers(cfg: AccountsConfig) -> dict[str, str]:
    """Field (`measures.potential` for a measure) -> header, in the order errors should name them."""
    c = cfg.columns
    fields = {"account_id": c.account_id, "owner": c.owner}
    placing = {"unit": c.unit} if cfg.grouping == "unit" else {"postal_code": c.postal_code}
    fields |= {f: h for f, h in placing.items() if h is not None}
    fields |= {f"measures.{m}": h for m, h in c.measures.items()}
    optional = {"name": c.name, "named": c.named, "assigned_to": c.assigned_to}
    return fields | {f: h for f, h in optional.items() if h is not None}


def _require_headers(frame: pd.DataFrame, headers: dict[str, str], path: Path) -> None:
    have = [str(c) for c in frame.columns]
    for field, header in headers.items():
        if header in frame.columns:
            continue
        close = closest_header(header, have)
        hint = f"; the closest header is '{close}'" if close else ""
        listed = ", ".join(f"'{shown(c)}'" for c in have[:30])
        mapped = f"columns.{field.removeprefix('measures.')}"
        raise DataError(
            f"{path}: {WHAT} has no column '{header}' (data.accounts.{mapped}){hint}; its headers are: {listed}"
        )


def closest_header(header: str, have: list[str]) -> str | None:
    """The header a mapping most likely meant: the same words in another case or spacing, one holding the other
    (`Account Owner` for `Owner`), else the nearest spelling."""

    def key(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    wanted = key(header)
    for h in have:
        if key(h) == wanted:
            return h
    holding = [h for h in have if key(h) and (key(h) in wanted or wanted in key(h))]
    if holding:
        return min(holding, key=lambda h: abs(len(key(h)) - len(wanted)))
    close = difflib.get_close_matches(wanted, [key(h) for h in have], n=1)
    return next(h for h in have if key(h) == close[0]) if close else None


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


def _assigned(
    frame: pd.DataFrame, header: str | None, reps: set[str] | None, named: np.ndarray, path: Path
) -> np.ndarray:
    """The `assigned_to` rep of each named account ('' when blank); a rep on an account that is not named, or a
    name that is not a rep, is refused: either would silently do nothing."""
    values = np.array(_text(frame, header), dtype=object)
    for pos in np.flatnonzero(values != ""):
        value = values[pos]
        if not named[pos]:
            raise DataError(
                f"{path}: row {row_number(frame, pos)}: {header} = '{shown(value)}' on an account that is not "
                "named; only named accounts are assigned one by one (mark it named, or leave the cell blank)"
            )
        if reps is not None and value not in reps:
            close = difflib.get_close_matches(value, sorted(reps), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise DataError(
                f"{path}: row {row_number(frame, pos)}: {header} = '{shown(value)}' in {WHAT} is not a rep_id of "
                f"the reps file{hint}"
            )
    return values


def _place(codes: pd.Series, grouping: Grouping, units: tuple[Path, pd.Index] | None) -> tuple[np.ndarray, np.ndarray]:
    """Each account's unit id (None when unplaced) and, for the unplaced, why."""
    found = np.full(len(codes), None, dtype=object)
    reasons = np.full(len(codes), "", dtype=object)
    known = set(map(str, units[1])) if units is not None else None
    for pos, code in enumerate(codes):
        unit, why = _unit_of(code, grouping)
        if unit is None:
            reasons[pos] = why
        elif known is not None and unit not in known:
            reasons[pos] = f"{unit} is not a unit of {units[0].name}"
        else:
            found[pos] = unit
    return found, reasons


def _unit_of(code: str, grouping: Grouping) -> tuple[str | None, str]:
    """The unit one account's cell names, or None and why not."""
    if not code:
        return None, "blank unit" if grouping == "unit" else "blank ZIP"
    if grouping == "unit":
        return code, ""
    zip5 = zip_locations.normalise_zip(code)
    if zip5 is None:
        return None, "not a ZIP"
    if (why := zip_locations.unlocated_reason(zip5)) is not None:
        return None, why
    if grouping == "zip":
        return zip5, ""
    county = zip_locations.county_of(zip5)
    return (county, "") if county is not None else (None, "ZIP has no county")


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
    path: Path, table: pd.DataFrame, unplaced: pd.DataFrame, measures: tuple[str, ...], cfg: AccountsConfig
) -> str:
    shares = ", ".join(f"{_percent(unplaced[m].sum(), table[m].sum())} of {m}" for m in measures if m != COUNT)
    named = []
    for account_id, row in unplaced.head(SHOWN).iterrows():
        code = f" '{shown(row['code'])}'" if row["code"] else ""
        named.append(f"{shown(account_id)} ({row['reason']}{code})")
    more = f" and {len(unplaced) - SHOWN} more" if len(unplaced) > SHOWN else ""
    header = cfg.columns.unit if cfg.grouping == "unit" else cfg.columns.postal_code
    return (
        f"{path}: {len(unplaced)} of {len(table)} accounts cannot be placed by their {header} and are left out "
        f"of the units ({shares}); they keep their owner: {', '.join(named)}{more}"
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
        f"or not a rep, and get the rep of their territory: {', '.join(shown_owners)}{more}"
    )


def _ownerless_warning(path: Path, ownerless: pd.Index) -> str:
    listed = ", ".join(shown(a) for a in ownerless[:SHOWN])
    more = f" and {len(ownerless) - SHOWN} more" if len(ownerless) > SHOWN else ""
    return (
        f"{path}: {len(ownerless)} named account(s) have no rep to stay with (their owner is open and no "
        f"assigned_to rep is given), so they go with their ZIP like any account: {listed}{more}"
    )
