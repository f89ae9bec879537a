"""Turn a solved territory model into a `TerritoryPlan`: alignment, territory summary, solve facts.

Every figure in the summary is recomputed from the alignment itself (not read from the model), and
contiguity is checked with networkx independently of the model's flow constraints.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from spmopt.data.loader import PlanningData
from spmopt.optim.solve import SolveReport
from spmopt.territory.alignment import Alignment, score_alignment
from spmopt.territory.inputs import TerritoryInputs


@dataclass(frozen=True, slots=True)
class TerritoryPlan:
    """A solved alignment and its facts."""

    alignment: pd.DataFrame
    """Columns `unit_id`, `territory_id`, one row per unit, in the units file's order."""
    territories: pd.DataFrame
    """One row per territory: balance totals and deviations, units, contiguity, compactness."""
    centres: pd.DataFrame
    """Index `territory_id`; `site` (rep or centre unit), `rep_id`, `x_km`, `y_km`."""
    report: SolveReport
    objective_breakdown: dict[str, float]


def extract_territory_plan(alignment: Alignment, inp: TerritoryInputs, data: PlanningData) -> TerritoryPlan:
    """Name the territories of a solved alignment and summarise them."""
    site_of_unit = alignment.site_of
    names = _territory_names(alignment, inp, data, site_of_unit)
    frame = pd.DataFrame({"unit_id": list(inp.units), "territory_id": [names[site_of_unit[u]] for u in inp.units]})
    centres = territory_centres(inp, data, names)
    breakdown = {"compactness": score_alignment(inp, site_of_unit)}
    if inp.disruption is not None:
        breakdown["moved_share_pct"] = moved_share_pct(frame, inp)
    return TerritoryPlan(
        alignment=frame,
        territories=summarise_alignment(frame, inp, data, centres),
        centres=centres,
        report=alignment.report,
        objective_breakdown=breakdown,
    )


def _territory_names(
    alignment: Alignment, inp: TerritoryInputs, data: PlanningData, site_of_unit: dict[str, str]
) -> dict[str, str]:
    used = sorted(set(site_of_unit.values()))
    if inp.fixed_sites:
        return {j: inp.site_territory[j] for j in inp.sites}
    if inp.labels:
        return {j: alignment.label_of[j] for j in used}
    if inp.current:
        return _match_current(used, site_of_unit, inp.current)
    xy = data.units.loc[used, ["x_km", "y_km"]]
    order = xy.sort_values(["y_km", "x_km"], ascending=[False, True]).index  # north to south
    width = len(str(len(used)))
    return {j: f"T{n:0{width}d}" for n, j in enumerate(order, start=1)}


def _match_current(used: list[str], site_of_unit: dict[str, str], current: dict[str, str]) -> dict[str, str]:
    """Name new territories after the current ones they overlap most (max-weight matching)."""
    old = sorted(set(current.values()))
    overlap = np.zeros((len(used), len(old)))
    row = {j: r for r, j in enumerate(used)}
    col = {t: c for c, t in enumerate(old)}
    for unit, tid in current.items():
        overlap[row[site_of_unit[unit]], col[tid]] += 1
    rows, cols = linear_sum_assignment(-overlap)
    names = {used[r]: old[c] for r, c in zip(rows, cols, strict=True) if overlap[r, c] > 0}
    fresh = (f"NEW-{n}" for n in range(1, len(used) + 1))
    return {j: names.get(j) or next(fresh) for j in used}


def territory_centres(inp: TerritoryInputs, data: PlanningData, names: dict[str, str]) -> pd.DataFrame:
    """Each territory's site and where it is: the rep's home base, or the centre unit (`names`: site -> territory)."""
    rows = []
    for site, tid in names.items():
        if inp.fixed_sites:
            rep = data.reps.loc[site]
            rows.append((tid, site, site, rep["x_km"], rep["y_km"]))
        else:
            unit = data.units.loc[site]
            rows.append((tid, site, None, unit["x_km"], unit["y_km"]))
    frame = pd.DataFrame(rows, columns=["territory_id", "site", "rep_id", "x_km", "y_km"])
    return frame.set_index("territory_id").sort_index()


