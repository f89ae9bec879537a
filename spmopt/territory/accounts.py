"""An alignment account by account: each CRM account's old and new owner and why it changes or stays, the table a
planner loads back into the CRM (`account_assignments.csv`)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from spmopt.data.accounts import OPEN
from spmopt.data.loader import PlanningData

COLUMNS = (
    "account_id",
    "account_name",
    "old_owner",
    "new_owner",
    "territory_id",
    "unit_id",
    "changed",
    "reason",
    "note",
)
REASONS = ("kept", "moved", "locked", "named", "new", "unplaced")
"""kept: same owner; moved: its unit went to another territory, or another owner holds most of its unit; locked:
its unit is locked (`territory.locks`); named: a named account, assigned on its own; new: its owner today is not a
rep; unplaced: no unit (it keeps its owner)."""


def account_assignments(data: PlanningData, alignment: pd.Series, rep_of: Mapping[str, str | None]) -> pd.DataFrame:
    """One row per account of `data.accounts` in file order: `alignment` is unit_id -> territory_id, `rep_of` each
    territory's rep (a territory without one is its own owner label, as in a design without reps)."""
    accounts = data.accounts
    if accounts is None:
        raise ValueError("account assignments need the scenario's data.accounts")
    table = accounts.table
    unit = accounts.unit_of.reindex(table.index)
    territory = unit.map(alignment)
    new_owner = territory.map(lambda t: _owner_of(t, rep_of))
    locked = set(data.locks.index) if data.locks is not None else set()
    named = set(data.named_units.index) if data.named_units is not None else set()
    current = data.current_alignment if data.current_alignment is not None else pd.Series(dtype=object)
    rows = []
    for account, row in table.iterrows():
        u = unit[account]
        old = "" if row["crm_owner"] == "(blank)" else str(row["crm_owner"])
        if pd.isna(u):
            why = accounts.unplaced.loc[account, "reason"]
            rows.append((account, row["name"], old, old, "", "", False, "unplaced", f"{why}; keeps its owner"))
            continue
        new, t = new_owner[account], territory[account]
        changed = row["owner"] == OPEN or new != row["owner"]
        reason, note = _reason(row, u, t, changed, u in named, u in locked, current)
        rows.append((account, row["name"], old, new, t, u, changed, reason, note))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _owner_of(territory: object, rep_of: Mapping[str, str | None]) -> str:
    if pd.isna(territory):
        return ""
    rep = rep_of.get(str(territory))
    return str(rep) if rep is not None else str(territory)


def _reason(
    row: pd.Series,
    unit: str,
    territory: str,
    changed: bool,
    named: bool,
    locked: bool,
    current: pd.Series,
) -> tuple[str, str]:
    if named:
        return "named", "assigned on its own" + (" to its assigned_to rep" if row["rep"] != row["owner"] else "")
    if row["owner"] == OPEN:
        return "new", f"owner '{row['crm_owner']}' is not a rep"
    if locked:
        return "locked", f"unit {unit} is locked to {territory}"
    if not changed:
        return "kept", ""
    before = current.get(unit)
    if before is not None and before != territory:
        return "moved", f"unit {unit} moved from {before} to {territory}"
    return "moved", f"most of unit {unit} is with {territory}'s rep"
