"""Judge any alignment against a scenario's requirements, the way `territories.csv` reports a designed one.

The per-territory figures come from `summarise_alignment`, so an assessed alignment and a designed one are
described by the same definitions. On top of them each requirement is checked: every balance measure within its
band (share-weighted target +- tolerance), contiguity when the scenario asks for it, locked units in their
territory, and the moved share of the disruption measure within its cap. Each territory gets a verdict (`ok`, or
which requirement fails and by how much) and the alignment an overall one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from spmopt.data.loader import PlanningData
from spmopt.errors import DataError
from spmopt.facts import Facts
from spmopt.territory.inputs import Band, TerritoryInputs
from spmopt.territory.plan import moved_share_pct, piece_sizes, summarise_alignment, territory_centres

SLACK = 1e-6
"""Relative slack on band limits and the disruption cap: a designed plan meets its limits only to the solver's
feasibility tolerance, and must not be judged failing for a rounding error."""
SHOWN = 5
"""Units named per problem before the rest are only counted."""


class BandCheck(Facts):
    """One balance measure across the territories."""

    measure: str
    tolerance_pct: float
    max_abs_dev_pct: float
    """Largest deviation from target, either way, over the territories (%)."""
    outside: list[str]
    """Territories whose total lies outside the band."""


class AssessmentFacts(Facts):
    """What `spmopt assess` found: the overall verdict, every failure, and the alignment's headline figures."""

    stage: Literal["assessment"] = "assessment"
    source: str | None = None
    """What was assessed: the alignment file, and the moves file applied over it."""
    units: int
    territories: int
    ok: bool
    """True when every requirement holds."""
    failures: list[str]
    """Every requirement the alignment breaks, one line each ('T2: potential ...', 'disruption: ...')."""
    bands: list[BandCheck]
    contiguity_required: bool
    contiguous_territories: int | None = None
    """None when the scenario has no adjacency."""
    cut_edges: int | None = None
    """Adjacency edges joining units of different territories (None without adjacency)."""
    compactness: float
    """The design's compactness objective for this alignment: distance-weighted sum (km) or cut edges."""
    locked_units: int = 0
    locks_broken: int = 0
    moved_share_pct: float | None = None
    """Share of the disruption measure (of units when the scenario sets no disruption) in another territory than
    today; None without a current alignment."""
    disruption_measure: str | None = None
    """None: units are counted."""
    moved_on_accounts: bool = False
    """The moved share counts accounts whose owner changes (`data.accounts`), not whole units."""
    max_disruption_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """An alignment judged against its scenario."""

    alignment: pd.DataFrame
    """Columns `unit_id`, `territory_id` (the reps file's territory ids), one row per unit in the units' order."""
    territories: pd.DataFrame
    """One row per rep's territory: `territories.csv`'s columns, each band's deviation in units, limits and
    excess, the disconnected pieces, locked units elsewhere, `ok` and `verdict`."""
    facts: AssessmentFacts

    @property
    def ok(self) -> bool:
        return self.facts.ok


def assess_alignment(inp: TerritoryInputs, data: PlanningData, alignment: pd.Series) -> Assessment:
    """Check `alignment` (unit_id -> territory, named by rep_id or the reps file's territory_id; every unit once)
    against the bands, contiguity, locks and disruption cap of `inp`."""
    if not inp.fixed_sites:
        raise DataError(
            "assessing an alignment needs the scenario's reps (data.reps): each territory's targets and distances "
            "are its rep's"
        )
    frame = _named(inp, alignment)
    tid = frame.set_index("unit_id")["territory_id"]
    names = dict(inp.site_territory)
    centres = territory_centres(inp, data, names)
    table = _with_empty_territories(summarise_alignment(frame, inp, data, centres), inp, centres)
    site_of = {t: s for s, t in names.items()}
    units = zip(table["territory_id"], table["units"], strict=True)
    problems: dict[str, list[str]] = {t: [] if n else ["no units"] for t, n in units}
    band_checks = [_check_band(table, band, site_of, problems) for band in inp.bands]
    if data.adjacency is not None:
        _pieces(table, tid, data, inp.contiguity, problems)
    if inp.locks:
        _locks(table, tid, inp.locks, problems)
    table["ok"] = [not problems[t] for t in table["territory_id"]]
    table["verdict"] = ["; ".join(problems[t]) or "ok" for t in table["territory_id"]]
    failures = [f"{t}: {p}" for t in table["territory_id"] for p in problems[t]]

    share = moved_share_pct(frame, inp)
    dis = inp.disruption
    cap = None if dis is None or dis.cap is None else 100.0 * dis.cap
    if share is not None and cap is not None and share > cap + 100.0 * SLACK:
        what = _moved_measure(inp) or "units"
        failures.append(
            f"disruption: {share:.2f}% of {what} moved from today's alignment, over the cap of {cap:.2f}% "
            f"by {share - cap:.2f} points"
        )
    contiguous = int(table["contiguous"].sum()) if "contiguous" in table else None
    facts = AssessmentFacts(
        units=len(frame),
        territories=len(table),
        ok=not failures,
        failures=failures,
        bands=band_checks,
        contiguity_required=inp.contiguity,
        contiguous_territories=contiguous,
        cut_edges=_cut_edges(tid, data),
        compactness=_compactness(inp, data, tid, site_of),
        locked_units=len(inp.locks),
        locks_broken=int(table["locks_broken"].sum()) if "locks_broken" in table else 0,
        moved_share_pct=None if share is None else round(share, 6),
        disruption_measure=_moved_measure(inp),
        moved_on_accounts=inp.ownership is not None,
        max_disruption_pct=cap,
    )
    return Assessment(alignment=frame, territories=table, facts=facts)