def summarise_alignment(
    alignment: pd.DataFrame, inp: TerritoryInputs, data: PlanningData, centres: pd.DataFrame
) -> pd.DataFrame:
    """Per-territory facts recomputed from an alignment (works for any alignment, e.g. the current one)."""
    units = data.units
    tid = alignment.set_index("unit_id")["territory_id"].reindex(units.index)
    frame = pd.DataFrame(index=pd.Index(sorted(tid.unique()), name="territory_id"))
    frame["rep_id"] = centres["rep_id"].reindex(frame.index)
    frame["centre"] = centres["site"].reindex(frame.index)
    frame["units"] = tid.value_counts().reindex(frame.index).astype(int)
    site_of_tid = {t: s for t, s in centres["site"].items()}
    for band in inp.bands:
        total = units[band.measure].groupby(tid).sum().reindex(frame.index, fill_value=0.0)
        target = pd.Series({t: band.target[site_of_tid[t]] for t in frame.index if t in site_of_tid})
        target = target.reindex(frame.index).fillna(units[band.measure].sum() / max(len(frame), 1))
        frame[band.measure] = total
        frame[f"{band.measure}_target"] = target.round(6)
        frame[f"{band.measure}_dev_pct"] = (100 * (total / target - 1)).round(3)
    dx = units["x_km"] - centres["x_km"].reindex(tid.to_numpy()).to_numpy()
    dy = units["y_km"] - centres["y_km"].reindex(tid.to_numpy()).to_numpy()
    dist = np.hypot(dx, dy)
    weight = pd.Series(inp.distance_weight).reindex(units.index)
    frame["distance_km"] = (weight * dist).groupby(tid).sum().reindex(frame.index).round(3)
    frame["mean_distance_km"] = (
        ((weight * dist).groupby(tid).sum() / weight.groupby(tid).sum()).reindex(frame.index).round(3)
    )
    frame["max_distance_km"] = dist.groupby(tid).max().reindex(frame.index).round(3)
    if data.adjacency is not None:
        graph = data.adjacency
        members = {t: set(idx) for t, idx in tid.groupby(tid).groups.items()}
        frame["contiguous"] = [len(piece_sizes(graph, members[t])) == 1 for t in frame.index]
        boundary = {t: 0 for t in frame.index}
        where = tid.to_dict()
        for u, v in graph.edges():
            if where[u] != where[v]:
                boundary[where[u]] += 1
                boundary[where[v]] += 1
        frame["boundary_edges"] = pd.Series(boundary).reindex(frame.index)
    return frame.reset_index()


def piece_sizes(graph: nx.Graph, units: set[str] | list[str]) -> list[int]:
    """Sizes of the connected pieces `units` form on `graph`, largest first (a breadth-first search over the
    graph's own adjacency: subgraph views cost the workbench's live update several times more)."""
    left = set(units)
    adjacency = graph.adj
    sizes = []
    while left:
        frontier = [left.pop()]
        size = 1
        while frontier:
            unit = frontier.pop()
            for other in adjacency[unit]:
                if other in left:
                    left.remove(other)
                    frontier.append(other)
                    size += 1
        sizes.append(size)
    return sorted(sizes, reverse=True)


def moved_share_pct(alignment: pd.DataFrame, inp: TerritoryInputs) -> float | None:
    """Percentage of the disruption measure whose unit changed territory (None without a current alignment)."""
    if not inp.current:
        return None
    new = alignment.set_index("unit_id")["territory_id"].to_dict()
    if inp.ownership is not None:
        owned = inp.ownership
        return 100.0 * owned.moved(new) / owned.total if owned.total else 0.0
    if inp.disruption is not None:
        weights, total = inp.disruption.weights, inp.disruption.total
    else:
        weights, total = dict.fromkeys(inp.current, 1.0), float(len(inp.units))
    moved = sum(w for u, w in weights.items() if new[u] != inp.current[u])
    return 100.0 * moved / total if total else 0.0
