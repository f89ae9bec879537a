"""Shape an alignment + `PlanningData` + `QuotaConfig` into per-territory quota inputs.

Every bound is stated on the *full-year-equivalent* quota (annual quota / ramp factor), so a new
rep's partial year neither breaks a growth bound nor escapes a floor; `lower`/`upper` below are
already converted to annual quota steps of one `granularity` each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.config import QuotaConfig
from spmopt.data.loader import PlanningData
from spmopt.data.tables import check_ids, check_known, numeric_column, read_table, require_columns, row_number
from spmopt.errors import DataError
from spmopt.quota.periods import PipelineLag, ramp_factors, season_profile

TerritoryId = str


@dataclass(frozen=True, slots=True)
class Limit:
    """One side of a territory's quota range: annual steps and the rule that sets it."""

    steps: int | None
    """Annual quota in granularity steps (None: unbounded)."""
    rule: str
    """Planner-readable origin, e.g. `growth max +25% on last-year 8,120,400`."""


@dataclass(frozen=True, slots=True)
class QuotaInputs:
    """Everything the quota allocation needs, keyed by territory id."""

    territories: tuple[TerritoryId, ...]
    rep_id: dict[TerritoryId, str | None]
    start_month: dict[TerritoryId, int]
    """Plan-year month a new rep starts (0: on board all year)."""
    potential: dict[TerritoryId, float]
    last_year: dict[TerritoryId, float] | None
    """Last-year sales of each territory's units (None without history)."""
    month_weights: dict[TerritoryId, np.ndarray]
    """Season weight x ramp productivity per plan-year month; sums to the territory's ramp factor."""
    fair_share: dict[TerritoryId, float]
    """Share of the quota total that equal difficulty gives each territory (sums to 1)."""
    lower: dict[TerritoryId, Limit]
    upper: dict[TerritoryId, Limit]
    granularity: int
    basis_text: str
    warnings: tuple[str, ...] = ()
    lag: PipelineLag | None = None
    """The sales cycle a new rep's ramp was delayed by (None: ramp on work, no delay)."""

    @property
    def ramp(self) -> dict[TerritoryId, float]:
        """Share of a full selling year each territory's rep delivers."""
        return {t: float(w.sum()) for t, w in self.month_weights.items()}

    def fair_steps(self, total_steps: int) -> dict[TerritoryId, float]:
        """Fair (unrounded, unbounded) annual quota of each territory in steps, for a total of `total_steps`."""
        return {t: total_steps * s for t, s in self.fair_share.items()}


def quota_inputs(
    alignment: pd.Series,
    reps_of: dict[TerritoryId, str | None],
    data: PlanningData,
    cfg: QuotaConfig,
    lag: PipelineLag | None = None,
) -> QuotaInputs:
    """Aggregate units to territories and turn the scenario's quota rules into per-territory limits; with a
    pipeline `lag`, a new rep's ramp counts deals closed, which follow the work by a sales cycle."""
    territories = tuple(sorted(alignment.unique()))
    potential = data.units[cfg.potential].groupby(alignment.reindex(data.units.index)).sum()
    potential = {t: float(potential.get(t, 0.0)) for t in territories}
    last_year = None
    if data.history is not None:
        last_year = by_territory(data.history.year(0), alignment, territories)
    season, warning = season_profile(cfg.seasonality, data.history, cfg.fiscal_start_month)
    start = {t: _start_month(reps_of.get(t), data) for t in territories}
    month_weights = {t: season * ramp_factors(start[t], cfg.ramp, lag) for t in territories}
    for t in territories:
        if month_weights[t].sum() <= 0:
            raise DataError(
                f"rep {reps_of.get(t)} of territory {t} starts in plan month {start[t]} and the ramp "
                f"{list(cfg.ramp)} leaves no selling time in the plan year; adjust start_month or quota.ramp"
            )
    basis = _basis(cfg, potential, last_year, territories)
    weighted = {t: basis[t] * float(month_weights[t].sum()) for t in territories}
    total = sum(weighted.values())
    fair_share = {t: weighted[t] / total for t in territories}
    overrides = read_bounds(cfg.bounds, territories) if cfg.bounds else {}
    lower, upper = {}, {}
    for t in territories:
        ramp = float(month_weights[t].sum())
        lower[t], upper[t] = _limits(cfg, overrides.get(t, {}), (last_year or {}).get(t, 0.0), ramp)
    warnings = (warning,) if warning else ()
    return QuotaInputs(
        territories=territories,
        rep_id={t: reps_of.get(t) for t in territories},
        start_month=start,
        potential=potential,
        last_year=last_year,
        month_weights=month_weights,
        fair_share=fair_share,
        lower=lower,
        upper=upper,
        granularity=cfg.granularity,
        basis_text=", ".join(f"{k} {100 * w / sum(cfg.basis.values()):.0f}%" for k, w in cfg.basis.items() if w > 0),
        warnings=warnings,
        lag=lag,
    )