def _named(inp: TerritoryInputs, alignment: pd.Series) -> pd.DataFrame:
    """The alignment in the units' order with each territory under its reps-file territory id."""
    alignment = alignment.astype(str)
    if alignment.index.has_duplicates:
        raise DataError(f"the alignment gives unit {alignment.index[alignment.index.duplicated()][0]} twice")
    extra = alignment.index.difference(pd.Index(inp.units))
    if len(extra):
        raise DataError(f"the alignment names unit {extra[0]}, which is not a unit of the scenario")
    missing = pd.Index(inp.units).difference(alignment.index)
    if len(missing):
        raise DataError(f"the alignment leaves {len(missing)} unit(s) without a territory, e.g. {missing[0]}")
    canonical = {s: t for s, t in inp.site_territory.items()} | {t: t for t in inp.site_territory.values()}
    unknown = sorted(set(alignment) - set(canonical))
    if unknown:
        raise DataError(f"the alignment's territory {unknown[0]} is neither a rep_id nor a territory_id of the reps")
    named = alignment.reindex(list(inp.units)).map(canonical)
    return pd.DataFrame({"unit_id": list(inp.units), "territory_id": named.to_numpy()})


def _with_empty_territories(table: pd.DataFrame, inp: TerritoryInputs, centres: pd.DataFrame) -> pd.DataFrame:
    """A row for every rep, also one the alignment leaves without units (the summary lists only used ones)."""
    empty = sorted(set(centres.index) - set(table["territory_id"]))
    if not empty:
        return table
    site_of = {t: s for s, t in inp.site_territory.items()}
    rows = []
    for t in empty:
        row: dict[str, object] = {"territory_id": t, "rep_id": centres.at[t, "rep_id"], "centre": centres.at[t, "site"]}
        row["units"] = 0
        for band in inp.bands:
            target = band.target[site_of[t]]
            row |= {band.measure: 0.0, f"{band.measure}_target": round(target, 6), f"{band.measure}_dev_pct": -100.0}
        row |= {"distance_km": 0.0, "mean_distance_km": np.nan, "max_distance_km": np.nan}
        if "contiguous" in table:
            row |= {"contiguous": False, "boundary_edges": 0}
        rows.append(row)
    added = pd.DataFrame(rows, columns=table.columns).astype(table.dtypes.to_dict())
    return pd.concat([table, added], ignore_index=True).sort_values("territory_id", ignore_index=True)


