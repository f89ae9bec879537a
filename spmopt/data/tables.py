"""Read one input table and check its columns and values, with errors that name the file, row and column."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.errors import DataError

ID_COLUMNS = (
    "unit_id",
    "unit_a",
    "unit_b",
    "territory_id",
    "rep_id",
    "payee_id",
    "manager_id",
    "transaction_id",
    "original_id",
    "account_id",
    "product",
)
MONEY_COLUMNS = ("amount", "margin")
"""Read as text so cents survive exactly (see `money_column`)."""


def read_table(path: Path, what: str) -> pd.DataFrame:
    """Read a CSV or Parquet file; id columns are kept as text so `01001` stays `01001`."""
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
            for col in ID_COLUMNS:
                if col in frame.columns:
                    frame[col] = frame[col].astype("string").astype(object)
            for col in MONEY_COLUMNS:
                if col in frame.columns:
                    frame[col] = frame[col].astype("string").astype(object)
        elif suffix in (".csv", ".txt"):
            frame = pd.read_csv(path, dtype={c: str for c in ID_COLUMNS + MONEY_COLUMNS}, skipinitialspace=True)
        else:
            raise DataError(f"{path}: {what} must be .csv or .parquet, not {suffix or 'no suffix'}")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{path}: cannot read {what}: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path, what: str) -> None:
    """Raise naming each missing column and the closest existing one."""
    for col in columns:
        if col not in frame.columns:
            close = difflib.get_close_matches(col, [str(c) for c in frame.columns], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            have = ", ".join(map(str, frame.columns))
            raise DataError(f"{path}: {what} has no column '{col}'{hint}; columns are: {have}")


def row_number(frame: pd.DataFrame, position: int) -> int:
    """1-based line in the file of the frame's row at `position` (line 1 is the header)."""
    return position + 2


def check_ids(frame: pd.DataFrame, column: str, path: Path, what: str) -> None:
    """Ids must be present and unique."""
    values = frame[column]
    blank = values.isna() | (values.astype(str).str.strip() == "")
    if blank.any():
        pos = int(np.flatnonzero(blank.to_numpy())[0])
        raise DataError(f"{path}: row {row_number(frame, pos)}: {column} is empty in {what}")
    dup = values.duplicated(keep="first")
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((values == values.iloc[pos]).to_numpy())[0])
        raise DataError(
            f"{path}: row {row_number(frame, pos)}: duplicate {column} '{values.iloc[pos]}' "
            f"(first seen in row {row_number(frame, first)})"
        )


def numeric_column(
    frame: pd.DataFrame, column: str, path: Path, what: str, *, allow_negative: bool = False, allow_blank: bool = False
) -> pd.Series:
    """The column as float, refusing non-numeric, infinite, (by default) missing and negative values."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = values.isna() & raw.notna()
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: row {row_number(frame, pos)}: {column} = {raw.iloc[pos]!r} is not a number")
    missing = values.isna()
    if missing.any() and not allow_blank:
        pos = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(f"{path}: row {row_number(frame, pos)}: {column} is missing (NaN)")
    inf = np.isinf(values.to_numpy())
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        raise DataError(f"{path}: row {row_number(frame, pos)}: {column} is infinite")
    if not allow_negative and (values < 0).any():
        pos = int(np.flatnonzero((values < 0).to_numpy())[0])
        raise DataError(
            f"{path}: row {row_number(frame, pos)}: {column} = {values.iloc[pos]:g} is negative "
            f"in {what}; measures must be >= 0"
        )
    return values


def check_known(frame: pd.DataFrame, column: str, known: pd.Index, path: Path, what: str, known_what: str) -> None:
    """Every value of `column` must be one of `known`."""
    unknown = ~frame[column].isin(known)
    if unknown.any():
        pos = int(np.flatnonzero(unknown.to_numpy())[0])
        n = int(unknown.sum())
        more = f" ({n - 1} more rows like it)" if n > 1 else ""
        raise DataError(
            f"{path}: row {row_number(frame, pos)}: {column} '{frame[column].iloc[pos]}' in {what} "
            f"is not a {known_what}{more}"
        )


def money_column(frame: pd.DataFrame, column: str, path: Path, what: str, *, allow_blank: bool = False) -> pd.Series:
    """The column as whole cents (int64), read through Decimal so 0.1 + 0.2 stays exact; more than two
    decimals is an error (a blank becomes 0 when allowed)."""
    raw = frame[column]
    values = numeric_column(frame, column, path, what, allow_negative=True, allow_blank=allow_blank)
    cents = np.zeros(len(frame), dtype=np.int64)
    for pos, (text, number) in enumerate(zip(raw.tolist(), values.tolist(), strict=True)):
        if number != number:  # blank, allowed
            continue
        amount = Decimal(str(text).strip()) if isinstance(text, str) else Decimal(repr(number))
        if amount != amount.quantize(Decimal("0.01")):
            raise DataError(
                f"{path}: row {row_number(frame, pos)}: {column} = {text} has more than two decimals "
                f"(amounts are whole cents) in {what}"
            )
        cents[pos] = int(amount * 100)
    return pd.Series(cents, index=frame.index, name=column)


def cents_text(cents: int) -> str:
    """Whole cents as exact decimal text: -1234 -> '-12.34'."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{rest:02d}"