def by_territory(sales: pd.Series, alignment: pd.Series, territories: tuple[str, ...]) -> dict[str, float]:
    """Sum a per-unit series over each territory of `alignment` (unit_id -> territory_id)."""
    grouped = sales.groupby(alignment.reindex(sales.index)).sum()
    return {t: float(grouped.get(t, 0.0)) for t in territories}


def _start_month(rep: str | None, data: PlanningData) -> int:
    if rep is None or data.reps is None or rep not in data.reps.index:
        return 0
    return int(data.reps.loc[rep, "start_month"])


def _basis(
    cfg: QuotaConfig,
    potential: dict[str, float],
    last_year: dict[str, float] | None,
    territories: tuple[str, ...],
) -> dict[str, float]:
    """Weighted blend of potential share and last-year-sales share per territory."""
    weights = {k: w / sum(cfg.basis.values()) for k, w in cfg.basis.items()}
    shares: dict[str, dict[str, float]] = {"potential": _shares(potential, f"units column '{cfg.potential}'")}
    if weights.get("history", 0) > 0:
        assert last_year is not None  # guaranteed by QuotaConfig: basis.history needs quota.history
        shares["history"] = _shares(last_year, f"last-year sales in {cfg.history}")
    basis = {t: sum(w * shares[k][t] for k, w in weights.items() if w > 0) for t in territories}
    empty = [t for t, b in basis.items() if b <= 0]
    if empty:
        raise DataError(
            f"territories {', '.join(empty)} have no potential and no history sales, so their fair quota "
            "would be 0; check the alignment or the potential measure"
        )
    return basis


def _shares(values: dict[str, float], what: str) -> dict[str, float]:
    total = sum(values.values())
    if total <= 0:
        raise DataError(f"{what} add up to 0; quota shares cannot be computed from them")
    return {t: v / total for t, v in values.items()}


def _limits(cfg: QuotaConfig, override: dict[str, float], last: float, ramp: float) -> tuple[Limit, Limit]:
    """Tightest lower and upper bound of one territory, converted from full-year terms to annual steps."""
    g = cfg.granularity
    lows: list[tuple[float, str]] = []
    highs: list[tuple[float, str]] = []
    growth = cfg.growth
    gmin = override.get("min_growth", growth.min if growth else None)
    gmax = override.get("max_growth", growth.max if growth else None)
    floor = override.get("floor", cfg.floor)
    cap = override.get("cap", cfg.cap)
    if last > 0 and gmin is not None:
        lows.append(((1 + gmin) * last, f"growth min {100 * gmin:+.1f}% on last-year {last:,.0f}"))
    if last > 0 and gmax is not None:
        highs.append(((1 + gmax) * last, f"growth max {100 * gmax:+.1f}% on last-year {last:,.0f}"))
    if floor is not None:
        lows.append((float(floor), f"floor {floor:,.0f}"))
    if cap is not None:
        highs.append((float(cap), f"cap {cap:,.0f}"))
    partial = f" x ramp {ramp:.3f}" if ramp < 1 else ""
    low = max(lows, default=None)
    high = min(highs, default=None)
    lower = Limit(math.ceil(ramp * low[0] / g - 1e-9), low[1] + partial) if low else Limit(0, "none")
    upper = Limit(math.floor(ramp * high[0] / g + 1e-9), high[1] + partial) if high else Limit(None, "none")
    return lower, upper


_BOUND_COLUMNS = ("min_growth", "max_growth", "floor", "cap")


def read_bounds(path: Path, territories: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Per-territory overrides; blank cells keep the scenario-wide value."""
    raw = read_table(path, "quota bounds")
    require_columns(raw, ["territory_id"], path, "quota bounds")
    check_ids(raw, "territory_id", path, "quota bounds")
    check_known(raw, "territory_id", pd.Index(territories), path, "quota bounds", "territory of the alignment")
    given = [c for c in _BOUND_COLUMNS if c in raw.columns]
    if not given:
        raise DataError(f"{path}: quota bounds need at least one of the columns {', '.join(_BOUND_COLUMNS)}")
    out: dict[str, dict[str, float]] = {t: {} for t in raw["territory_id"]}
    for col in given:
        values = numeric_column(raw, col, path, "quota bounds", allow_negative=col.endswith("growth"), allow_blank=True)
        for pos in np.flatnonzero(values.notna().to_numpy()):
            value = float(values.iloc[pos])
            if col.endswith("growth") and value < -1:
                raise DataError(f"{path}: row {row_number(raw, pos)}: {col} = {value:g} is below -1 (-100%)")
            out[raw["territory_id"].iloc[pos]][col] = value
    return out
