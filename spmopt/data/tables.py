"""Read one input table and check its columns and values, with errors that name the file, row and column."""

from __future__ import annotations

import csv
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


NA_WORDS = frozenset(
    ("NA", "N/A", "n/a", "#N/A", "#N/A N/A", "#NA", "NULL", "null", "None", "NaN", "nan", "-NaN", "-nan", "<NA>")
    + ("1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN")
)
"""pandas' words for missing: missing in a numeric column (no number is spelt so), a value in any other."""
MAX_MONEY = Decimal(10) ** 13
"""Largest magnitude of one money value (amount, margin, quota), in currency units: 1e15 cents, so int64 cents
(max 9.2e18) hold any single value and sums of thousands of values at the limit; `money_column` also refuses a
column whose total would not fit."""
_INT64_SAFE = 9e18
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def read_table(path: Path, what: str, *, text: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file; id columns, and the `text` columns (ids under a file's own headers, as in a CRM
    export), are kept as text so `01001` stays `01001`.

    CSV cells are missing when empty or whitespace-only. Text such as `NA`, `None` or `null` is a value in id and
    text columns (a product or territory may be called that); numeric columns parse their own text, reading those
    words (`NA_WORDS`) as missing. Text is stripped."""
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    suffix = path.suffix.lower()
    kept = ID_COLUMNS + MONEY_COLUMNS + tuple(text)
    if suffix == ".parquet":
        return _read_parquet(path, what, kept)
    if suffix not in (".csv", ".txt"):
        raise DataError(f"{path}: {what} must be .csv or .parquet, not {suffix or 'no suffix'}")
    encoding = _encoding(path, what)
    _refuse_duplicate_columns(_csv_header(path, what, encoding), path)
    try:
        frame = pd.read_csv(
            path,
            dtype=dict.fromkeys(kept, str),
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            encoding=encoding,
        )
    except UnicodeDecodeError:
        raise DataError(_not_text(path, what, encoding)) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: {what} file is empty (not even a header row)") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read {what}: {_first_line(exc)}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return _clean_cells(frame, kept)


def _read_parquet(path: Path, what: str, kept: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for unreadable files
        raise DataError(f"{path}: cannot read {what}: {_first_line(exc)}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    _refuse_duplicate_columns(list(frame.columns), path)
    for col in kept:
        if col in frame.columns:
            frame[col] = frame[col].astype("string").astype(object)
    return frame


def _encoding(path: Path, what: str) -> str:
    """UTF-8, unless a byte-order mark says UTF-8-with-BOM or UTF-16 (Excel's "Unicode text")."""
    try:
        with path.open("rb") as fh:
            start = fh.read(4)
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what}: {exc}") from None
    return next((name for bom, name in _BOMS if start.startswith(bom)), "utf-8")


def _csv_header(path: Path, what: str, encoding: str) -> list[str]:
    """The header row as the csv module reads it (the first non-blank line, as pandas takes it)."""
    try:
        with path.open(encoding=encoding, newline="") as fh:
            for row in csv.reader(fh, skipinitialspace=True):
                if any(cell.strip() for cell in row):
                    return [cell.strip() for cell in row]
    except UnicodeDecodeError:
        raise DataError(_not_text(path, what, encoding)) from None
    except (csv.Error, OSError) as exc:
        raise DataError(f"{path}: cannot read {what}: {exc}") from None
    return []


def _refuse_duplicate_columns(header: list[str], path: Path) -> None:
    """pandas would silently rename a second `potential` to `potential.1` and read the first one only."""
    seen: dict[str, list[int]] = {}
    for number, name in enumerate(header, start=1):
        if name:  # unnamed columns (a trailing comma) are pandas' `Unnamed: n`, never read
            seen.setdefault(name, []).append(number)
    for name, numbers in seen.items():
        if len(numbers) > 1:
            times = "twice" if len(numbers) == 2 else f"{len(numbers)} times"
            where = ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
            raise DataError(f"{path}: column '{name}' appears {times} (columns {where})")


def _not_text(path: Path, what: str, encoding: str) -> str:
    """Where the file stops being text in its encoding, as a line number."""
    data = path.read_bytes()
    where = ""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-16":  # UTF-16 has two-byte newlines; the line is not worth the trouble
            line = data.count(b"\n", 0, exc.start) + 1
            where = f" at row {line}"
    codec = "UTF-16" if encoding == "utf-16" else "UTF-8"
    return (
        f"{path}: {what} is not {codec} text{where} (e.g. a Latin-1 or Windows-1252 file, or not a CSV); "
        "save it as CSV UTF-8"
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _clean_cells(frame: pd.DataFrame, kept: tuple[str, ...]) -> pd.DataFrame:
    """Strip text, make whitespace-only cells missing, and read as numbers a non-id column that held only numbers
    and whitespace (pandas reads `1,\t,3` as text; what it reads as numbers it keeps)."""
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.astype("string").str.strip()
        text = text.mask(text == "")
        cleaned = text.astype(object).where(text.notna(), np.nan)
        frame[col] = cleaned if col in kept else _as_numbers(cleaned)
    return frame


def _as_numbers(values: pd.Series) -> pd.Series:
    """The column as numbers when every present cell is a number or an NA word (missing, as pandas has it);
    else unchanged, so a code column holding `NA` keeps it."""
    present = values.dropna()
    failed = present[pd.to_numeric(present, errors="coerce").isna().to_numpy()]
    if len(failed) == len(present) or not _na_words(failed).all():
        return values
    return pd.to_numeric(values.mask(_na_words(values)), errors="coerce")


def _na_words(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().isin(NA_WORDS).fillna(False).astype(bool)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path, what: str) -> None:
    """Raise naming each missing column and the closest existing one."""
    for col in columns:
        if col not in frame.columns:
            close = difflib.get_close_matches(col, [str(c) for c in frame.columns], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            have = ", ".join(shown(c) for c in frame.columns[:30])
            raise DataError(f"{path}: {what} has no column '{col}'{hint}{_delimiter_hint(frame)}; columns are: {have}")


def _delimiter_hint(frame: pd.DataFrame) -> str:
    """A one-column frame whose header holds `;` or a tab was written with another separator."""
    if len(frame.columns) != 1:
        return ""
    name = str(frame.columns[0])
    for sep, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
        if sep in name:
            return f" (the file looks {label}-separated; spmopt reads comma-separated CSV)"
    return ""


def shown(value: object, limit: int = 40) -> str:
    """A cell's text for a message, cut short so a runaway cell cannot flood it."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value)[: limit + 1])
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
            f"{path}: row {row_number(frame, pos)}: duplicate {column} '{shown(values.iloc[pos])}' "
            f"(first seen in row {row_number(frame, first)})"
        )


def numeric_column(
    frame: pd.DataFrame, column: str, path: Path, what: str, *, allow_negative: bool = False, allow_blank: bool = False
) -> pd.Series:
    """The column as float, refusing non-numeric, infinite, (by default) missing and negative values."""
    raw = frame[column]
    raw = raw.mask(_na_words(raw))
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = values.isna() & raw.notna()
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: row {row_number(frame, pos)}: {column} = '{shown(raw.iloc[pos])}' is not a number")
    missing = values.isna()
    if missing.any() and not allow_blank:
        pos = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(f"{path}: row {row_number(frame, pos)}: {column} is missing (NaN)")
    inf = np.isinf(values.to_numpy())
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        shown_value = shown(raw.iloc[pos])
        raise DataError(f"{path}: row {row_number(frame, pos)}: {column} = {shown_value} is infinite or too large")
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
            f"{path}: row {row_number(frame, pos)}: {column} '{shown(frame[column].iloc[pos])}' in {what} "
            f"is not a {known_what}{more}"
        )


def money_column(frame: pd.DataFrame, column: str, path: Path, what: str, *, allow_blank: bool = False) -> pd.Series:
    """The column as whole cents (int64), read through Decimal so 0.1 + 0.2 stays exact; more than two
    decimals, or a magnitude above `MAX_MONEY`, is an error (a blank becomes 0 when allowed)."""
    values = numeric_column(frame, column, path, what, allow_negative=True, allow_blank=allow_blank)
    raw = frame[column]
    cents = np.zeros(len(frame), dtype=np.int64)
    for pos, (text, number) in enumerate(zip(raw.tolist(), values.tolist(), strict=True)):
        if number != number:  # blank, allowed
            continue
        amount = exact_decimal(text, number)
        where = f"{path}: row {row_number(frame, pos)}: {column} = {shown(text)}"
        # Before quantize: a huge value would need more digits than Decimal's context holds.
        if abs(amount) > MAX_MONEY:
            raise DataError(f"{where} is beyond the limit of {MAX_MONEY:,.0f} (1e13) currency units in {what}")
        if amount != amount.quantize(Decimal("0.01")):
            raise DataError(f"{where} has more than two decimals (amounts are whole cents) in {what}")
        cents[pos] = int(amount * 100)
    if float(np.abs(cents).astype(float).sum()) > _INT64_SAFE:
        raise DataError(
            f"{path}: the {column} column of {what} adds up to more than {_INT64_SAFE / 100:.3g} currency units, "
            "beyond what spmopt's 64-bit cents can total"
        )
    return pd.Series(cents, index=frame.index, name=column)


def exact_decimal(text: object, number: float) -> Decimal:
    """The cell's own digits as a Decimal (the float only when the cell was read as a number)."""
    if isinstance(text, str):
        try:
            return Decimal(text.strip())
        except ArithmeticError:  # text pandas reads as a number but Decimal does not: fall back to the float
            pass
    return Decimal(repr(float(number)))


def cents_text(cents: int) -> str:
    """Whole cents as exact decimal text: -1234 -> '-12.34'."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{rest:02d}"
