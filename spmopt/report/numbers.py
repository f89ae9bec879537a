"""Figures shown in reports, each carrying where it came from (CSV file, row, column) so a test can hold
the page to the files: `data-source`, `data-key`, `data-column` and `data-value` on every tagged figure."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Unit = Literal["money", "fraction", "percent", "ratio", "count", "decimal"]


@dataclass(frozen=True, slots=True)
class Figure:
    """A number as shown, with its raw value and, when read from a file, the cell it was read from."""

    text: str
    value: float
    unit: Unit
    source: str | None = None
    key: str | None = None
    """JSON object of column -> value selecting the row in `source`."""
    column: str | None = None

    def __str__(self) -> str:
        return self.text

    @property
    def raw(self) -> str:
        """The value with full precision, for the page's data-value attribute."""
        return repr(self.value)


def money(value: float, compact: bool = True) -> str:
    """65.49M, 607,335 or 1,234.56: compact for headlines, whole units for tables, cents below 1,000."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    size = abs(value)
    if compact and size >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if size >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def fraction_pct(value: float, digits: int = 1) -> str:
    """A share (0.59) as a percentage (59.0%)."""
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.{digits}f}%"


def pct(value: float, digits: int = 2) -> str:
    """A figure already in percent (0.69) with its sign kept (0.69%)."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}%"


def ratio(value: float, digits: int = 0) -> str:
    """A multiple (199x)."""
    return "n/a" if value is None or math.isnan(value) else f"{value:,.{digits}f}\u00d7"


_FORMAT = {
    "money": lambda v: money(v),
    "fraction": lambda v: fraction_pct(v),
    "percent": lambda v: pct(v),
    "ratio": lambda v: ratio(v),
    "count": lambda v: f"{v:,.0f}",
    "decimal": lambda v: f"{v:,.2f}",
}


def shown(value: float, unit: Unit) -> Figure:
    """A derived figure (computed for the page, not a CSV cell)."""
    return Figure(_FORMAT[unit](float(value)), float(value), unit)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a report table: the CSV column, its header, and its unit (None: shown as text)."""

    name: str
    header: str
    unit: Unit | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """A table as shown: headers, and rows of figures (tagged with their CSV cell) or text."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Figure | str, ...], ...]
    highlight: tuple[bool, ...] = ()
    numeric: tuple[bool, ...] = ()
    """Per column: right-aligned figures (True) or left-aligned text."""


def table(
    frame: pd.DataFrame, source: str | None, key: list[str], columns: list[Column], highlight: str | None = None
) -> Table:
    """Rows of `frame` as a Table; numeric cells are tagged with `source` and the row's `key` columns. Columns
    the frame lacks are left out: which columns a run writes depends on its sections (no `contiguous` without
    an adjacency graph, no coaching return without coaching), and a report must never fail over a column."""
    columns = [c for c in columns if c.name in frame.columns]
    rows = []
    for _, row in frame.iterrows():
        selector = json.dumps({k: row[k] for k in key}, sort_keys=True, default=str) if source else None
        cells: list[Figure | str] = []
        for c in columns:
            value = row[c.name]
            if c.unit is None or value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append(_text(value))
            else:
                cells.append(Figure(_FORMAT[c.unit](float(value)), float(value), c.unit, source, selector, c.name))
        rows.append(tuple(cells))
    marks = tuple(bool(v) for v in frame[highlight]) if highlight else ()
    numeric = tuple(c.unit is not None for c in columns)
    return Table(tuple(c.header for c in columns), tuple(rows), marks, numeric)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def cell(frame: pd.DataFrame, source: str, key: dict[str, object], column: str, unit: Unit) -> Figure:
    """The one cell of `frame` (read from `source`) in the row matching `key`, formatted for `unit`."""
    mask = pd.Series(True, index=frame.index)
    for name, want in key.items():
        mask &= frame[name].astype(str) == str(want)
    rows = frame.loc[mask, column]
    if len(rows) != 1:
        raise ValueError(f"{source}: {len(rows)} rows match {key}, expected exactly one")
    value = float(rows.iloc[0])
    return Figure(_FORMAT[unit](value), value, unit, source, json.dumps(key, sort_keys=True, default=str), column)