def _check_band(table: pd.DataFrame, band: Band, site_of: dict[str, str], problems: dict[str, list[str]]) -> BandCheck:
    """Add the band's deviation in units, limits and signed excess (+ above the upper limit, - below the lower,
    0 inside) after its % deviation, and each territory outside it to `problems`."""
    m = band.measure
    sites = [site_of[t] for t in table["territory_id"]]
    total = table[m].astype(float).to_numpy()
    target = np.array([band.target[s] for s in sites])
    lower = np.array([band.lower[s] for s in sites])
    upper = np.array([band.upper[s] for s in sites])
    slack = SLACK * np.maximum(1.0, np.abs(target))
    excess = np.where(total > upper + slack, total - upper, np.where(total < lower - slack, total - lower, 0.0))
    at = table.columns.get_loc(f"{m}_dev_pct") + 1
    for offset, (name, values) in enumerate(
        ((f"{m}_dev", total - target), (f"{m}_lower", lower), (f"{m}_upper", upper), (f"{m}_outside", excess))
    ):
        table.insert(at + offset, name, np.round(values, 6))
    tol = 100 * band.tolerance
    for k, t in enumerate(table["territory_id"]):
        if excess[k] == 0 or not table.at[k, "units"]:
            continue
        dev = 100 * (total[k] / target[k] - 1)
        where = (
            f"exceeds its upper limit {_num(upper[k])} (+{tol:g}%)"
            if excess[k] > 0
            else f"falls short of its lower limit {_num(lower[k])} (-{tol:g}%)"
        )
        problems[t].append(
            f"{m} {_num(total[k])} ({dev:+.2f}% vs target {_num(target[k])}) {where} by {_num(abs(excess[k]))} "
            f"({100 * abs(excess[k]) / target[k]:.2f} points)"
        )
    dev_pct = 100 * (total / target - 1)
    outside = [t for t, e in zip(table["territory_id"], excess, strict=True) if e != 0]
    return BandCheck(
        measure=m, tolerance_pct=tol, max_abs_dev_pct=round(float(np.abs(dev_pct).max()), 3), outside=outside
    )


def _pieces(
    table: pd.DataFrame, tid: pd.Series, data: PlanningData, required: bool, problems: dict[str, list[str]]
) -> None:
    """Each territory's connected pieces on the adjacency graph (sizes, largest first) after `contiguous`."""
    graph = data.adjacency
    members = tid.groupby(tid).groups
    sizes = []
    for t in table["territory_id"]:
        units = members.get(t, [])
        sizes.append(piece_sizes(graph, units))
    at = table.columns.get_loc("contiguous") + 1
    table.insert(at, "pieces", [len(s) for s in sizes])
    table.insert(at + 1, "piece_units", ["+".join(map(str, s)) for s in sizes])
    if not required:
        return
    for t, s in zip(table["territory_id"], sizes, strict=True):
        if len(s) > 1:
            listed = ", ".join(map(str, s[:-1])) + f" and {s[-1]}"
            problems[t].append(f"not contiguous: {len(s)} pieces of {listed} units")


def _locks(table: pd.DataFrame, tid: pd.Series, locks: dict[str, str], problems: dict[str, list[str]]) -> None:
    """Locked units not in their territory, listed on the territory they are locked to."""
    away: dict[str, list[str]] = {t: [] for t in table["territory_id"]}
    for unit, locked in sorted(locks.items()):
        if tid[unit] != locked:
            away.setdefault(locked, []).append(f"{unit} (in {tid[unit]})")
    table["locks_broken"] = [len(away[t]) for t in table["territory_id"]]
    table["locked_elsewhere"] = ["; ".join(away[t]) for t in table["territory_id"]]
    for t in table["territory_id"]:
        units = away[t]
        if units:
            more = f" and {len(units) - SHOWN} more" if len(units) > SHOWN else ""
            problems[t].append(f"{len(units)} locked unit(s) elsewhere: {', '.join(units[:SHOWN])}{more}")


def _cut_edges(tid: pd.Series, data: PlanningData) -> int | None:
    if data.adjacency is None:
        return None
    where = tid.to_dict()  # a dict lookup per edge: Series indexing would dominate the workbench's update
    return sum(1 for u, v in data.adjacency.edges() if where[u] != where[v])


def _compactness(inp: TerritoryInputs, data: PlanningData, tid: pd.Series, site_of: dict[str, str]) -> float:
    """As `score_alignment`, but for a hand-made alignment, which may join a unit to a rep outside its pruned
    candidate sites (where `inp.distance` has no entry)."""
    if inp.compactness == "cut_edges":
        return float(sum(1 for u, v in inp.edges if tid[u] != tid[v]))
    units, reps = data.units, data.reps
    total = 0.0
    for u in inp.units:
        s = site_of[tid[u]]
        d = inp.distance.get((u, s))
        if d is None:
            d = float(np.hypot(units.at[u, "x_km"] - reps.at[s, "x_km"], units.at[u, "y_km"] - reps.at[s, "y_km"]))
        total += inp.distance_weight[u] * d
    return round(total, 6)


def _num(value: float) -> str:
    """A figure for a verdict: thousands separated, whole from 1,000 up, else at most two decimals."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _moved_measure(inp: TerritoryInputs) -> str | None:
    """What the moved share is a share of (None: units)."""
    if inp.ownership is not None:
        return inp.ownership.measure
    return inp.disruption.measure if inp.disruption is not None else None
