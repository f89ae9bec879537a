"""Read a transactions file (closed deals, credit notes, cancellations) into validated rows placed in payout
periods of the plan year.

Columns: `transaction_id`, `date` (YYYY-MM-DD) and `amount` are required; who gets credit comes from
`rep_id`, else `territory_id`, else `unit_id` through the alignment, else `account_id` through the accounts file's
unit and the alignment (or from a split listed for the transaction); at least one of these four columns is needed.
Optional: `product`, `margin`, `new_logo` (0/1), `reason` (required when the amount is negative), `original_id`
(a cancellation names the deal it cancels).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.comp.plan import CompPlan, plan_year_end
from spmopt.data.tables import (
    cents_text,
    check_ids,
    money_column,
    numeric_column,
    read_table,
    require_columns,
    row_number,
    shown,
)
from spmopt.errors import DataError

WHO = ("rep_id", "territory_id", "unit_id", "account_id")


@dataclass(frozen=True, slots=True)
class Transactions:
    """Validated transactions, one row each, indexed by `transaction_id`.

    Columns: `row` (line in the file), `date`, `period` (0-based payout period), `rep_id`, `territory_id`,
    `unit_id`, `account_id`, `product` (text or None), `amount` and `margin` (int cents; margin None when the
    file has none), `new_logo` (0/1), `reason`, `original_id`, `deal_date` (the original deal's date for a
    cancellation, else `date`)."""

    frame: pd.DataFrame
    path: Path
    has_margin: bool
    warnings: tuple[str, ...] = ()
    """Legal but likely wrong rows (e.g. a margin above the amount), for the run's warnings."""


def plan_year(plan: CompPlan, path: Path) -> tuple[dt.date, dt.date]:
    """First and last day of the plan year."""
    start = plan.year_start
    if start is None:
        raise DataError(
            f"{path}: transactions are dated; the plan '{plan.name}' needs a year_start to place them (in the plan "
            "file, or set by the scenario's comp.plan_year or `spmopt comp evaluate --plan-year`)"
        )
    return start, plan_year_end(start)


def period_of(plan: CompPlan, start: dt.date, day: dt.date) -> int:
    """0-based payout period of a date in the plan year."""
    months = (day.year - start.year) * 12 + day.month - start.month
    return months if plan.payout == "month" else months // 3


def load_transactions(path: Path, plan: CompPlan) -> Transactions:
    """Read and check a transactions file against the plan's needs (dates in the year, reasons, margins)."""
    raw = read_table(path, "transactions")
    require_columns(raw, ["transaction_id", "date", "amount"], path, "transactions")
    if not any(c in raw.columns for c in WHO):
        raise DataError(
            f"{path}: transactions need a column saying who is credited: rep_id, territory_id, unit_id or account_id"
        )
    check_ids(raw, "transaction_id", path, "transactions")
    start, end = plan_year(plan, path)
    dates = _dates(raw, path)
    outside = (dates < start) | (dates > end)
    if outside.any():
        pos = int(np.flatnonzero(outside)[0])
        raise DataError(
            f"{path}: row {row_number(raw, pos)}: date {dates[pos]} is outside the plan year {start} to {end} "
            f"of plan '{plan.name}'"
        )
    frame = pd.DataFrame(
        {
            "row": [row_number(raw, k) for k in range(len(raw))],
            "date": dates,
            "period": [period_of(plan, start, d) for d in dates],
            "amount": money_column(raw, "amount", path, "transactions").to_numpy(),
        },
        index=pd.Index(raw["transaction_id"].astype(str).str.strip(), name="transaction_id"),
    )
    for col in (*WHO, "product", "reason", "original_id"):
        # object dtype keeps None as None (a string dtype would turn it into NaN)
        frame[col] = pd.Series(_text(raw, col), index=frame.index, dtype=object)
    has_margin = "margin" in raw.columns
    frame["margin"] = money_column(raw, "margin", path, "transactions").to_numpy() if has_margin else 0
    frame["new_logo"] = _flag(raw, path)
    _check_negatives(frame, path)
    frame["deal_date"] = _deal_dates(frame, path)
    needs_margin = [m.name for m in plan.measures if m.credit.field == "margin"]
    needs_margin += [s.name for s in plan.spifs if s.credit.field == "margin"]
    if needs_margin and not has_margin:
        raise DataError(
            f"{path}: plan '{plan.name}' credits margin ({', '.join(needs_margin)}) but there is no margin column"
        )
    warnings = _margin_warnings(frame, path) if has_margin else ()
    return Transactions(frame=frame, path=path, has_margin=has_margin, warnings=warnings)


