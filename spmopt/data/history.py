"""Monthly sales history: read, check and summarise it per unit (last year, the year before, seasonality)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.data.tables import check_known, numeric_column, read_table, require_columns, row_number, shown
from spmopt.errors import DataError


@dataclass(frozen=True, slots=True)
class SalesHistory:
    """Sales per unit and month; a unit without a row for a month sold nothing that month."""

    monthly: pd.DataFrame
    """Index `unit_id` (every unit of the units table), one column per month (`pd.Period`, ascending)."""
    path: Path

    @property
    def months(self) -> tuple[pd.Period, ...]:
        return tuple(self.monthly.columns)

    def year(self, back: int = 0) -> pd.Series | None:
        """Sales per unit over the 12 months ending `back` years before the latest month (None if not covered)."""
        end = len(self.monthly.columns) - 12 * back
        if end < 12:
            return None
        return self.monthly.iloc[:, end - 12 : end].sum(axis=1)

    def span(self, back: int = 0) -> str:
        """The months `year(back)` covers, e.g. `2025-11..2026-10`."""
        end = len(self.monthly.columns) - 12 * back
        return f"{self.monthly.columns[end - 12]}..{self.monthly.columns[end - 1]}"

    def month_profile(self, fiscal_start_month: int) -> np.ndarray:
        """Share of annual sales in each plan-year month, pooled over the complete years of history."""
        years = len(self.monthly.columns) // 12
        recent = self.monthly.iloc[:, len(self.monthly.columns) - 12 * years :]
        by_calendar = recent.sum(axis=0).groupby([p.month for p in recent.columns]).sum()
        order = [(fiscal_start_month - 1 + k) % 12 + 1 for k in range(12)]
        weights = by_calendar.reindex(order).to_numpy(dtype=float)
        return weights / weights.sum()


def load_history(
    path: Path, unit_ids: pd.Index, account_unit: pd.Series | None = None
) -> tuple[SalesHistory, tuple[str, ...]]:
    """Read `unit_id` (or `account_id`), `period` (YYYY-MM), `sales`, and any warnings. With both `unit_id` and
    `account_id` a unit's accounts are summed per month; a second row for the same key and month is refused (it
    would be double-counted). With `account_unit` (account id -> unit, from the scenario's accounts file) and no
    `unit_id` column, each account's sales go to its unit; sales of accounts the accounts file does not place
    (deleted, or without a usable ZIP) are left out and counted in a warning."""
    raw = read_table(path, "sales history")
    key = "account_id" if "account_id" in raw.columns and "unit_id" not in raw.columns else "unit_id"
    require_columns(raw, [key, "period", "sales"], path, "sales history")
    if raw.empty:
        raise DataError(f"{path}: sales history has a header but no rows; last-year sales need 12 months of them")
    raw[key] = raw[key].astype(str).str.strip()
    keep = np.ones(len(raw), dtype=bool)
    warnings: tuple[str, ...] = ()
    if key == "account_id" and account_unit is not None:
        unit = raw["account_id"].map(account_unit)
        keep = unit.notna().to_numpy()
        warnings = _unplaced_sales(raw, keep, path)
        raw = raw.assign(unit_id=unit.fillna("").astype(str))
        key = "unit_id"
    else:
        check_known(raw, key, unit_ids, path, "sales history", "unit of the units file")
    sales = numeric_column(raw, "sales", path, "sales history", allow_negative=True)
    if (sales < 0).any():
        pos = int(np.flatnonzero((sales < 0).to_numpy())[0])
        raise DataError(
            f"{path}: row {row_number(raw, pos)}: sales = {sales.iloc[pos]:g} is negative; history must be "
            "net sales >= 0 per unit and month (net returns into the month they offset)"
        )
    periods = pd.PeriodIndex(pd.to_datetime(raw["period"].astype(str), format="%Y-%m", errors="coerce"), freq="M")
    bad = periods.isna()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: row {row_number(raw, pos)}: period '{shown(raw['period'].iloc[pos])}' is not YYYY-MM")
    _refuse_duplicates(raw, periods, path)
    frame = pd.DataFrame({"unit_id": raw[key].to_numpy(), "period": periods, "sales": sales.to_numpy()})[keep]
    table = frame.pivot_table(index="unit_id", columns="period", values="sales", aggfunc="sum", fill_value=0.0)
    span = pd.period_range(periods.min(), periods.max(), freq="M")
    silent = span.difference(table.columns)
    if len(silent):
        raise DataError(
            f"{path}: no sales rows at all for {', '.join(map(str, silent[:6]))} between {span[0]} and "
            f"{span[-1]}; a missing month would understate last-year sales (give rows with sales 0 if truly none)"
        )
    if len(span) < 12:
        raise DataError(f"{path}: history covers {len(span)} month(s) ({span[0]}..{span[-1]}); last-year sales need 12")
    table = table.reindex(index=unit_ids, columns=span, fill_value=0.0)
    table.index.name = "unit_id"
    return SalesHistory(monthly=table.astype(float), path=path), warnings


def _unplaced_sales(raw: pd.DataFrame, keep: np.ndarray, path: Path) -> tuple[str, ...]:
    """A warning naming the accounts whose sales are left out (no unit in the accounts file) and their share."""
    if keep.all():
        return ()
    sales = pd.to_numeric(raw["sales"], errors="coerce").fillna(0.0)
    total = float(sales.sum())
    share = float(sales[~keep].sum()) / total if total else 0.0
    accounts = list(dict.fromkeys(raw.loc[~keep, "account_id"]))
    listed = ", ".join(shown(a) for a in accounts[:5]) + (f" and {len(accounts) - 5} more" if len(accounts) > 5 else "")
    return (
        f"{path}: {int((~keep).sum())} sales history row(s) of {len(accounts)} account(s) that the accounts file "
        f"does not place in a unit ({share:.1%} of sales) are left out of the units' history: {listed}",
    )


def _refuse_duplicates(raw: pd.DataFrame, periods: pd.PeriodIndex, path: Path) -> None:
    """One row per key and month: the unit (and account, when the file has both) with the period."""
    key = [c for c in ("unit_id", "account_id") if c in raw.columns]
    frame = raw[key].astype(str).assign(period=periods.astype(str).to_numpy())
    dup = frame.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    pos = int(np.flatnonzero(dup)[0])
    same = (frame == frame.iloc[pos]).all(axis=1).to_numpy()
    first = int(np.flatnonzero(same)[0])
    named = ", ".join(f"{c} {frame[c].iloc[pos]}" for c in key)
    raise DataError(
        f"{path}: rows {row_number(raw, first)} and {row_number(raw, pos)} are both for {named}, period "
        f"{frame['period'].iloc[pos]}; give one row per {' and '.join(key)} and month (sum them first if both count)"
    )