def _margin_warnings(frame: pd.DataFrame, path: Path) -> tuple[str, ...]:
    """Margin is part of the amount, so a larger one (in size, same sign) usually means swapped columns."""
    amount, margin = frame["amount"].to_numpy(), frame["margin"].to_numpy()
    above = np.where(amount >= 0, margin > amount, margin < amount)
    if not above.any():
        return ()
    pos = int(np.flatnonzero(above)[0])
    first = frame.iloc[pos]
    return (
        f"{path}: {int(above.sum())} transaction(s) have a margin above their amount, first {frame.index[pos]} "
        f"(row {first['row']}: margin {cents_text(first['margin'])}, amount {cents_text(first['amount'])}); "
        "margin is normally part of the amount: are the columns swapped?",
    )


def _dates(raw: pd.DataFrame, path: Path) -> np.ndarray:
    text = raw["date"].astype("string").str.strip()
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = raw["date"].iloc[pos]
        what = "is empty" if pd.isna(value) else f"'{shown(value)}' is not a YYYY-MM-DD date"
        raise DataError(f"{path}: row {row_number(raw, pos)}: date {what}")
    return np.array([d.date() for d in parsed])


def _text(raw: pd.DataFrame, column: str) -> list[str | None]:
    if column not in raw.columns:
        return [None] * len(raw)
    out: list[str | None] = []
    for value in raw[column].tolist():
        text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()
        out.append(text or None)
    return out


def _flag(raw: pd.DataFrame, path: Path) -> np.ndarray:
    if "new_logo" not in raw.columns:
        return np.zeros(len(raw), dtype=np.int64)
    values = numeric_column(raw, "new_logo", path, "transactions", allow_blank=True).fillna(0).to_numpy()
    bad = ~np.isin(values, (0, 1))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: row {row_number(raw, pos)}: new_logo must be 0 or 1, not {values[pos]:g}")
    return values.astype(np.int64)


def _check_negatives(frame: pd.DataFrame, path: Path) -> None:
    for tid, row in frame.iterrows():
        if row["amount"] < 0 and row["reason"] is None:
            raise DataError(
                f"{path}: row {row['row']}: transaction {tid} has a negative amount ({row['amount'] / 100:.2f}) "
                "but no reason code; give `reason` (e.g. cancellation, credit_note, return)"
            )
        if row["original_id"] is not None and row["amount"] >= 0:
            raise DataError(
                f"{path}: row {row['row']}: transaction {tid} names original_id {row['original_id']} but its amount "
                "is not negative; a cancellation reverses (part of) the original deal"
            )


def _deal_dates(frame: pd.DataFrame, path: Path) -> list[dt.date]:
    out = []
    cancelled: dict[str, int] = {}
    for tid, row in frame.iterrows():
        original = row["original_id"]
        if original is None:
            out.append(row["date"])
            continue
        if original not in frame.index:
            raise DataError(f"{path}: row {row['row']}: transaction {tid} cancels unknown transaction {original}")
        first = frame.loc[original]
        if first["original_id"] is not None:
            raise DataError(f"{path}: row {row['row']}: transaction {tid} cancels {original}, itself a cancellation")
        cancelled[original] = cancelled.get(original, 0) - int(row["amount"])
        if cancelled[original] > first["amount"]:
            raise DataError(
                f"{path}: row {row['row']}: with cancellation {tid}, cancellations of deal {original} reach "
                f"{cancelled[original] / 100:.2f}, "
                f"more than the deal's {first['amount'] / 100:.2f}"
            )
        if row["date"] < first["date"]:
            raise DataError(
                f"{path}: row {row['row']}: cancellation {tid} is dated before the deal {original} it cancels"
            )
        out.append(first["date"])
    return out
